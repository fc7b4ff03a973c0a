package rankr

import (
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
