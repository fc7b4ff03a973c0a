package ghl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// TimeLayout is how GHL writes instants: UTC with exactly three fractional
// digits, as in 2023-11-20T10:23:36.515Z.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// DateLayout is how GHL's list filters (startAt, endAt) take a day.
const DateLayout = "2006-01-02"

// Time is an instant on the wire. It marshals in GHL's layout and unmarshals
// any RFC 3339 variant, a bare date, an empty string or null (the last two as
// the zero Time). Fields of type Time use omitzero, so a zero Time is absent.
type Time struct{ time.Time }

// NewTime returns t as a Time truncated to GHL's millisecond precision.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// MarshalJSON writes the instant in UTC with millisecond precision, or null.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON parses the instant leniently; see Time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("ghl: time %s: %w", b, err)
	}
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = parsed
	return nil
}

// ParseTime parses a GHL timestamp; see Time for what it accepts.
func ParseTime(s string) (Time, error) {
	if s == "" {
		return Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", DateLayout} {
		if v, err := time.Parse(layout, s); err == nil {
			// An offset can carry 0000-01-01 or 9999-12-31 out of the
			// years RFC 3339 can write in UTC, and then the instant could
			// not be written back.
			if y := v.UTC().Year(); y < 0 || y > 9999 {
				return Time{}, fmt.Errorf("ghl: %q is out of range", s)
			}
			return Time{v.UTC()}, nil
		}
	}
	return Time{}, fmt.Errorf("ghl: %q is not a timestamp", s)
}
