package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/catalog"
)

// obj is a JSON object as the tests write inputs.
type obj = map[string]any

// countingTransport counts the requests that reach the network, so that a
// test can tell a dry run (or a refused input) from one that sent.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// ghlBed is a sandbox on loopback, a client for one of its locations with
// every scope, and the registry holding the GHL actions.
type ghlBed struct {
	sb    *sandbox.Server
	loc   sandbox.LocationInfo
	sent  *countingTransport
	reg   *catalog.Registry
	rc    *catalog.RunCtx
	specs map[string]catalog.Spec // by operation name
	ops   map[string]ghl.Operation
	ran   map[string]int // runs per key, attempted
	// stepped are the keys that have a step; warned, the operations whose
	// answers broke GHL's spec, and where.
	stepped map[string]bool
	warned  map[string][]string
}

// newGHLBed starts the bed. The rate limits are lifted on both sides: the
// tests run well over GHL's 100 requests per 10 s on one location, and
// pacing is the governor's business, tested in ghl.
func newGHLBed(t *testing.T, cfg sandbox.Config) *ghlBed {
	t.Helper()
	cfg.RateLimit = sandbox.RateLimit{Burst: 1_000_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(func() {
		ts.Close()
		sb.Close()
	})
	loc := sb.Locations()[0]
	// A token of the test's own, granted every scope (no scopes named).
	const token = "catalog-test-every-scope"
	if err := sb.AddToken(loc.ID, token); err != nil {
		t.Fatal(err)
	}
	sent := &countingTransport{next: ts.Client().Transport}
	client := ghl.NewClient(ghl.StaticToken(token), ghl.WithBaseURL(ts.URL),
		ghl.WithHTTPClient(&http.Client{Transport: sent}),
		ghl.WithLimits(ghl.Limits{Burst: 1_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}))

	reg := catalog.NewRegistry()
	acts, trigs, err := catalog.GHL()
	if err != nil {
		t.Fatal(err)
	}
	reg.MustAdd(acts, trigs)
	b := &ghlBed{sb: sb, loc: loc, sent: sent, reg: reg,
		rc:    &catalog.RunCtx{Location: loc.ID, GHL: client},
		specs: map[string]catalog.Spec{}, ops: map[string]ghl.Operation{}, ran: map[string]int{},
		stepped: map[string]bool{}, warned: map[string][]string{}}
	for _, s := range reg.List(catalog.KindAction) {
		if s.Source == catalog.SourceGHLAPI {
			b.specs[s.Operation] = s
		}
	}
	for _, op := range ghl.Operations() {
		b.ops[op.Name] = op
	}
	if len(b.specs) != len(b.ops) {
		t.Fatalf("the registry has %d GHL actions for %d operations", len(b.specs), len(b.ops))
	}
	return b
}

// key is the action key of a GHL operation.
func (b *ghlBed) key(t *testing.T, op string) string {
	t.Helper()
	s, ok := b.specs[op]
	if !ok {
		t.Fatalf("no action for operation %s", op)
	}
	return s.Key
}

// step runs fn as the subtest named by op's action key. It reports whether
// the subtest passed, as t.Run does.
func (b *ghlBed) step(t *testing.T, op string, fn func(t *testing.T)) bool {
	t.Helper()
	b.stepped[b.key(t, op)] = true
	return t.Run(b.key(t, op), fn)
}

// try runs op's action with input, for real.
func (b *ghlBed) try(t *testing.T, op string, input any) (catalog.Result, error) {
	t.Helper()
	raw, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	key := b.key(t, op)
	b.ran[key]++
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return b.reg.Run(ctx, key, b.rc, raw)
}

// run runs op's action with input and fails t unless it succeeded with
// an answer that matches GHL's spec (no warnings). It returns the answer,
// decoded.
func (b *ghlBed) run(t *testing.T, op string, input any) any {
	t.Helper()
	res, err := b.try(t, op, input)
	if err != nil {
		t.Fatalf("%s %s: %v", op, show(input), err)
	}
	for _, w := range res.Warnings {
		if !slices.Contains(b.warned[op], w) {
			b.warned[op] = append(b.warned[op], w)
		}
		t.Errorf("%s %s: warning: %s\n  answer: %.2000s", op, show(input), w, res.Output)
	}
	if res.DryRun {
		t.Errorf("%s: a run that is not a dry run answered DryRun", op)
	}
	if res.Request == nil || res.Request.Method != b.ops[op].Method {
		t.Errorf("%s: request %+v, want method %s", op, res.Request, b.ops[op].Method)
	}
	var v any
	if err := json.Unmarshal(res.Output, &v); err != nil {
		t.Fatalf("%s: output is not JSON: %v", op, err)
	}
	return v
}

// notFound runs op's action and fails t unless GHL answered that the
// record does not exist.
func (b *ghlBed) notFound(t *testing.T, op string, input any) {
	t.Helper()
	_, err := b.try(t, op, input)
	if !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("%s %s after the delete: %v, want ghl.ErrNotFound", op, show(input), err)
	}
}

// need skips a step whose input an earlier step failed to give.
func need(t *testing.T, vals ...string) {
	t.Helper()
	for _, v := range vals {
		if v == "" {
			t.Skip("an earlier step it depends on failed")
		}
	}
}

func show(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// at walks a decoded JSON document by a dotted path ("data.0._id").
func at(t *testing.T, v any, path string) any {
	t.Helper()
	cur := v
	for seg := range strings.SplitSeq(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[seg]
			if !ok {
				t.Fatalf("%s: no %q in %s", path, seg, show(c))
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				t.Fatalf("%s: no element %q in a list of %d", path, seg, len(c))
			}
			cur = c[i]
		default:
			t.Fatalf("%s: %q in %s, which is not an object or a list", path, seg, show(cur))
		}
	}
	return cur
}

// has reports whether the dotted path exists.
func has(v any, path string) bool {
	cur := v
	for seg := range strings.SplitSeq(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[seg]
			if !ok {
				return false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return false
			}
			cur = c[i]
		default:
			return false
		}
	}
	return true
}

func atStr(t *testing.T, v any, path string) string {
	t.Helper()
	s, ok := at(t, v, path).(string)
	if !ok {
		t.Fatalf("%s: %s is not a string", path, show(at(t, v, path)))
	}
	return s
}

func atNum(t *testing.T, v any, path string) float64 {
	t.Helper()
	switch n := at(t, v, path).(type) {
	case float64:
		return n
	case string: // GHL sends some numbers as strings
		f, err := strconv.ParseFloat(n, 64)
		if err == nil {
			return f
		}
	}
	t.Fatalf("%s: %s is not a number", path, show(at(t, v, path)))
	return 0
}

func atList(t *testing.T, v any, path string) []any {
	t.Helper()
	l, ok := at(t, v, path).([]any)
	if !ok {
		t.Fatalf("%s: %s is not a list", path, show(at(t, v, path)))
	}
	return l
}

func atObj(t *testing.T, v any, path string) map[string]any {
	t.Helper()
	m, ok := at(t, v, path).(map[string]any)
	if !ok {
		t.Fatalf("%s: %s is not an object", path, show(at(t, v, path)))
	}
	return m
}

// ids lists the _id of each element of the list at path.
func ids(t *testing.T, v any, path string) []string {
	t.Helper()
	var out []string
	for i := range atList(t, v, path) {
		out = append(out, atStr(t, v, fmt.Sprintf("%s.%d._id", path, i)))
	}
	return out
}

// cents is an amount in major units as minor units.
func cents(f float64) int64 {
	if f < 0 {
		return int64(f*100 - 0.5)
	}
	return int64(f*100 + 0.5)
}

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}
