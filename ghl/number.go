package ghl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Number is a JSON number kept as the decimal text GHL sent. Money and
// quantities travel as JSON numbers ("amount": 150.1); keeping the text means
// an amount never passes through float64 on its way to Rankr's ledger, and
// Scaled and Round convert it to minor units exactly or report why they
// cannot.
//
// A value GHL sent that is not a number ("abc", true, "") is kept as its
// JSON text, exactly as sent, rather than failing the decoding of the whole
// record (and, on a list, of every record of the page): Scaled and Round
// refuse it with ErrNotANumber, so the code that needs the amount can refuse
// that one record by name.
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

// ErrOutOfRange is returned when a Number, in the unit asked for, does not
// fit in an int64.
var ErrOutOfRange = errors.New("out of range")

// ErrInexact is returned by Scaled when the Number has more decimal places
// than the unit asked for.
var ErrInexact = errors.New("more decimal places than the unit has")

// maxExponent bounds the exponents parse reads, far past what any text's
// digits can make up for: beyond it a number is out of range (or, negative,
// rounds to 0) whatever its digits. It keeps the exponent arithmetic in an
// int64 for text like 1e99999999999999999999.
const maxExponent = 1 << 40

// decimal is a Number taken apart: its value is ±digits·10^exp, digits
// without leading zeros ("" for zero).
type decimal struct {
	neg    bool
	digits string
	exp    int64
}

// parse takes a Number written as a JSON number apart, without rounding
// anything: -?int(.frac)?([eE][+-]?exp)?
func (n Number) parse() (decimal, error) {
	s := string(n)
	if !validNumber(s) {
		if s == "" {
			return decimal{}, fmt.Errorf("ghl: empty number: %w", ErrNotANumber)
		}
		return decimal{}, fmt.Errorf("ghl: %s: %w", s, ErrNotANumber)
	}
	var d decimal
	if s[0] == '-' {
		d.neg, s = true, s[1:]
	}
	mant, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	whole, frac, _ := strings.Cut(mant, ".")
	d.digits = strings.TrimLeft(whole+frac, "0")
	if d.digits == "" {
		return decimal{}, nil // zero, whatever its exponent
	}
	var e int64
	if hasExp {
		neg := strings.HasPrefix(expText, "-")
		expText = strings.TrimLeft(expText, "+-")
		for i := 0; i < len(expText) && e <= maxExponent; i++ {
			e = e*10 + int64(expText[i]-'0')
		}
		e = min(e, maxExponent+1)
		if neg {
			e = -e
		}
	}
	d.exp = e - int64(len(frac))
	return d, nil
}

// Round returns n·10^exp rounded half away from zero to an integer, for
// example the amount in cents when exp is 2: 1.005 is 101 and -1.005 is
// -101. rounded reports whether n had more decimal places than exp, so that
// the caller can record that rounding happened. It fails when n is not a
// number (ErrNotANumber) and when the result does not fit in an int64
// (ErrOutOfRange). The arithmetic is on the decimal digits: exact, and
// bounded whatever the text.
func (n Number) Round(exp int) (v int64, rounded bool, err error) {
	d, err := n.parse()
	if err != nil {
		return 0, false, err
	}
	if d.digits == "" {
		return 0, false, nil
	}
	k := d.exp + int64(exp) // the value in the unit is ±digits·10^k
	digits := d.digits
	up := false
	switch {
	case k >= 0:
		if int64(len(digits))+k > 19 { // at least 10^19, past any int64
			return 0, false, n.outOfRange(exp)
		}
		digits += strings.Repeat("0", int(k))
	default:
		keep := int64(len(digits)) + k
		dropped := digits
		if keep > 0 {
			digits, dropped = digits[:keep], digits[keep:]
		} else {
			digits = ""
		}
		// A half or more away from the last kept digit (the first dropped
		// one is 5 or more) rounds away from zero; less rounds toward it.
		up = keep >= 0 && dropped[0] >= '5'
		rounded = strings.TrimRight(dropped, "0") != ""
		if len(digits) > 19 {
			return 0, false, n.outOfRange(exp)
		}
	}
	var mag uint64 // at most 19 digits: below 1.8·10^19, no overflow
	for i := 0; i < len(digits); i++ {
		mag = mag*10 + uint64(digits[i]-'0')
	}
	if up {
		mag++
	}
	switch {
	case !d.neg && mag > math.MaxInt64, d.neg && mag > 1<<63:
		return 0, false, n.outOfRange(exp)
	case d.neg:
		return int64(-mag), rounded, nil // -(1<<63) wraps to itself: MinInt64
	}
	return int64(mag), rounded, nil
}

func (n Number) outOfRange(exp int) error {
	return fmt.Errorf("ghl: %s scaled by 10^%d: %w", string(n), exp, ErrOutOfRange)
}

// Scaled returns n·10^exp as an integer, for example the amount in cents when
// exp is 2. It fails rather than rounds when n has more decimal places than
// exp allows (ErrInexact); see Round for the other errors.
func (n Number) Scaled(exp int) (int64, error) {
	v, rounded, err := n.Round(exp)
	if err != nil {
		return 0, err
	}
	if rounded {
		return 0, fmt.Errorf("ghl: %s has more than %d decimal places: %w", string(n), exp, ErrInexact)
	}
	return v, nil
}

// Float64 returns the nearest float64 and whether n held a number. Use it for
// display and statistics, never for money arithmetic.
func (n Number) Float64() (float64, bool) {
	if !validNumber(string(n)) {
		return 0, false // ParseFloat would take "Inf", "0x1p3" or "1_0"
	}
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

// MarshalJSON writes the number bare; an empty Number is written as null,
// and a value that was not a number is written back as the JSON text GHL
// sent. Text that is neither is refused, so that no request carries it.
func (n Number) MarshalJSON() ([]byte, error) {
	switch {
	case n == "":
		return []byte("null"), nil
	case validNumber(string(n)), n.sent():
		return []byte(n), nil
	}
	return nil, fmt.Errorf("ghl: marshal %q: %w", string(n), ErrNotANumber)
}

// sent reports whether n is the JSON text of a value that is not a number,
// as UnmarshalJSON keeps it.
func (n Number) sent() bool {
	s := string(n)
	return s != "" && !validNumber(s) && strings.ContainsRune(`"tfn{[`, rune(s[0])) && json.Valid([]byte(s))
}

// UnmarshalJSON accepts a JSON number, a string holding a number (some GHL
// examples quote their amounts) or null (absent). Anything else is kept as
// the JSON text GHL sent, which Scaled and Round refuse: see Number.
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
		if s = strings.TrimSpace(s); validNumber(s) {
			*n = Number(s)
			return nil
		}
	}
	if !json.Valid(b) {
		return fmt.Errorf("ghl: %s: %w", b, ErrNotANumber)
	}
	// Kept as encoding/json writes it back (compact, <>& escaped), so that
	// a record that is marshalled and read again holds the same text.
	var compact, escaped bytes.Buffer
	_ = json.Compact(&compact, b) // b is valid JSON
	json.HTMLEscape(&escaped, compact.Bytes())
	*n = Number(escaped.String())
	return nil
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
