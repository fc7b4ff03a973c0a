package sandbox

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter enforces GHL's per-location budget: at most Burst requests in any
// Interval (a sliding log of accepted requests), and Daily requests per UTC
// day. Refused requests do not count.
type limiter struct {
	mu        sync.Mutex
	log       []time.Time // accepted requests, oldest first, from head on
	head      int
	day       time.Time // the UTC day dailyUsed counts
	dailyUsed int
	// peak is the most requests ever counted in one interval, refused the
	// requests refused for the budget: what a test asserts a client stayed
	// within.
	peak, refused int
}

func newLimiter() *limiter { return &limiter{} }

// admit records a request at now if the budget allows it, and sets the
// X-RateLimit-* headers either way. With count false it only sets the
// headers, for a request refused for another reason.
func (l *limiter) admit(lim RateLimit, now time.Time, h http.Header, count bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire(now.Add(-lim.Interval))
	day := now.UTC().Truncate(24 * time.Hour)
	if !day.Equal(l.day) {
		l.day, l.dailyUsed = day, 0
	}
	ok := l.count() < lim.Burst && l.dailyUsed < lim.Daily
	if ok && count {
		l.log = append(l.log, now)
		l.dailyUsed++
		l.peak = max(l.peak, l.count())
	} else if count {
		l.refused++
	}
	h.Set("X-RateLimit-Max", strconv.Itoa(lim.Burst))
	h.Set("X-RateLimit-Interval-Milliseconds", strconv.FormatInt(lim.Interval.Milliseconds(), 10))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(lim.Burst-l.count(), 0)))
	h.Set("X-RateLimit-Limit-Daily", strconv.Itoa(lim.Daily))
	h.Set("X-RateLimit-Daily-Remaining", strconv.Itoa(max(lim.Daily-l.dailyUsed, 0)))
	h.Set("X-RateLimit-Daily-Reset", strconv.FormatInt(day.Add(24*time.Hour).Sub(now).Milliseconds(), 10))
	return ok
}

// usage reports the requests counted in the current interval and today.
func (l *limiter) usage(lim RateLimit, now time.Time) (window, daily int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire(now.Add(-lim.Interval))
	window = l.count()
	if now.UTC().Truncate(24 * time.Hour).Equal(l.day) {
		daily = l.dailyUsed
	}
	return window, daily
}

// expire forgets requests at or before cutoff. The log is compacted only
// when most of it is dead, so each request costs O(1) amortized even when a
// benchmark lifts the limit to millions per interval.
func (l *limiter) expire(cutoff time.Time) {
	for l.head < len(l.log) && !l.log[l.head].After(cutoff) {
		l.head++
	}
	if l.head > 64 && l.head*2 > len(l.log) {
		n := copy(l.log, l.log[l.head:])
		l.log, l.head = l.log[:n], 0
	}
}

func (l *limiter) count() int { return len(l.log) - l.head }

// record reports the peak window and the refusals so far.
func (l *limiter) record() (peak, refused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peak, l.refused
}
