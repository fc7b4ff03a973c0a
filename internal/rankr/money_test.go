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
