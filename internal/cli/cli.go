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

	"github.com/alecthomas/kong"
	"github.com/willabides/kongplete"
)

// Globals are the flags every command takes.
type Globals struct {
	LogLevel  slog.Level `help:"Log level: debug, info, warn or error." default:"info" env:"RANKR_LOG_LEVEL"`
	LogFormat string     `help:"Log format: text or json." enum:"text,json" default:"text" env:"RANKR_LOG_FORMAT"`

	stdout io.Writer
	stderr io.Writer
}

// Logger returns the logger the flags ask for, writing to stderr.
func (g *Globals) Logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: g.LogLevel}
	if g.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}

// CLI is the whole command line.
type CLI struct {
	Globals

	Demo    DemoCmd    `cmd:"" help:"Run a seeded GHL sandbox with live activity, and show how to use it."`
	Sandbox SandboxCmd `cmd:"" help:"Run the GHL sandbox: a stand-in for GHL's Payments API on your machine."`
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
		fmt.Fprintln(stderr, "rankr:", err)
		return 2
	}
	if err := kctx.Run(); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return 130
		}
		fmt.Fprintln(stderr, "rankr:", err)
		return 1
	}
	return 0
}

// stdoutIsTerminal reports whether w is a terminal, to decide on progress
// bars and colours.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
