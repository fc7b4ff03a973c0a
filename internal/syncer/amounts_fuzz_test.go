package syncer

import (
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
)

// ratMinor is the conversion computed another way, with big.Rat: text·10^exp
// rounded half away from zero. parsed is false when big.Rat finds no number
// in text. The exponent is applied apart from the mantissa so that text like
// 1e999999 costs no million-digit power: a power of ten beyond the text's own
// length either puts the value past any int64 or below a hundredth of a
// unit, whatever the mantissa's digits.
func ratMinor(text string, exp int) (v int64, rounded, fits, parsed bool) {
	mant, e, found := strings.Cut(strings.ToLower(text), "e")
	m, ok := new(big.Rat).SetString(mant)
	if !ok {
		return 0, false, false, false
	}
	k := big.NewInt(int64(exp))
	if found {
		n, ok := new(big.Int).SetString(strings.TrimPrefix(e, "+"), 10)
		if !ok || strings.HasPrefix(e, "+-") {
			return 0, false, false, false
		}
		k.Add(k, n)
	}
	bound := big.NewInt(int64(len(text) + 20))
	switch {
	case m.Sign() == 0:
		return 0, false, true, true
	case k.Cmp(bound) > 0:
		return 0, false, false, true
	case k.Cmp(new(big.Int).Neg(bound)) < 0:
		return 0, true, true, true
	}
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), new(big.Int).Abs(k), nil))
	if k.Sign() >= 0 {
		m.Mul(m, p)
	} else {
		m.Quo(m, p)
	}
	q, rem := new(big.Int).QuoRem(new(big.Int).Abs(m.Num()), m.Denom(), new(big.Int))
	if new(big.Int).Lsh(rem, 1).Cmp(m.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if m.Sign() < 0 {
		q.Neg(q)
	}
	return q.Int64(), rem.Sign() != 0, q.IsInt64(), true
}

// FuzzAmountMinor: converting an amount (or a quantity) never panics, agrees
// with big.Rat on every text it accepts, refuses what big.Rat cannot read,
// and calls nothing a non-number that is a JSON number.
func FuzzAmountMinor(f *testing.F) {
	for _, s := range []string{"150.1", "150.10", "1.005", "0.285", "-1.005", "0.5", "1.0005", "2.5", "-0", "0", "1e2", "1.5E-1",
		"15E-1", "1005e-3", "9223372036854775807", "-9223372036854775808", "92233720368547758.08", "92233720368547758.075",
		"1e30", "1e999999999", "1e-999999999", "0e99999999999", "123456789012345678901234567890.5", "", `""`, `"abc"`, "abc",
		"1.2.3", "true", "+5", ".5", "1.", "01", "0x10", "1/3", "Inf", "NaN", " 1", "1,5", "1e", "1e+", "-"} {
		for _, c := range []string{"USD", "JPY", "KWD"} {
			f.Add(s, c)
		}
	}
	f.Fuzz(func(t *testing.T, text, currency string) {
		exp := rankr.CurrencyExponent(currency)
		a := newAmounts(rankr.RecordOrder, "o1")
		got := a.minor("amount", ghl.Number(text), currency)
		q := newAmounts(rankr.RecordOrder, "o1")
		qty := q.count("items[0].qty", ghl.Number(text))
		if len(text) > 1000 {
			return // amounts are short; ratMinor's bound assumes it
		}
		if text == "" { // absent
			if got != 0 || a.err != nil || qty != 0 || q.err != nil {
				t.Fatalf("an absent amount gave %d, %v; qty %d, %v", got, a.err, qty, q.err)
			}
			return
		}
		want, rounded, fits, parsed := ratMinor(text, exp)
		// A JSON number as a Number holds it: no space around (decoding
		// trims it).
		jsonNumber := json.Valid([]byte(text)) && strings.TrimSpace(text) == text && strings.ContainsRune("-0123456789", rune(text[0]))
		check := func(what string, got int64, c *amounts, want int64, rounded, fits bool, whole bool) {
			switch {
			case c.err == nil && !parsed:
				t.Fatalf("%s %q (exp %d) = %d where big.Rat finds no number", what, text, exp, got)
			case c.err == nil && (!fits || got != want || (whole && rounded)):
				t.Fatalf("%s %q (exp %d) = %d, big.Rat says %d (fits %v, rounded %v)", what, text, exp, got, want, fits, rounded)
			case c.err == nil && !whole && (len(c.rounded) > 0) != rounded:
				t.Fatalf("%s %q (exp %d): noted roundings %q, big.Rat says rounded %v", what, text, exp, c.rounded, rounded)
			case c.err != nil && got != 0:
				t.Fatalf("%s %q refused (%v) but gave %d", what, text, c.err, got)
			case c.err != nil && !errors.Is(c.refusal(), rankr.ErrInvalid):
				t.Fatalf("%s %q refused with %v, not rankr.ErrInvalid", what, text, c.err)
			case errors.Is(c.refusal(), ghl.ErrOutOfRange) && (!parsed || fits):
				t.Fatalf("%s %q (exp %d) called out of range; big.Rat says %d", what, text, exp, want)
			case errors.Is(c.refusal(), ghl.ErrNotANumber) && jsonNumber:
				t.Fatalf("%s %q is a JSON number, refused as not a number", what, text)
			case errors.Is(c.refusal(), errFractional) && (!parsed || !rounded):
				t.Fatalf("%s %q called fractional; big.Rat says %d exactly", what, text, want)
			}
		}
		check("amount", got, a, want, rounded, fits, false)
		want, rounded, fits, _ = ratMinor(text, 0)
		check("qty", qty, q, want, rounded, fits, true)
	})
}
