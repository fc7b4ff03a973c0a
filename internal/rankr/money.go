package rankr

import (
	"strconv"
	"strings"
)

// zeroDecimal and threeDecimal list the ISO 4217 currencies whose minor unit
// is not a hundredth.
var (
	zeroDecimal  = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
	threeDecimal = "BHD IQD JOD KWD LYD OMR TND"
)

// CurrencyExponent returns how many decimal places the currency's minor unit
// has: 2 for USD (cents), 0 for JPY, 3 for KWD.
func CurrencyExponent(currency string) int {
	c := strings.ToUpper(currency)
	switch {
	case len(c) != 3:
		return 2
	case strings.Contains(zeroDecimal, c):
		return 0
	case strings.Contains(threeDecimal, c):
		return 3
	}
	return 2
}

// FormatMinor writes an amount in minor units as a decimal in the currency's
// major unit: FormatMinor(15010, "USD") is "150.10".
func FormatMinor(minor int64, currency string) string {
	exp := CurrencyExponent(currency)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
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
