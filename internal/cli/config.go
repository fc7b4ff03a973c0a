package cli

// The config file: rankr's settings read from a TOML, YAML or JSON file
// named by --config (RANKR_CONFIG).
//
// A setting is a flag that also reads an environment variable; the file's
// keys are the flags' names. A key at the top of the file applies to every
// command that has the flag; a table named for a command ([serve],
// [reconcile.run], or [reconcile] for the whole group) applies to that
// command alone and wins over the top. The order is: the flag, then its
// environment variable, then the file, then the default. A relative path
// in the file (data-dir = "data") is relative to the file's directory.
//
// The file never holds secrets: keys that name one (master-key, tokens,
// client secrets, passwords) and URLs with a password in them are refused,
// pointing at the environment variable or the key file instead. A config
// file tends to be copied, committed and mailed around; the secrets stay
// where the rest of rankr already keeps them.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rankr/rankr/internal/suggest"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/alecthomas/kong"
	"github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"
)

// configFlag is the name of the flag (and the key refused in a file) that
// names the config file.
const configFlag = "config"

// configCommand registers `rankr config`. It is a kong option rather than a
// field of CLI so that the command lives beside the config code it runs.
func configCommand() kong.Option {
	return kong.DynamicCommand("config", "Check a config file (--config PATH) and show the settings a command would run with.", "", &ConfigCmd{})
}

// ConfigCmd groups the config file's commands.
type ConfigCmd struct {
	Check ConfigCheckCmd `cmd:"" help:"Check the config file: its syntax, keys and values; then print the settings of a command (default: serve), each with where it came from."`
}

// ConfigCheckCmd validates a config file.
type ConfigCheckCmd struct {
	Command []string `arg:"" optional:"" passthrough:"" name:"command" help:"The command, with any flags, whose settings to show (default: serve)."`
}

// Run checks the file, then resolves the command's settings as that command
// would, and prints them.
func (c *ConfigCheckCmd) Run(ctx context.Context, g *Globals) error {
	if g.ConfigFile == "" {
		return errors.New("no config file to check: give --config PATH or set RANKR_CONFIG")
	}
	cf, err := loadConfig(g.ConfigFile)
	if err != nil {
		return err
	}
	var inner CLI
	inner.stdout, inner.stderr = g.stdout, g.stderr
	parser, err := kong.New(&inner, kong.Name("rankr"), kong.Writers(g.stdout, g.stderr), kong.Exit(func(int) {}),
		kong.BindTo(ctx, (*context.Context)(nil)), kong.Bind(&inner.Globals), configCommand())
	if err != nil {
		return err
	}
	if problems := cf.problems(parser.Model); len(problems) > 0 {
		fmt.Fprintf(g.stdout, "%s: %d problem(s):\n", cf.path, len(problems))
		for _, p := range problems {
			fmt.Fprintf(g.stdout, "  %s\n", p)
		}
		return fmt.Errorf("%s is not valid", cf.path)
	}
	fmt.Fprintf(g.stdout, "%s: valid %s\n", cf.path, strings.ToUpper(cf.format))

	// The settings as the command would see them: the same parse, with the
	// file first on the line so that a --config among the command's own
	// flags wins, as it would.
	args := c.Command
	if len(args) == 0 {
		args = []string{"serve"}
	}
	kctx, err := parser.Parse(append([]string{"--" + configFlag + "=" + g.ConfigFile}, args...))
	if err != nil {
		return fmt.Errorf("rankr %s: %w", strings.Join(args, " "), err)
	}
	from := map[*kong.Flag]string{}
	if inner.config != nil {
		from = inner.config.from
	}
	onLine := map[*kong.Flag]bool{}
	for _, p := range kctx.Path {
		if p.Flag != nil && !p.Resolved {
			onLine[p.Flag] = true
		}
	}
	fmt.Fprintf(g.stdout, "\nsettings of `rankr %s`:\n", kctx.Command())
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 1, ' ', 0)
	for _, p := range kctx.Path {
		var flags []*kong.Flag
		switch {
		case p.App != nil:
			flags = p.App.Flags
		case p.Command != nil:
			flags = p.Command.Flags
		}
		for _, f := range flags {
			if !isSetting(f) {
				continue
			}
			source := "default"
			switch env := setEnv(f); {
			case onLine[f]:
				source = "flag"
			case env != "":
				source = "env " + env
			case from[f] != "":
				source = "config " + from[f]
			}
			fmt.Fprintf(tw, "  %s\t= %s\t(%s)\n", f.Name, shownValue(f, kctx.FlagValue(f)), source)
		}
	}
	return tw.Flush()
}

// BeforeResolve reads the config file, when there is one, before kong
// resolves the flags: a file that does not parse, or that holds a secret or
// a key rankr does not know, stops the command before it starts, since a
// misspelt setting silently left at its default is worse than no start.
func (g *Globals) BeforeResolve(kctx *kong.Context) error {
	// config check reads the file itself, to report every problem at once.
	if sel := kctx.Selected(); sel != nil && sel.Target.IsValid() && sel.Target.Type() == reflect.TypeOf(ConfigCheckCmd{}) {
		return nil
	}
	path := ""
	for _, f := range kctx.Model.Flags {
		if f.Name == configFlag {
			path, _ = kctx.FlagValue(f).(string)
		}
	}
	if path == "" {
		return nil
	}
	cf, err := loadConfig(path)
	if err != nil {
		return err
	}
	if problems := cf.problems(kctx.Model); len(problems) > 0 {
		return fmt.Errorf("%s: %s (rankr config check --config %s lists every problem)", path, strings.Join(problems, "; "), path)
	}
	g.config = &configResolver{file: cf, from: map[*kong.Flag]string{}}
	kctx.AddResolver(g.config)
	return nil
}

// configFile is a parsed config file.
type configFile struct {
	path   string
	format string // toml, yaml or json
	values map[string]any
}

// loadConfig reads and parses a config file, its format told by its name.
func loadConfig(path string) (*configFile, error) {
	var format string
	switch strings.ToLower(filepath.Ext(path)) {
	case ".toml":
		format = "toml"
	case ".yaml", ".yml":
		format = "yaml"
	case ".json":
		format = "json"
	default:
		return nil, fmt.Errorf("config file %s: name it .toml, .yaml, .yml or .json (the name says the format)", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the config file: %w", err)
	}
	values, err := decodeConfig(format, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if values == nil {
		values = map[string]any{}
	}
	return &configFile{path: path, format: format, values: values}, nil
}

// syntaxError is a config file that does not parse, and where.
type syntaxError struct {
	line, column int // 0 when the parser does not say
	msg          string
	err          error
}

func (e *syntaxError) Error() string {
	switch {
	case e.line > 0 && e.column > 0:
		return fmt.Sprintf("line %d, column %d: %s", e.line, e.column, e.msg)
	case e.line > 0:
		return fmt.Sprintf("line %d: %s", e.line, e.msg)
	}
	return e.msg
}

func (e *syntaxError) Unwrap() error { return e.err }

// yamlLinePrefix starts yaml.v3's messages that know their line.
const yamlLinePrefix = "line "

func decodeConfig(format string, b []byte) (map[string]any, error) {
	var values map[string]any
	switch format {
	case "toml":
		if err := toml.Unmarshal(b, &values); err != nil {
			var de *toml.DecodeError
			if errors.As(err, &de) {
				line, col := de.Position()
				return nil, &syntaxError{line: line, column: col, msg: strings.TrimPrefix(de.Error(), "toml: "), err: err}
			}
			return nil, &syntaxError{msg: err.Error(), err: err}
		}
	case "yaml":
		if err := yaml.Unmarshal(b, &values); err != nil {
			return nil, yamlError(err)
		}
	case "json":
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber() // integers stay integers, to be told from fractions
		if err := dec.Decode(&values); err != nil {
			return nil, jsonError(b, err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			line, col := position(b, dec.InputOffset())
			return nil, &syntaxError{line: line, column: col, msg: "more after the JSON object: a config file is one object"}
		}
	}
	return values, normalizeTables(values, "")
}

// yamlError keeps yaml.v3's line numbers, which it writes into its
// messages, and drops its prefix.
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return &syntaxError{msg: strings.Join(te.Errors, "; "), err: err}
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, yamlLinePrefix); ok {
		if n, tail, ok := strings.Cut(rest, ": "); ok {
			if line, cerr := strconv.Atoi(n); cerr == nil {
				return &syntaxError{line: line, msg: tail, err: err}
			}
		}
	}
	return &syntaxError{msg: msg, err: err}
}

// jsonError says where encoding/json stopped, as a line and column.
func jsonError(b []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(b, se.Offset)
		return &syntaxError{line: line, column: col, msg: se.Error(), err: err}
	case errors.As(err, &te):
		line, col := position(b, te.Offset)
		return &syntaxError{line: line, column: col, msg: "a config file is one JSON object of settings", err: err}
	case errors.Is(err, io.EOF):
		return &syntaxError{msg: "the file is empty: write {} for no settings", err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(b, int64(len(b)))
		return &syntaxError{line: line, column: col, msg: "the file ends inside the JSON object", err: err}
	}
	return &syntaxError{msg: err.Error(), err: err}
}

// position turns a byte offset into a 1-based line and column.
func position(b []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(b)))
	before := b[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// normalizeTables turns YAML's maps with keys of any type into maps with
// string keys, refusing keys that are not strings.
func normalizeTables(m map[string]any, prefix string) error {
	for k, v := range m {
		switch t := v.(type) {
		case map[string]any:
			if err := normalizeTables(t, prefix+k+"."); err != nil {
				return err
			}
		case map[any]any:
			n := make(map[string]any, len(t))
			for kk, vv := range t {
				s, ok := kk.(string)
				if !ok {
					return &syntaxError{msg: fmt.Sprintf("%s%s: the key %v is not a string", prefix, k, kk)}
				}
				n[s] = vv
			}
			m[k] = n
			if err := normalizeTables(n, prefix+k+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// configResolver hands kong the file's values for the settings that the
// command line and the environment left unset.
type configResolver struct {
	file *configFile
	// from is the key each flag was set from, for config check.
	from map[*kong.Flag]string
}

// Validate is done in BeforeResolve, which can report the file's path.
func (r *configResolver) Validate(*kong.Application) error { return nil }

// Resolve returns the file's value for f, or nil to leave it alone.
func (r *configResolver) Resolve(kctx *kong.Context, _ *kong.Path, f *kong.Flag) (any, error) {
	// kong asks resolvers before it applies the environment, so the
	// environment's precedence over the file is kept here.
	if !isSetting(f) || setEnv(f) != "" {
		return nil, nil
	}
	v, key, ok := r.file.lookup(commandPath(kctx.Selected()), f.Name)
	if !ok {
		return nil, nil
	}
	if isPathFlag(f) {
		v = besideFile(r.file.path, v)
	}
	tok, err := configToken(f, v)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", r.file.path, key, err)
	}
	r.from[f] = key
	return tok, nil
}

// isPathFlag reports whether f names files or directories: its type says
// so, or its name does (master-key-previous-file is a list of paths).
func isPathFlag(f *kong.Flag) bool {
	switch f.Tag.Type {
	case "path", "existingfile", "existingdir", "filecontent":
		return true
	}
	return strings.HasSuffix(f.Name, "-file")
}

// besideFile reads a relative path in the config file at cfPath as
// relative to the file's directory, not to wherever rankr was started: the
// same file names the same files whatever the working directory. A path
// starting with ~ is left to kong, which expands it.
func besideFile(cfPath string, v any) any {
	rel := func(x any) any {
		s, ok := x.(string)
		if !ok || s == "" || filepath.IsAbs(s) || strings.HasPrefix(s, "~") {
			return x
		}
		return filepath.Join(filepath.Dir(cfPath), s)
	}
	if items, ok := v.([]any); ok {
		out := make([]any, len(items))
		for i, item := range items {
			out[i] = rel(item)
		}
		return out
	}
	return rel(v)
}

// commandPath is the names of n and its parent commands, outermost first.
func commandPath(n *kong.Node) []string {
	var path []string
	for ; n != nil && n.Type != kong.ApplicationNode; n = n.Parent {
		if n.Type == kong.CommandNode {
			path = append([]string{n.Name}, path...)
		}
	}
	return path
}

// lookup finds name in the table of the command at path, then in each
// enclosing table up to the top of the file: the nearest wins.
func (cf *configFile) lookup(path []string, name string) (any, string, bool) {
	for i := len(path); i >= 0; i-- {
		table := cf.values
		for _, seg := range path[:i] {
			t, _ := table[seg].(map[string]any)
			table = t
		}
		if v, ok := table[name]; ok {
			if _, isTable := v.(map[string]any); !isTable {
				return v, strings.Join(append(append([]string{}, path[:i]...), name), "."), true
			}
		}
	}
	return nil, "", false
}

// isSetting reports whether a flag may come from a config file: it reads
// an environment variable (flags that do not, such as --json or --limit,
// are about one run, not the installation), and it is not --config.
func isSetting(f *kong.Flag) bool {
	return len(f.Tag.Envs) > 0 && f.Name != configFlag
}

// setEnv is the environment variable that sets f, if one is set.
func setEnv(f *kong.Flag) string {
	for _, e := range f.Tag.Envs {
		if _, ok := os.LookupEnv(e); ok {
			return e
		}
	}
	return ""
}

// problems lists what is wrong with the file for app: keys naming secrets,
// unknown keys (with the nearest known name), values of the wrong type or
// outside their choices. Each names its key.
func (cf *configFile) problems(app *kong.Application) []string {
	var out []string
	cf.checkTable(app.Node, cf.values, nil, &out)
	return out
}

func (cf *configFile) checkTable(n *kong.Node, table map[string]any, path []string, out *[]string) {
	flags := flagsAround(n)
	cmds := map[string]*kong.Node{}
	for _, c := range n.Children {
		if c.Type == kong.CommandNode && !c.Hidden {
			cmds[c.Name] = c
		}
	}
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := table[k]
		key := strings.Join(append(append([]string{}, path...), k), ".")
		report := func(format string, args ...any) { *out = append(*out, key+": "+fmt.Sprintf(format, args...)) }
		sub, isTable := v.(map[string]any)
		switch {
		case secretName(k):
			report("%s", secretAdvice(k, flags[k]))
		case isTable && cmds[k] != nil:
			cf.checkTable(cmds[k], sub, append(path, k), out)
		case isTable:
			if len(flags[k]) > 0 {
				report("a setting, not a table: write %s = VALUE", k)
				continue
			}
			report("unknown command table%s", suggestion(k, names(cmds)))
		case k == configFlag:
			report("a config file cannot name another: give --config or RANKR_CONFIG")
		case cmds[k] != nil && len(flags[k]) == 0:
			report("%q is a command: write its settings in a table ([%s] in TOML, %s: in YAML)", k, key, k)
		case len(flags[k]) == 0:
			report("unknown key%s", suggestion(k, settingNames(flags, cmds)))
		default:
			settings := 0
			for _, f := range flags[k] {
				if !isSetting(f) {
					continue
				}
				settings++
				if _, err := configToken(f, v); err != nil {
					report("%v", err)
					break
				}
			}
			if settings == 0 {
				report("not a setting (it is about one run and reads no environment variable): give --%s on the command line", k)
			}
		}
	}
}

// flagsAround are the flags a key in n's table may set, by name: n's and its
// parents' (a table for a command sets the globals too) and those of every
// command below n.
func flagsAround(n *kong.Node) map[string][]*kong.Flag {
	out := map[string][]*kong.Flag{}
	for p := n.Parent; p != nil; p = p.Parent {
		for _, f := range p.Flags {
			out[f.Name] = append(out[f.Name], f)
		}
	}
	var below func(*kong.Node)
	below = func(n *kong.Node) {
		for _, f := range n.Flags {
			out[f.Name] = append(out[f.Name], f)
		}
		for _, c := range n.Children {
			below(c)
		}
	}
	below(n)
	return out
}

func names(cmds map[string]*kong.Node) []string {
	out := make([]string, 0, len(cmds))
	for k := range cmds {
		out = append(out, k)
	}
	return out
}

func settingNames(flags map[string][]*kong.Flag, cmds map[string]*kong.Node) []string {
	out := names(cmds)
	for name, fs := range flags {
		for _, f := range fs {
			if isSetting(f) {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

// secretName reports whether a key names a secret. A name ending in -file
// names a file holding one, which is fine: the secret stays in the file.
func secretName(key string) bool {
	n := kebab(key)
	if strings.HasSuffix(n, "-file") {
		return false
	}
	if n == "master-key" || strings.HasPrefix(n, "master-key-") {
		return true
	}
	for _, w := range []string{"token", "secret", "password", "passwd", "api-key", "private-key"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// secretAdvice says where a secret goes instead of a config file.
func secretAdvice(key string, flags []*kong.Flag) string {
	if strings.HasPrefix(kebab(key), "master-key") {
		return "the master key is never read from a config file: set RANKR_MASTER_KEY (RANKR_MASTER_KEY_PREVIOUS for keys being rotated out), or name a key file with master-key-file"
	}
	var envs []string
	for _, f := range flags {
		envs = append(envs, f.Tag.Envs...)
	}
	if len(envs) > 0 {
		return fmt.Sprintf("a secret, which rankr never reads from a config file: set %s in the environment instead", strings.Join(dedupe(envs), " or "))
	}
	return "names a secret, which rankr never reads from a config file: give it in the environment"
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// kebab writes snake_case and camelCase keys as kong names flags, to
// recognise secrets and suggest the right spelling whatever the style.
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '_':
			b.WriteByte('-')
		case unicode.IsUpper(r):
			if i > 0 && s[i-1] != '_' && s[i-1] != '-' {
				b.WriteByte('-')
			}
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// suggestion is ` (did you mean "x"?)` for the known name nearest to key,
// when one is near enough to be a slip.
func suggestion(key string, known []string) string {
	want := kebab(key)
	best, bestDist := "", 0
	sort.Strings(known)
	for _, k := range known {
		d := suggest.Distance(want, k)
		if best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" || bestDist > max(2, len(best)/4) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

var durationType = reflect.TypeOf(time.Duration(0))

// configToken turns a file's value into what kong parses for f, after
// checking that its type fits f's: a string for a string, a duration, a
// level or a span; true or false for a switch; a number for a number; a
// list (or one value) for a repeatable flag. A duration written as a bare
// number is refused: kong would read 30 as 30 nanoseconds.
func configToken(f *kong.Flag, v any) (any, error) {
	t := f.Target.Type()
	var tok string
	if t.Kind() == reflect.Slice {
		items, ok := v.([]any)
		if !ok {
			items = []any{v}
		}
		sep := f.Tag.Sep
		parts := make([]string, len(items))
		for i, item := range items {
			s, err := scalarToken(t.Elem(), item)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i+1, err)
			}
			if sep == -1 {
				if len(items) > 1 {
					return nil, errors.New("takes one value, not a list")
				}
			} else {
				// kong splits on the separator unless it is escaped.
				s = strings.ReplaceAll(s, string(sep), `\`+string(sep))
			}
			parts[i] = s
		}
		if sep == -1 {
			tok = strings.Join(parts, "")
		} else {
			tok = strings.Join(parts, string(sep))
		}
	} else {
		s, err := scalarToken(t, v)
		if err != nil {
			return nil, err
		}
		tok = s
	}
	// The flag's own parser, on a scratch value, catches what the types
	// let through: a malformed duration, a level that does not exist.
	scratch := reflect.New(t).Elem()
	scan := kong.ScanFromTokens(kong.Token{Type: kong.FlagValueToken, Value: tok})
	if err := f.Mapper.Decode(&kong.DecodeContext{Value: f.Value, Scan: scan}, scratch); err != nil {
		return nil, err
	}
	if f.Enum != "" {
		if err := inEnum(f, scratch); err != nil {
			return nil, err
		}
	}
	if s, ok := passwordIn(tok); ok {
		envs := strings.Join(f.Tag.Envs, " or ")
		return nil, fmt.Errorf("the value holds a password (%s), which rankr never reads from a config file: set %s in the environment instead", s, envs)
	}
	return tok, nil
}

// scalarToken checks one value against a type and writes it as kong reads
// it from a command line.
func scalarToken(t reflect.Type, v any) (string, error) {
	wrong := func() (string, error) {
		return "", fmt.Errorf("want %s, got %s", wantOf(t), describe(v))
	}
	// Named types (durations, levels, spans) are written as their text.
	if t.PkgPath() != "" || t.Kind() == reflect.String {
		s, ok := v.(string)
		if !ok {
			return wrong()
		}
		return s, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return wrong()
		}
		return strconv.FormatBool(b), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch n := v.(type) {
		case int, int64, uint64:
			return fmt.Sprint(n), nil
		case float64:
			if n == float64(int64(n)) {
				return strconv.FormatInt(int64(n), 10), nil
			}
		case json.Number:
			if _, err := n.Int64(); err == nil {
				return n.String(), nil
			}
		}
		return wrong()
	case reflect.Float32, reflect.Float64:
		switch n := v.(type) {
		case int, int64, uint64:
			return fmt.Sprint(n), nil
		case float64:
			return strconv.FormatFloat(n, 'g', -1, 64), nil
		case json.Number:
			return n.String(), nil
		}
		return wrong()
	}
	return wrong()
}

// wantOf says, for a message, how a value of type t is written.
func wantOf(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration in quotes, such as "30s" or "6h"`
	case t == reflect.TypeOf(span(0)):
		return `a span in quotes, such as "3d" or "36h"`
	case t == reflect.TypeOf(slog.Level(0)):
		return `a level in quotes: "debug", "info", "warn" or "error"`
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	}
	return "a string"
}

// describe names a file's value for a message.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing (null)"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("%t", x)
	case int, int64, uint64, float64, json.Number:
		return fmt.Sprintf("the number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v) // TOML's dates and times
}

// inEnum checks a decoded value (or each of a list's) against the flag's
// choices.
func inEnum(f *kong.Flag, v reflect.Value) error {
	check := func(s string) error {
		for _, e := range f.EnumSlice() {
			if s == e {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", s, strings.Join(f.EnumSlice(), ", "))
	}
	if v.Kind() == reflect.Slice {
		for i := range v.Len() {
			if err := check(fmt.Sprint(v.Index(i).Interface())); err != nil {
				return err
			}
		}
		return nil
	}
	return check(fmt.Sprint(v.Interface()))
}

// passwordIn reports a URL with a password, or a password= parameter, in
// a value, and shows it redacted.
func passwordIn(s string) (string, bool) {
	for _, part := range kong.SplitEscaped(s, ',') {
		u, err := url.Parse(part)
		if err != nil {
			continue
		}
		if u.User != nil {
			if _, set := u.User.Password(); set {
				return u.Redacted(), true
			}
		}
		for k := range u.Query() {
			if strings.EqualFold(k, "password") {
				return u.Scheme + "://…?" + k + "=xxxxx", true
			}
		}
	}
	return "", false
}

// shownValue writes a setting's value for config check, secrets hidden.
func shownValue(f *kong.Flag, v any) string {
	var parts []string
	switch x := v.(type) {
	case nil:
	case string:
		parts = []string{x}
	case span:
		parts = []string{time.Duration(x).String()}
	case []string:
		parts = append([]string(nil), x...)
	case []time.Duration:
		for _, d := range x {
			parts = append(parts, d.String())
		}
	default:
		parts = []string{fmt.Sprint(x)}
	}
	switch {
	case len(parts) == 0 || len(parts) == 1 && parts[0] == "":
		return `""`
	case secretName(f.Name):
		return "[redacted]"
	}
	for i, p := range parts {
		// A password in a URL (an SMTP server's, a database's) is hidden.
		if u, err := url.Parse(p); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ", ")
}
