// Package testwait waits, in tests, for a condition that another goroutine
// or process brings about: a delivery landing, a backfill finishing. Tests
// wait on conditions with a deadline instead of sleeping for a guessed time.
//
// It is for tests only: no non-test code imports it (repo_test.go holds the
// rule), and it imports nothing of ours.
package testwait

import (
	"testing"
	"time"
)

// Poll intervals: the first check is retried soon, for conditions that are
// nearly there; then less often, for conditions that are costly to check
// (a query, a command run) on a loaded machine.
const (
	firstPoll = time.Millisecond
	maxPoll   = 100 * time.Millisecond
)

// Until polls cond until it holds, and fails the test, naming what was
// awaited, when timeout passes first. Give slow machines room: the timeout
// is a bound on a failure, not a measure.
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	UntilWhy(t, timeout, what, func() (bool, string) { return cond(), "" })
}

// UntilWhy is Until for a condition that says what it saw when it does not
// hold: the last such report is in the failure.
func UntilWhy(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, why string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	poll := firstPoll
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if why != "" {
				t.Fatalf("%s: not within %s: %s", what, timeout, why)
			}
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(poll)
		poll = min(2*poll, maxPoll)
	}
}
