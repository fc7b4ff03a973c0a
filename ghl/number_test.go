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
		wantErr bool
	}{
		{"150.1", 2, 15010, false},
		{"150.10", 2, 15010, false},
		{"0", 2, 0, false},
		{"-12.5", 2, -1250, false},
		{"1e2", 2, 10000, false},
		{"199999", 0, 199999, false},
		{"0.005", 2, 0, true}, // would need rounding
		{"abc", 2, 0, true},
		{"", 2, 0, true},
		{"92233720368547758.08", 2, 0, true}, // overflows int64
	}
	for _, tt := range tests {
		got, err := tt.in.Scaled(tt.exp)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Number(%q).Scaled(%d) = %d, %v; want %d, error %v", tt.in, tt.exp, got, err, tt.want, tt.wantErr)
		}
	}
}

// The plain-decimal fast path of Scaled agrees with big.Rat wherever it
// answers, and answers for the amounts GHL sends.
func TestNumberScaledPlainAgreesWithRat(t *testing.T) {
	t.Parallel()
	inputs := []Number{"0", "-0", "7", "150.1", "150.10", "0.05", "-12.5", "1.", "999999999999999999", "99999999999999999.9",
		"12.345", "+5", ".5", "-", "1.2.3", "1e2", " 1", "00012.50"}
	for i := range 2000 {
		v := int64(i*7919) * int64(i%5+1) * 131
		if i%3 == 0 {
			v = -v
		}
		inputs = append(inputs, NumberFromScaled(v, i%4))
	}
	for _, n := range inputs {
		for exp := 0; exp <= 3; exp++ {
			fast, ok := n.scaledPlain(exp)
			if !ok {
				continue
			}
			r, err := n.rat()
			if err != nil {
				t.Fatalf("%q: the fast path answered %d where big.Rat finds no number", n, fast)
			}
			r.Mul(r, new(big.Rat).SetInt64(int64(math.Pow10(exp))))
			if !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() != fast {
				t.Fatalf("Number(%q).scaledPlain(%d) = %d, big.Rat says %s", n, exp, fast, r.RatString())
			}
		}
	}
	for _, n := range []Number{"150.1", "-12.50", "0"} {
		if _, ok := n.scaledPlain(2); !ok {
			t.Errorf("%q did not take the fast path", n)
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
	for _, bad := range []string{`{"a": "ten"}`, `{"a": true}`, `{"a": {}}`, `{"a": "01"}`, `{"a": "1."}`, `{"a": "-"}`, `{"a": "1e"}`} {
		if err := json.Unmarshal([]byte(bad), &v); !errors.Is(err, ErrNotANumber) {
			t.Errorf("decoding %s: got %v, want ErrNotANumber", bad, err)
		}
	}
	if _, err := json.Marshal(struct{ N Number }{"1 OR 1"}); err == nil {
		t.Error("marshalling a Number that is not a number succeeded")
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
