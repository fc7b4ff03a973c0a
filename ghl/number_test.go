package ghl

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"testing"
	"time"
)

func TestNumberScaled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      Number
		exp     int
		want    int64
		wantErr error
	}{
		{"150.1", 2, 15010, nil},
		{"150.10", 2, 15010, nil},
		{"150.100", 2, 15010, nil}, // more digits, none of them lost
		{"0", 2, 0, nil},
		{"-12.5", 2, -1250, nil},
		{"1e2", 2, 10000, nil},
		{"1.5E-1", 2, 15, nil},
		{"199999", 0, 199999, nil},
		{"0.005", 2, 0, ErrInexact}, // would need rounding
		{"abc", 2, 0, ErrNotANumber},
		{`"abc"`, 2, 0, ErrNotANumber},
		{"", 2, 0, ErrNotANumber},
		{"92233720368547758.08", 2, 0, ErrOutOfRange}, // overflows int64
		{"92233720368547758.07", 2, math.MaxInt64, nil},
		{"-92233720368547758.08", 2, math.MinInt64, nil},
	}
	for _, tt := range tests {
		got, err := tt.in.Scaled(tt.exp)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) || got != tt.want {
			t.Errorf("Number(%q).Scaled(%d) = %d, %v; want %d, %v", tt.in, tt.exp, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNumberRound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      Number
		exp     int
		want    int64
		rounded bool
		wantErr error
	}{
		// Half away from zero, on the decimal digits.
		{"1.005", 2, 101, true, nil},
		{"0.285", 2, 29, true, nil},
		{"-1.005", 2, -101, true, nil},
		{"-0.285", 2, -29, true, nil},
		{"1.0049999999999999999", 2, 100, true, nil},
		{"1.00500000000000000001", 2, 101, true, nil},
		{"0.5", 0, 1, true, nil},
		{"-0.5", 0, -1, true, nil},
		{"0.4999", 0, 0, true, nil},
		{"-0.004", 2, 0, true, nil}, // no negative zero
		{"2.5", 0, 3, true, nil},    // not to even
		{"1.0005", 3, 1001, true, nil},
		{"1.0004", 3, 1000, true, nil},
		{"0.0000000000000000000000000000000000000000000000000000000005", 2, 0, true, nil},
		{"5e-3", 2, 1, true, nil},
		{"1005e-3", 2, 101, true, nil},
		{"0.1005e1", 2, 101, true, nil},
		{"1e-99999999999999999999", 2, 0, true, nil},
		// Exact: nothing rounded, whatever the form.
		{"1.50", 2, 150, false, nil},
		{"1.5000000000", 2, 150, false, nil},
		{"15E1", 0, 150, false, nil},
		{"1.5e+2", 0, 150, false, nil},
		{"-0", 2, 0, false, nil},
		{"0e99999999999999999999", 2, 0, false, nil},
		{"0.000e-5", 2, 0, false, nil},
		{"9223372036854775807", 0, math.MaxInt64, false, nil},
		{"-9223372036854775808", 0, math.MinInt64, false, nil},
		{"92233720368547758.074", 2, math.MaxInt64, true, nil},
		// Refused: out of range (never wrapped) or not a number.
		{"9223372036854775808", 0, 0, false, ErrOutOfRange},
		{"92233720368547758.075", 2, 0, false, ErrOutOfRange}, // rounds past the top
		{"-9223372036854775809", 0, 0, false, ErrOutOfRange},
		{"1e19", 0, 0, false, ErrOutOfRange},
		{"1e99999999999999999999", 2, 0, false, ErrOutOfRange},
		{"123456789012345678901234567890", 0, 0, false, ErrOutOfRange},
		{"", 2, 0, false, ErrNotANumber},
		{"abc", 2, 0, false, ErrNotANumber},
		{`"abc"`, 2, 0, false, ErrNotANumber},
		{`""`, 2, 0, false, ErrNotANumber},
		{"1.2.3", 2, 0, false, ErrNotANumber},
		{"true", 2, 0, false, ErrNotANumber},
		{"+5", 2, 0, false, ErrNotANumber},
		{".5", 2, 0, false, ErrNotANumber},
		{"1.", 2, 0, false, ErrNotANumber},
		{"01", 2, 0, false, ErrNotANumber},
		{"1e", 2, 0, false, ErrNotANumber},
		{"0x10", 2, 0, false, ErrNotANumber},
		{"1/2", 2, 0, false, ErrNotANumber},
		{"Inf", 2, 0, false, ErrNotANumber},
		{"NaN", 2, 0, false, ErrNotANumber},
		{" 1", 2, 0, false, ErrNotANumber},
		{"1,5", 2, 0, false, ErrNotANumber},
	}
	for _, tt := range tests {
		got, rounded, err := tt.in.Round(tt.exp)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) || got != tt.want || rounded != tt.rounded {
			t.Errorf("Number(%q).Round(%d) = %d, %v, %v; want %d, %v, %v", tt.in, tt.exp, got, rounded, err, tt.want, tt.rounded, tt.wantErr)
		}
	}
}

// ratRound is Round computed another way, with big.Rat, for the texts whose
// exponent big.Rat can afford; ok is false when big.Rat finds no number.
func ratRound(s string, exp int) (v int64, rounded, fits, ok bool) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, false, false, false
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	num := new(big.Int).Abs(r.Num())
	q, rem := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
	if new(big.Int).Lsh(rem, 1).Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return q.Int64(), rem.Sign() != 0, q.IsInt64(), true
}

// Round agrees with big.Rat wherever it answers, and refuses what big.Rat
// cannot read.
func TestNumberRoundAgreesWithRat(t *testing.T) {
	t.Parallel()
	inputs := []string{"0", "-0", "7", "150.1", "150.10", "0.05", "-12.5", "1.", "999999999999999999", "99999999999999999.9",
		"12.345", "+5", ".5", "-", "1.2.3", "1e2", " 1", "00012.50", "1.005", "-0.285", "0.5", "1.0005", "1e-3", "-2.5E-1",
		"9223372036854775807", "9223372036854775807.5", "-9223372036854775808.5", "0x1p3", "1/3", "1e", "1e+", "Inf"}
	for i := range 3000 {
		v := int64(i*7919) * int64(i%5+1) * 131
		if i%3 == 0 {
			v = -v
		}
		inputs = append(inputs, string(NumberFromScaled(v, i%6)), string(NumberFromScaled(v, i%6))+"5", string(NumberFromScaled(v, i%4))+"e-2")
	}
	for _, s := range inputs {
		for exp := 0; exp <= 3; exp++ {
			got, rounded, err := Number(s).Round(exp)
			want, wantRounded, fits, ok := ratRound(s, exp)
			switch {
			case !ok && err == nil:
				t.Fatalf("Number(%q).Round(%d) = %d where big.Rat finds no number", s, exp, got)
			case err == nil && (got != want || rounded != wantRounded || !fits):
				t.Fatalf("Number(%q).Round(%d) = %d, %v; big.Rat says %d, %v (fits: %v)", s, exp, got, rounded, want, wantRounded, fits)
			case errors.Is(err, ErrOutOfRange) && (!ok || fits):
				t.Fatalf("Number(%q).Round(%d) is out of range; big.Rat says %d", s, exp, want)
			case errors.Is(err, ErrNotANumber) && ok && validNumber(s):
				t.Fatalf("Number(%q).Round(%d) refused a JSON number: %v", s, exp, err)
			}
		}
	}
}

func TestNumberFromScaled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    int64
		exp  int
		want Number
	}{
		{15010, 2, "150.1"}, {15000, 2, "150"}, {5, 2, "0.05"}, {-5, 2, "-0.05"}, {0, 2, "0"}, {-1250, 2, "-12.5"}, {7, 0, "7"},
	}
	for _, tt := range tests {
		if got := NumberFromScaled(tt.v, tt.exp); got != tt.want {
			t.Errorf("NumberFromScaled(%d, %d) = %q, want %q", tt.v, tt.exp, got, tt.want)
		}
		back, err := tt.want.Scaled(tt.exp)
		if err != nil || back != tt.v {
			t.Errorf("round trip of %q = %d, %v", tt.want, back, err)
		}
	}
}

func TestNumberJSON(t *testing.T) {
	t.Parallel()
	var v struct {
		A Number `json:"a"`
		B Number `json:"b"`
		C Number `json:"c"`
		D Number `json:"d,omitempty"`
	}
	// GHL's examples quote some amounts; both forms must decode, exactly.
	if err := json.Unmarshal([]byte(`{"a": 150.10, "b": "99.99", "c": null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "150.10" || v.B != "99.99" || v.C != "" {
		t.Fatalf("decoded %+v", v)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{"a":150.10,"b":99.99,"c":null}`; got != want {
		t.Fatalf("marshal = %s, want %s", got, want)
	}
	// A value that is not a number is kept as sent, for Scaled and Round
	// to refuse, instead of failing the whole record.
	for _, bad := range []string{`"ten"`, `true`, `{}`, `"01"`, `"1."`, `"-"`, `"1e"`, `""`, `"  "`, `[1]`} {
		if err := json.Unmarshal([]byte(`{"a": `+bad+`}`), &v); err != nil {
			t.Errorf("decoding %s: %v", bad, err)
			continue
		}
		if string(v.A) != bad {
			t.Errorf("decoding %s kept %q", bad, v.A)
		}
		if _, err := v.A.Scaled(2); !errors.Is(err, ErrNotANumber) {
			t.Errorf("Scaled of %s: got %v, want ErrNotANumber", bad, err)
		}
		// Written back as GHL sent it.
		if out, err := json.Marshal(struct{ A Number }{v.A}); err != nil || string(out) != `{"A":`+bad+`}` {
			t.Errorf("marshalling %s back = %s, %v", bad, out, err)
		}
	}
	for _, text := range []string{"1 OR 1", "abc", "1.2.3", `"a`, "+5"} {
		if _, err := json.Marshal(struct{ N Number }{Number(text)}); !errors.Is(err, ErrNotANumber) {
			t.Errorf("marshalling the Number %q: %v, want ErrNotANumber", text, err)
		}
	}
}

func TestTimeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
	}{
		{`"2023-11-20T10:23:36.515Z"`, time.Date(2023, 11, 20, 10, 23, 36, 515e6, time.UTC)},
		{`"2023-11-20T11:23:36.5+01:00"`, time.Date(2023, 11, 20, 10, 23, 36, 500e6, time.UTC)},
		{`"2023-11-20"`, time.Date(2023, 11, 20, 0, 0, 0, 0, time.UTC)},
		{`""`, time.Time{}},
		{`null`, time.Time{}},
	}
	for _, tt := range tests {
		var got Time
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("decoding %s: %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("decoding %s = %v, want %v", tt.in, got, tt.want)
		}
	}
	var bad Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Error("decoding a non-timestamp succeeded")
	}
	// GHL always writes three fractional digits in UTC.
	b, _ := json.Marshal(NewTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))))
	if got, want := string(b), `"2024-01-02T02:04:05.000Z"`; got != want {
		t.Errorf("marshal = %s, want %s", got, want)
	}
	out, _ := json.Marshal(struct {
		T Time `json:"t,omitzero"`
	}{})
	if string(out) != `{}` {
		t.Errorf("zero Time with omitzero marshalled as %s", out)
	}
}
