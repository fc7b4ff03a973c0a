// Package cli holds rankr's subcommands. Each is a small struct whose flags
// are its fields (every flag also reads an environment variable) and whose
// Run method does the work, writing to the io.Writers it is given. Only this
// package and package daemon pick concrete drivers.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/willabides/kongplete"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/vault"
)

// Globals are the flags every command takes.
type Globals struct {
	LogLevel  slog.Level `help:"Log level: debug, info, warn or error." default:"info" env:"RANKR_LOG_LEVEL"`
	LogFormat string     `help:"Log format: text or json." enum:"text,json" default:"text" env:"RANKR_LOG_FORMAT"`
	// The file sits below the flags and the environment; see config.go.
	ConfigFile string `help:"Config file (.toml, .yaml, .yml or .json) with settings named as the flags; flags and environment variables win over it. Never secrets: those stay in the environment or key files. Check it with rankr config check." name:"config" env:"RANKR_CONFIG" type:"path" placeholder:"PATH"`

	stdout io.Writer
	stderr io.Writer
	// data are the data flags of the command being run (see
	// DataFlags.AfterApply), for open and openWithoutKey.
	data *DataFlags
	// config is the config file's resolver, when there is a file (see
	// BeforeResolve): it knows which settings it gave.
	config *configResolver
}

// DataFlags say where rankr keeps its data. They belong to the commands
// that open the database (each embeds them, or its command group does), and
// only to them: the sandbox, say, has none.
type DataFlags struct {
	DB      string `help:"Database: sqlite:PATH or a postgres:// URL (default: a SQLite file in the data directory)." env:"RANKR_DB"`
	DataDir string `help:"Where rankr keeps its files (default: $XDG_DATA_HOME/rankr or ~/.local/share/rankr)." env:"RANKR_DATA_DIR" type:"path"`
	// The master key is read from the environment or a file, never from a
	// flag, so that it stays out of shell history and process lists.
	MasterKeyFile string `help:"File holding the master key that seals GHL tokens (default: DATA_DIR/master.key). RANKR_MASTER_KEY, base64 of 32 random bytes, takes precedence." env:"RANKR_MASTER_KEY_FILE" type:"path"`
	// Previous keys, like the key, come from the environment or files.
	MasterKeyPreviousFile []string `help:"Files holding master keys being rotated out (repeatable). Secrets they sealed still open, each logging a warning, until rankr keys master reseal seals them again with the current key; then remove them. RANKR_MASTER_KEY_PREVIOUS, base64 keys separated by commas, adds to these." name:"master-key-previous-file" env:"RANKR_MASTER_KEY_PREVIOUS_FILE" placeholder:"PATH"`
}

// AfterApply hands the parsed data flags to the command being run, which
// reaches them through Globals wherever in its command group they sit.
func (f *DataFlags) AfterApply(g *Globals) error {
	g.data = f
	return nil
}

// Logger returns the logger the flags ask for, writing to stderr.
func (g *Globals) Logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: g.LogLevel}
	if g.LogFormat == "json" {
		return slog.New(requestIDHandler{slog.NewJSONHandler(g.stderr, opts)})
	}
	return slog.New(requestIDHandler{slog.NewTextHandler(g.stderr, opts)})
}

// requestIDHandler adds the request's id to a line logged with a request's
// context (InfoContext and the like), so that the packages serving requests
// need not know where the id is kept to have it in their log lines.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := access.RequestID(ctx); id != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == "request"
			return !has
		})
		if !has {
			r.AddAttrs(slog.String("request", id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// fail reports the error rankr stops with. Asked for JSON logs, it is a log
// line like the others, so that what reads stderr gets JSON only; args and
// the environment say so when the parse did not get as far as the flags.
func (g *Globals) fail(args []string, err error) {
	if g.LogFormat == "json" || jsonLogsAsked(args) {
		g.Logger().Error("rankr stopped", "error", err.Error())
		return
	}
	fmt.Fprintln(g.stderr, "rankr:", err)
}

// jsonLogsAsked reports whether args or the environment ask for JSON logs.
func jsonLogsAsked(args []string) bool {
	asked := os.Getenv("RANKR_LOG_FORMAT") == "json"
	for i, a := range args {
		switch {
		case a == "--":
			return asked
		case a == "--log-format" && i+1 < len(args):
			asked = args[i+1] == "json"
		case strings.HasPrefix(a, "--log-format="):
			asked = strings.TrimPrefix(a, "--log-format=") == "json"
		}
	}
	return asked
}

func (f *DataFlags) dataDir() (string, error) {
	if f.DataDir != "" {
		return f.DataDir, nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "rankr"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no data directory: set --data-dir or RANKR_DATA_DIR (%w)", err)
	}
	return filepath.Join(home, ".local", "share", "rankr"), nil
}

// masterKey finds the master key: RANKR_MASTER_KEY, else the key file,
// created when create is set (and said so, since losing it loses the
// tokens).
func (g *Globals) masterKey(create bool) ([]byte, error) {
	f := g.data
	if env := os.Getenv("RANKR_MASTER_KEY"); env != "" {
		k, err := vault.ParseKey(env)
		if err != nil {
			return nil, fmt.Errorf("RANKR_MASTER_KEY: %w", err)
		}
		return k, nil
	}
	path := f.MasterKeyFile
	if path == "" {
		dir, err := f.dataDir()
		if err != nil {
			return nil, err
		}
		path = filepath.Join(dir, "master.key")
	}
	k, created, err := vault.LoadKeyFile(path, create)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no master key: set RANKR_MASTER_KEY or run `rankr connect` first, which creates %s", path)
		}
		return nil, err
	}
	if created {
		g.Logger().Warn("created a new master key in "+path+"; it seals your GHL tokens, so back it up (or set RANKR_MASTER_KEY)", "path", path)
	}
	return k, nil
}

// previousMasterKeys reads the master keys being rotated out:
// RANKR_MASTER_KEY_PREVIOUS, then each --master-key-previous-file. Errors
// say which key is wrong by its place, never by its value.
func (g *Globals) previousMasterKeys() ([][]byte, error) {
	var keys [][]byte
	if env := os.Getenv("RANKR_MASTER_KEY_PREVIOUS"); strings.TrimSpace(env) != "" {
		for i, part := range strings.Split(env, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			k, err := vault.ParseKey(part)
			if err != nil {
				return nil, fmt.Errorf("RANKR_MASTER_KEY_PREVIOUS, key %d: %w", i+1, err)
			}
			keys = append(keys, k)
		}
	}
	for _, path := range g.data.MasterKeyPreviousFile {
		k, _, err := vault.LoadKeyFile(path, false)
		if err != nil {
			return nil, fmt.Errorf("--master-key-previous-file: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// open opens the database and the vault, for commands that seal or open
// secrets (GHL tokens, outbound webhook secrets). With createKey, a missing
// master key is created.
func (g *Globals) open(ctx context.Context, createKey bool, cfg daemon.Config) (*daemon.Daemon, error) {
	if err := g.resolveDB(); err != nil {
		return nil, err
	}
	key, err := g.masterKey(createKey)
	if err != nil {
		return nil, err
	}
	previous, err := g.previousMasterKeys()
	if err != nil {
		return nil, err
	}
	cfg.DB, cfg.MasterKey, cfg.PreviousMasterKeys, cfg.Logger = g.data.DB, key, previous, g.Logger()
	return daemon.Open(ctx, cfg)
}

// openWithoutKey opens the database alone, for commands that never seal or
// open a secret: they work without the master key and never create one.
func (g *Globals) openWithoutKey(ctx context.Context, cfg daemon.Config) (*daemon.Daemon, error) {
	if err := g.resolveDB(); err != nil {
		return nil, err
	}
	cfg.DB, cfg.Logger = g.data.DB, g.Logger()
	return daemon.OpenWithoutVault(ctx, cfg)
}

// resolveDB fills in the default database and checks the setting, so that
// a wrong one is reported before anything is created.
func (g *Globals) resolveDB() error {
	f := g.data
	if f == nil {
		return errors.New("this command has no database settings") // a command without DataFlags
	}
	if f.DB == "" {
		dir, err := f.dataDir()
		if err != nil {
			return err
		}
		f.DB = "sqlite:" + filepath.Join(dir, "rankr.db")
	}
	_, _, err := daemon.ParseDB(f.DB)
	return err
}

// CLI is the whole command line.
type CLI struct {
	Globals

	Demo    DemoCmd    `cmd:"" help:"Run a seeded GHL sandbox and the connector side by side, with the live dashboard."`
	Connect ConnectCmd `cmd:"" help:"Connect a GHL location (sub-account) with its Private Integration Token."`
	Sync    SyncCmd    `cmd:"" help:"Sync connected locations to completion, with progress."`
	Serve   ServeCmd   `cmd:"" help:"Run the connector: sync loops, jobs, webhooks, the API and the dashboard."`
	Status  StatusCmd  `cmd:"" help:"Show each connection and what it holds."`
	Fulfill struct {
		FulfillCmd
		DataFlags
	} `cmd:"" help:"Push a fulfillment (tracking) to GHL, exactly once."`
	Reconcile ReconcileCmd `cmd:"" help:"Reconcile payments with orders and invoices: the report, or a run now."`
	Notices   NoticesCmd   `cmd:"" help:"List Rankr's own customer notices (emails); send one again."`
	Doctor    DoctorCmd    `cmd:"" help:"Check, end to end, everything production needs: GHL tokens and scopes, clock, webhooks, database, SMTP, endpoints."`

	Webhooks WebhooksCmd `cmd:"" help:"Send Rankr's changes to your endpoints as signed webhooks: add, list, deliveries, replay."`

	Keys  KeysCmd  `cmd:"" help:"Rankr API keys: create, list, show, roll, revoke, roles and IP allow-lists."`
	OAuth OAuthCmd `cmd:"" name:"oauth" help:"Connect locations and agencies through the GHL marketplace app (OAuth): configure, install links, pending installs."`
	Audit AuditCmd `cmd:"" help:"The audit log: list, verify, export, checkpoint."`

	Orders        RecordCmd[orderKind]       `cmd:"" help:"List or show orders."`
	Fulfillments  RecordCmd[fulfillmentKind] `cmd:"" help:"List or show fulfillments."`
	Transactions  RecordCmd[transactionKind] `cmd:"" help:"List or show transactions (payments)."`
	Subscriptions SubscriptionsCmd           `cmd:"" help:"List or show subscriptions, or the renewals due."`
	Invoices      RecordCmd[invoiceKind]     `cmd:"" help:"List or show invoices."`
	Products      RecordCmd[productKind]     `cmd:"" help:"List the catalog's products, or show one with its prices."`

	Automations AutomationsCmd `cmd:"" help:"No-code automations: files wiring a catalog trigger to actions; apply, validate, test without side effects, runs."`
	Catalog     CatalogCmd     `cmd:"" help:"The operations catalog: every GHL and Rankr action and trigger; show one, run one (with --dry-run), export them all."`

	Sandbox SandboxCmd `cmd:"" help:"Run the GHL sandbox: a stand-in for GHL's commerce APIs (payments, invoices, products, store), OAuth and webhooks on your machine."`
	Version VersionCmd `cmd:"" help:"Print the version."`

	Completions kongplete.InstallCompletions `cmd:"" help:"Install shell completions (bash, zsh or fish)."`
}

// version is set at build time with -ldflags "-X ...cli.version=v1.2.3".
var version = "dev"

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run(g *Globals) error {
	_, err := fmt.Fprintln(g.stdout, "rankr", version)
	return err
}

// Main parses args, runs the chosen command and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c CLI
	c.stdout, c.stderr = stdout, stderr
	exit := -1
	parser, err := kong.New(&c,
		kong.Name("rankr"),
		kong.Description("rankr keeps Rankr in sync with HighLevel (GHL) sub-accounts through GHL's Payments API."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exit = code }),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(&c.Globals),
		configCommand(),
	)
	if err != nil {
		fmt.Fprintln(stderr, "rankr:", err)
		return 2
	}
	kongplete.Complete(parser, kongplete.WithExitFunc(func(code int) { exit = code }))
	if exit >= 0 {
		return exit
	}
	kctx, err := parser.Parse(args)
	if exit >= 0 {
		return exit // --help and friends
	}
	if err != nil {
		c.fail(args, err)
		return 2
	}
	if err := kctx.Run(); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return 130
		}
		c.fail(args, err)
		return 1
	}
	return 0
}

// isTerminal reports whether w is a terminal, to decide on live progress.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
