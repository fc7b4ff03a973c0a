package testwait

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestUntilWaitsForTheCondition(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	go func() {
		for range 5 {
			n.Add(1)
		}
	}()
	Until(t, time.Minute, "five increments", func() bool { return n.Load() == 5 })
	calls := 0
	UntilWhy(t, time.Minute, "the third call", func() (bool, string) {
		calls++
		return calls == 3, fmt.Sprintf("call %d", calls)
	})
}

// recorder is a testing.TB that records a failure instead of ending the
// test, so that the failure itself can be checked.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	// Fatalf must not return to the poll loop.
	panic(r)
}

func TestUntilFailsNamingWhatAndWhy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		wait func(tb testing.TB)
		want string
	}{
		{"Until", func(tb testing.TB) { Until(tb, 10*time.Millisecond, "never", func() bool { return false }) }, "never: not within 10ms"},
		{"UntilWhy", func(tb testing.TB) {
			UntilWhy(tb, 10*time.Millisecond, "never", func() (bool, string) { return false, "still 0" })
		}, "never: not within 10ms: still 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{TB: t}
			func() {
				defer func() {
					if p := recover(); p != nil && p != r {
						panic(p)
					}
				}()
				tt.wait(r)
			}()
			if !strings.Contains(r.failed, tt.want) {
				t.Fatalf("failure %q, want %q", r.failed, tt.want)
			}
		})
	}
}
