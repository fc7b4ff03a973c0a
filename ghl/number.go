package ghl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Number is a JSON number kept as the decimal text GHL sent. Money and
// quantities travel as JSON numbers ("amount": 150.1); keeping the text means
// an amount never passes through float64 on its way to Rankr's ledger, and
// Scaled converts it to minor units exactly or reports why it cannot.
//
// The empty Number means "absent": fields of type Number use omitempty, so an
// absent amount stays absent and a zero amount is sent as 0.
type Number string

// NumberFromInt returns the Number for an integer.
func NumberFromInt(v int64) Number { return Number(strconv.FormatInt(v, 10)) }

// NumberFromScaled returns the Number for v·10^-exp, for example
// NumberFromScaled(15010, 2) is 150.1. Trailing zeros are dropped.
func NumberFromScaled(v int64, exp int) Number {
	if exp <= 0 {
		return NumberFromInt(v)
	}
	neg := v < 0
	digits := strconv.FormatInt(v, 10)
	if neg {
		digits = digits[1:]
	}
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-exp], strings.TrimRight(digits[len(digits)-exp:], "0")
	s := whole
	if frac != "" {
		s += "." + frac
	}
	if neg && s != "0" {
		s = "-" + s
	}
	return Number(s)
}

// ErrNotANumber is returned when a Number holds text that is not a decimal
// number.
var ErrNotANumber = errors.New("not a number")

// rat parses the Number exactly.
func (n Number) rat() (*big.Rat, error) {
	if n == "" {
		return nil, fmt.Errorf("ghl: empty number: %w", ErrNotANumber)
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return nil, fmt.Errorf("ghl: %q: %w", string(n), ErrNotANumber)
	}
	return r, nil
}

// Scaled returns n·10^exp as an integer, for example the amount in cents when
// exp is 2. It fails rather than rounds when n has more decimal places than
// exp allows, and when the result does not fit in an int64.
func (n Number) Scaled(exp int) (int64, error) {
	if v, ok := n.scaledPlain(exp); ok {
		return v, nil
	}
	r, err := n.rat()
	if err != nil {
		return 0, err
	}
	if exp != 0 {
		pow := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(exp, -exp))), nil))
		if exp > 0 {
			r.Mul(r, pow)
		} else {
			r.Quo(r, pow)
		}
	}
	if !r.IsInt() {
		return 0, fmt.Errorf("ghl: %s has more than %d decimal places", string(n), exp)
	}
	if !r.Num().IsInt64() {
		return 0, fmt.Errorf("ghl: %s is out of range", string(n))
	}
	return r.Num().Int64(), nil
}

// scaledPlain is Scaled for the form nearly every amount has ("-150.1"):
// digits with at most exp of them after the point, 18 in all at the most
// once scaled, so that the result fits an int64 without checks. It reports
// false for anything else, which goes the exact, slower way of big.Rat.
func (n Number) scaledPlain(exp int) (int64, bool) {
	s := string(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > exp || exp < 0 || len(whole)+exp > 18 {
		return 0, false
	}
	var v int64
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int64(c-'0')
		}
	}
	for range exp - len(frac) {
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, true
}

// Float64 returns the nearest float64 and whether n held a number. Use it for
// display and statistics, never for money arithmetic.
func (n Number) Float64() (float64, bool) {
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

// Int returns n as an int when it is a whole number, such as a quantity.
func (n Number) Int() (int, bool) {
	v, err := n.Scaled(0)
	if err != nil || int64(int(v)) != v {
		return 0, false
	}
	return int(v), true
}

// String returns the decimal text.
func (n Number) String() string { return string(n) }

// MarshalJSON writes the number bare; an empty Number is written as null.
func (n Number) MarshalJSON() ([]byte, error) {
	if n == "" {
		return []byte("null"), nil
	}
	if !validNumber(string(n)) {
		return nil, fmt.Errorf("ghl: marshal %q: %w", string(n), ErrNotANumber)
	}
	return []byte(n), nil
}

// UnmarshalJSON accepts a JSON number, a string holding a number (some GHL
// examples quote their amounts) or null.
func (n *Number) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*n = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*n = ""
			return nil
		}
		if !validNumber(s) {
			return fmt.Errorf("ghl: %q: %w", s, ErrNotANumber)
		}
		*n = Number(s)
		return nil
	case validNumber(string(b)):
		*n = Number(b)
		return nil
	}
	return fmt.Errorf("ghl: %s: %w", b, ErrNotANumber)
}

// validNumber reports whether s is a JSON number: -?int(.frac)?([eE][+-]?exp)?
// with no leading zeros.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
