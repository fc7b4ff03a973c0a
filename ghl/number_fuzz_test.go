package ghl

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

// FuzzNumber checks Number against math/big: Scaled gives n·10^exp exactly
// when that is an integer that fits an int64 and fails otherwise; Int agrees
// with Scaled(0); the JSON forms accept exactly the JSON numbers and give
// them back unchanged; NumberFromScaled reads back to its integer.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"150.1", "150.10", "0", "-0", "-12.5", "1e2", "1E-2", "0.005", "1.005", "0.285", "abc", "",
		"92233720368547758.07", "92233720368547758.08", "-92233720368547758.08", "9223372036854775807", "1.", ".5", "+5",
		"-", "1/3", "0x10", "1e1000", "1e-1000", "0e9227000000000000000", "-0.0E-9227000000000000000", "00012.50", " 1", "1_0", "NaN", "Inf"} {
		for _, exp := range []int8{0, 2, 3, -2} {
			f.Add(s, exp, int64(15010))
		}
	}
	f.Add("1", int8(18), int64(-1<<63))
	f.Fuzz(func(t *testing.T, s string, exp8 int8, v int64) {
		exp := int(exp8) % 25
		n := Number(s)
		got, err := n.Scaled(exp)

		want, fits := scaledRef(s, exp)
		switch {
		case fits && err != nil:
			t.Fatalf("Number(%q).Scaled(%d): %v; want %d", s, exp, err, want)
		case !fits && err == nil:
			t.Fatalf("Number(%q).Scaled(%d) = %d; want an error", s, exp, got)
		case fits && got != want:
			t.Fatalf("Number(%q).Scaled(%d) = %d; want %d", s, exp, got, want)
		}
		w0, fits0 := scaledRef(s, 0)
		if i, ok := n.Int(); ok != fits0 || ok && int64(i) != w0 {
			t.Fatalf("Number(%q).Int() = %d, %v; want %d, %v", s, i, ok, w0, fits0)
		}
		n.Float64()

		// The JSON forms, bare and quoted. encoding/json hands the value
		// without the white space around it; UnmarshalJSON trims it anyway.
		if trimmed := strings.TrimSpace(s); !strings.HasPrefix(trimmed, `"`) {
			var bare Number
			err := bare.UnmarshalJSON([]byte(s))
			// Any JSON value is taken (what is not a number is kept as
			// sent, for Scaled to refuse); text that is not JSON is not.
			if (err == nil) != json.Valid([]byte(trimmed)) {
				t.Fatalf("UnmarshalJSON(%q): %v; valid JSON: %v", s, err, json.Valid([]byte(trimmed)))
			}
			if err == nil && isJSONNumber(trimmed) && string(bare) != trimmed {
				t.Fatalf("UnmarshalJSON(%q) = %q", s, bare)
			}
		}
		if isJSONNumber(s) {
			if out, err := n.MarshalJSON(); err != nil || string(out) != s {
				t.Fatalf("MarshalJSON(%q) = %q, %v", s, out, err)
			}
			var quoted Number
			if err := quoted.UnmarshalJSON([]byte(strconv.Quote(s))); err != nil || quoted != n {
				t.Fatalf("UnmarshalJSON(%q) = %q, %v", strconv.Quote(s), quoted, err)
			}
		} else if out, err := n.MarshalJSON(); err == nil && s != "" && !json.Valid(out) {
			t.Fatalf("MarshalJSON(%q) = %q: not JSON", s, out)
		}

		if e := exp; e >= 0 {
			back := NumberFromScaled(v, e)
			if !validNumber(string(back)) {
				t.Fatalf("NumberFromScaled(%d, %d) = %q: not a number", v, e, back)
			}
			if w, err := back.Scaled(e); err != nil || w != v {
				t.Fatalf("NumberFromScaled(%d, %d) = %q, which scales back to %d, %v", v, e, back, w, err)
			}
		}
	})
}

// scaledRef is Scaled done with big.Rat alone: s·10^exp, and whether s is
// a JSON number whose value in the unit is an integer that fits an int64.
// big.Rat also reads forms JSON has not ("0x10", "1_0", "00012.50"), which
// GHL never sends as numbers and Scaled refuses.
func scaledRef(s string, exp int) (int64, bool) {
	if !isJSONNumber(s) {
		return 0, false
	}
	if strings.Trim(strings.SplitN(strings.ToLower(s), "e", 2)[0], "-0.") == "" {
		return 0, true // zero at any exponent, which big.Rat refuses past about 10^(1<<31)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, false
	}
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(exp))), nil))
	if exp >= 0 {
		r.Mul(r, p)
	} else {
		r.Quo(r, p)
	}
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	return r.Num().Int64(), true
}

// isJSONNumber reports whether s is one JSON number and nothing else (no
// white space around it), by encoding/json's own reckoning.
func isJSONNumber(s string) bool {
	return json.Valid([]byte(s)) && s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && strings.Trim(s, " \t\r\n") == s
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
