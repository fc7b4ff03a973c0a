package cli

// Spans and moments, as the flags take them.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseSpan reads a span of time: a number of days (3d) or a Go duration
// (36h, 90m).
func parseSpan(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		// Beyond about 292 years, days*24h wraps around to a negative span.
		if err != nil || days < 0 || days > math.MaxInt64/int(24*time.Hour) {
			return 0, fmt.Errorf("%q: want a number of days (3d) or a duration (36h)", v)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a number of days (3d) or a duration (36h)", v)
	}
	return d, nil
}

// parseSince reads --since: a span back from now (30d, 2h) or a moment
// (2026-05-01, 2026-05-01T12:00:00Z); empty is no limit.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := parseSpan(v); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.DateOnly, time.RFC3339, "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: want a span (30d, 12h, 30m) or a time (2026-05-01, 2026-05-01T12:00:00Z)", v)
}
