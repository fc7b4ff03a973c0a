package rankr

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// exponents lists the ISO 4217 currencies whose minor unit is not a
// hundredth; every other currency has cents.
var exponents = func() map[string]int {
	m := map[string]int{}
	for exp, codes := range map[int]string{
		0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
		3: "BHD IQD JOD KWD LYD OMR TND",
		4: "CLF UYW",
	} {
		for _, c := range strings.Fields(codes) {
			m[c] = exp
		}
	}
	return m
}()

// CurrencyExponent returns how many decimal places the currency's minor unit
// has: 2 for USD (cents), 0 for JPY, 3 for KWD. A code it does not know has
// 2.
func CurrencyExponent(currency string) int {
	if exp, ok := exponents[strings.ToUpper(currency)]; ok {
		return exp
	}
	return 2
}

// FormatMinor writes an amount in minor units as a decimal in the currency's
// major unit, exactly: FormatMinor(15010, "USD") is "150.10".
func FormatMinor(minor int64, currency string) string {
	exp := CurrencyExponent(currency)
	neg := minor < 0
	mag := uint64(minor)
	if neg {
		mag = -mag // also right for math.MinInt64, whose magnitude no int64 holds
	}
	s := strconv.FormatUint(mag, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseMajor reads a decimal amount in the currency's major unit as minor
// units, exactly: ParseMajor("150.1", "USD") is 15010. More decimal places
// than the currency has is an error, never a rounding.
func ParseMajor(s, currency string) (int64, error) {
	exp := CurrencyExponent(currency)
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(t, "-")
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" && frac == "" || len(frac) > exp || strings.ContainsAny(whole+frac, "+-_ ") {
		return 0, fmt.Errorf("%q is not an amount in %s (at most %d decimal places): %w", s, strings.ToUpper(currency), exp, ErrInvalid)
	}
	digits := cmp.Or(whole, "0") + frac + strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an amount in %s: %w", s, strings.ToUpper(currency), ErrInvalid)
	}
	if neg {
		n = -n
	}
	return n, nil
}
