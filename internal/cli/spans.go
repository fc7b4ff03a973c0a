package cli

// Spans and moments, as the flags take them.

import (
	"fmt"
	"time"

	"github.com/rankr/rankr/internal/app"
)

// parseSpan reads a span of time: a number of days (3d) or a Go duration
// (36h, 90m), as the use cases read one.
func parseSpan(v string) (time.Duration, error) { return app.ParseSpan(v) }

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
