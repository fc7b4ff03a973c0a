package rankr

import (
	"math"
	"testing"
)

func TestCurrencyExponent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		currency string
		want     int
	}{
		{"USD", 2}, {"usd", 2}, {"EUR", 2}, {"JPY", 0}, {"jpy", 0}, {"KRW", 0}, {"KWD", 3}, {"BHD", 3}, {"CLF", 4},
		{"", 2}, {"XYZ", 2},
		// Not a substring of the lists: only whole codes count.
		{"Y K", 2}, {"PY ", 2}, {"JPYKWD", 2}, {"WD", 2},
	}
	for _, tt := range tests {
		if got := CurrencyExponent(tt.currency); got != tt.want {
			t.Errorf("CurrencyExponent(%q) = %d, want %d", tt.currency, got, tt.want)
		}
	}
}

func TestFormatMinor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{15010, "USD", "150.10"}, {5, "USD", "0.05"}, {-5, "USD", "-0.05"}, {0, "USD", "0.00"}, {-101, "USD", "-1.01"},
		{1500, "JPY", "1500"}, {-1, "JPY", "-1"}, {1001, "KWD", "1.001"}, {-1, "KWD", "-0.001"}, {12345, "CLF", "1.2345"},
		{math.MaxInt64, "USD", "92233720368547758.07"},
		{math.MinInt64, "USD", "-92233720368547758.08"},
		{math.MinInt64, "JPY", "-9223372036854775808"},
	}
	for _, tt := range tests {
		if got := FormatMinor(tt.minor, tt.currency); got != tt.want {
			t.Errorf("FormatMinor(%d, %s) = %s, want %s", tt.minor, tt.currency, got, tt.want)
		}
	}
}

func TestParseMajor(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, cur string
		want    int64
		ok      bool
	}{
		{"150.1", "USD", 15010, true}, {"150.10", "USD", 15010, true}, {"0.01", "USD", 1, true}, {".5", "USD", 50, true},
		{"-2.5", "EUR", -250, true}, {"1000", "JPY", 1000, true}, {"1.005", "KWD", 1005, true}, {"7", "usd", 700, true},
		{"1.005", "USD", 0, false}, {"1.5", "JPY", 0, false}, {"", "USD", 0, false}, {"abc", "USD", 0, false},
		{"1e3", "USD", 0, false}, {"+1", "USD", 0, false}, {"--1", "USD", 0, false}, {"99999999999999999999", "USD", 0, false},
	} {
		got, err := ParseMajor(c.in, c.cur)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseMajor(%q, %s) = %d, %v; want %d, ok %v", c.in, c.cur, got, err, c.want, c.ok)
		}
		if c.ok && FormatMinor(got, c.cur) != FormatMinor(c.want, c.cur) {
			t.Errorf("round trip of %q", c.in)
		}
	}
}
