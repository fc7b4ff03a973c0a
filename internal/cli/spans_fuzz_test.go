package cli

import (
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"
)

var spanSeeds = []string{"3d", "0d", "36h", "90m", "1h30m", " 2h ", "-1d", "-1h", "+3d", "1.5d", "d", "", "3D", "3 d",
	"106751d", "106752d", "9223372036854775807d", "2562047h", "2562048h", "1e3h", "0x10d", "1_0d", "30s", "1µs"}

// FuzzParseSpan checks the span flags (--unfulfilled-after and the like):
// nothing panics; a span read is never negative; days are exact whole days
// (never wrapped around); anything else is what time.ParseDuration reads.
func FuzzParseSpan(f *testing.F) {
	for _, s := range spanSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseSpan(s)
		var sp span
		if uerr := sp.UnmarshalText([]byte(s)); (uerr == nil) != (err == nil) || time.Duration(sp) != d {
			t.Fatalf("span %q reads %v, %v; parseSpan %v, %v", s, time.Duration(sp), uerr, d, err)
		}
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("parseSpan(%q) = %v: negative", s, d)
		}
		v := strings.TrimSpace(s)
		if n, ok := strings.CutSuffix(v, "d"); ok {
			days, aerr := strconv.Atoi(n)
			want := new(big.Int).Mul(big.NewInt(int64(days)), big.NewInt(int64(24*time.Hour)))
			if aerr != nil || !want.IsInt64() || want.Int64() != int64(d) {
				t.Fatalf("parseSpan(%q) = %v; want %s ns", s, d, want)
			}
			return
		}
		if want, perr := time.ParseDuration(v); perr != nil || want != d {
			t.Fatalf("parseSpan(%q) = %v; time.ParseDuration says %v, %v", s, d, want, perr)
		}
	})
}

// FuzzParseSince checks --since: nothing panics; a span reaches back from
// now, never forward; a moment is the time written.
func FuzzParseSince(f *testing.F) {
	for _, s := range append(spanSeeds, "2026-05-01", "2026-05-01T12:00:00Z", "2026-05-01T12:00:00+02:00", "2026-05-01T12:00",
		"2026-02-30", "0000-01-01", "9999-12-31T23:59:59Z", "2026-05-01T12:00:00.123456789Z", "yesterday") {
		f.Add(s)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSince(s, now)
		if err != nil {
			if !strings.Contains(err.Error(), "--since") {
				t.Fatalf("parseSince(%q): the error does not name the flag: %v", s, err)
			}
			return
		}
		if s == "" {
			if !got.IsZero() {
				t.Fatalf("parseSince(\"\") = %v; want no limit", got)
			}
			return
		}
		if d, serr := parseSpan(s); serr == nil {
			if !got.Equal(now.Add(-d)) || got.After(now) {
				t.Fatalf("parseSince(%q) = %v; want %v back from %v", s, got, d, now)
			}
			return
		}
		for _, layout := range []string{time.DateOnly, time.RFC3339, "2006-01-02T15:04"} {
			if want, perr := time.Parse(layout, s); perr == nil {
				if !got.Equal(want) {
					t.Fatalf("parseSince(%q) = %v; want %v", s, got, want)
				}
				return
			}
		}
		t.Fatalf("parseSince(%q) = %v, neither a span nor a time", s, got)
	})
}
