package ghl

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Limits is a rate budget: Burst requests per Interval, and Daily requests
// per day. GHL grants each app 100 requests per 10 s and 200,000 per day for
// every location separately.
type Limits struct {
	Burst    int
	Interval time.Duration
	Daily    int
	// Margin is added to Interval before a request stops counting against
	// the burst, for clock granularity. Zero means 1% of Interval. (Network
	// latency needs no margin: see Ticket.Done.)
	Margin time.Duration
}

// DefaultLimits are GHL's published limits.
var DefaultLimits = Limits{Burst: 100, Interval: 10 * time.Second, Daily: 200_000}

// Priority orders the requests waiting for one location's budget: when a slot
// frees, the highest priority waiter takes it, first come first served within
// a priority.
type Priority int

// Priorities, lowest first.
const (
	PriorityLow    Priority = iota // bulk work such as a backfill
	PriorityNormal                 // the default: routine polling
	PriorityHigh                   // targeted refreshes someone is waiting on
	PriorityUrgent                 // writes such as fulfillment pushes
	numPriorities
)

func (p Priority) String() string {
	switch p {
	case PriorityLow:
		return "low"
	case PriorityNormal:
		return "normal"
	case PriorityHigh:
		return "high"
	case PriorityUrgent:
		return "urgent"
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

type priorityKey struct{}

// WithPriority returns a context whose requests wait in priority p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFrom returns the priority set by WithPriority, or PriorityNormal.
func PriorityFrom(ctx context.Context) Priority {
	if p, ok := ctx.Value(priorityKey{}).(Priority); ok && p >= 0 && p < numPriorities {
		return p
	}
	return PriorityNormal
}

// Budget is a snapshot of one location's rate budget.
type Budget struct {
	Burst          int           // requests allowed per Interval
	Interval       time.Duration //
	InWindow       int           // requests counted in the current window
	DailyLimit     int           //
	DailyRemaining int           //
	Waiting        int           // requests queued for a slot
	Throttled      int64         // 429 answers seen so far
}

// Governor paces requests per location so that none is refused for rate. It
// starts from its configured Limits and then follows the X-RateLimit-* headers
// of each response, so it adapts to the limits GHL actually grants and to
// other clients spending the same budget. Share one Governor between every
// Client that acts for the same app, so that a location has one budget.
type Governor struct {
	limits Limits
	now    func() time.Time

	mu    sync.Mutex
	lanes map[string]*lane
}

// NewGovernor returns a Governor starting from limits; zero fields take
// DefaultLimits' values.
func NewGovernor(limits Limits) *Governor {
	if limits.Burst <= 0 {
		limits.Burst = DefaultLimits.Burst
	}
	if limits.Interval <= 0 {
		limits.Interval = DefaultLimits.Interval
	}
	if limits.Daily <= 0 {
		limits.Daily = DefaultLimits.Daily
	}
	return &Governor{limits: limits, now: time.Now, lanes: map[string]*lane{}}
}

func (g *Governor) lane(locationID string) *lane {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.lanes[locationID]
	if !ok {
		l = newLane(g.limits, g.now)
		g.lanes[locationID] = l
	}
	return l
}

// Ticket is a granted slot; hand it back to Done when the answer arrives.
type Ticket struct {
	lane *lane
	done *atomic.Bool
}

// Wait blocks until the location's budget has room for one request, in the
// priority carried by ctx. It fails at once when the daily budget is spent,
// with an error matching ErrRateLimited that says when it resets.
func (g *Governor) Wait(ctx context.Context, locationID string) (Ticket, error) {
	l := g.lane(locationID)
	if err := l.acquire(ctx, PriorityFrom(ctx)); err != nil {
		return Ticket{}, err
	}
	return Ticket{lane: l, done: new(atomic.Bool)}, nil
}

// Done reports how the request went: its status and headers (zero and nil
// when no answer came back). Call it once per granted ticket; later calls
// are ignored.
//
// A request holds its slot while it is in flight and then for a full
// interval after its answer: GHL counted it when it arrived, which was no
// later than the answer, so the slot cannot free before GHL's does, however
// slow the network was.
func (t Ticket) Done(status int, h http.Header) {
	if t.lane != nil && t.done.CompareAndSwap(false, true) {
		t.lane.done(status, h)
	}
}

// Budget returns a snapshot of the location's budget.
func (g *Governor) Budget(locationID string) Budget {
	return g.lane(locationID).budget()
}

// lane is one location's budget and its queue of waiters.
type lane struct {
	now    func() time.Time
	margin time.Duration // fixed margin; zero means 1% of the interval

	mu          sync.Mutex
	win         window
	daily       int
	dailyLeft   int
	dailyAt     time.Time // when the daily budget resets
	throttled   int64
	inflight    int       // granted requests not answered yet
	strikes     int       // 429s in a row
	pausedUntil time.Time // no request before this, after a 429
	waiters     [numPriorities][]*waiter
	timer       *time.Timer
	timerAt     time.Time
}

type waiter struct {
	ready   chan struct{}
	granted bool
	err     error // set instead of granted when the daily budget ran out
}

func newLane(l Limits, now func() time.Time) *lane {
	n := now()
	return &lane{
		now:       now,
		margin:    l.Margin,
		win:       newWindow(l.Burst, l.Interval, marginFor(l.Margin, l.Interval)),
		daily:     l.Daily,
		dailyLeft: l.Daily,
		dailyAt:   nextUTCMidnight(n),
	}
}

func marginFor(fixed, interval time.Duration) time.Duration {
	if fixed > 0 {
		return fixed
	}
	return interval / 100
}

func nextUTCMidnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// acquire takes a slot.
func (l *lane) acquire(ctx context.Context, p Priority) error {
	l.mu.Lock()
	now := l.now()
	if err := l.dailyCheck(now); err != nil {
		l.mu.Unlock()
		return err
	}
	if !l.queuedAtOrAbove(p) && l.take(now) {
		l.mu.Unlock()
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok {
		// No slot can free before this: waiting for one that would come
		// after the caller's deadline only holds the caller up.
		at := l.win.nextFree(now)
		if at.Before(l.pausedUntil) {
			at = l.pausedUntil
		}
		if at.After(deadline) {
			l.mu.Unlock()
			return fmt.Errorf("ghl: the rate budget has no slot for %s, past the deadline: %w", at.Sub(now).Round(time.Millisecond),
				context.DeadlineExceeded)
		}
	}
	w := &waiter{ready: make(chan struct{})}
	l.waiters[p] = append(l.waiters[p], w)
	l.arm(now)
	l.mu.Unlock()

	select {
	case <-w.ready:
		return w.err
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if w.granted {
			// The slot is spent either way; let the request use it.
			return nil
		}
		l.remove(p, w)
		return ctx.Err()
	}
}

// take grants a slot if the budget has room now: requests in flight count,
// and so do answered ones for an interval after their answer. Call with mu
// held.
func (l *lane) take(now time.Time) bool {
	if now.Before(l.pausedUntil) || l.win.used(now)+l.inflight >= l.win.max {
		return false
	}
	l.inflight++
	l.dailyLeft--
	return true
}

func (l *lane) dailyCheck(now time.Time) error {
	if !now.Before(l.dailyAt) {
		l.dailyLeft = l.daily
		l.dailyAt = nextUTCMidnight(now)
	}
	if l.dailyLeft <= 0 {
		return fmt.Errorf("daily budget of %d requests spent, it resets in %s: %w",
			l.daily, l.dailyAt.Sub(now).Round(time.Second), ErrRateLimited)
	}
	return nil
}

func (l *lane) queuedAtOrAbove(p Priority) bool {
	for q := p; q < numPriorities; q++ {
		if len(l.waiters[q]) > 0 {
			return true
		}
	}
	return false
}

func (l *lane) remove(p Priority, w *waiter) {
	q := l.waiters[p]
	for i := range q {
		if q[i] == w {
			l.waiters[p] = append(q[:i:i], q[i+1:]...)
			return
		}
	}
}

// wake re-arms the timer when requests wait, since what they wait for may
// have changed. Call with mu held.
func (l *lane) wake(now time.Time) {
	if l.queuedAtOrAbove(PriorityLow) {
		l.timerAt = time.Time{}
		l.arm(now)
	}
}

// arm makes sure the timer fires when the next slot frees. Called with mu
// held.
func (l *lane) arm(now time.Time) {
	at := l.win.nextFree(now)
	if at.Before(l.pausedUntil) {
		at = l.pausedUntil
	}
	if l.timer != nil && !l.timerAt.After(at) && l.timerAt.After(now) {
		return // already due no later than needed
	}
	l.timerAt = at
	d := at.Sub(now)
	if l.timer == nil {
		l.timer = time.AfterFunc(d, l.grant)
		return
	}
	l.timer.Reset(d)
}

// grant hands free slots to waiters, highest priority first.
func (l *lane) grant() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for p := numPriorities - 1; p >= 0; p-- {
		for len(l.waiters[p]) > 0 {
			if err := l.dailyCheck(now); err != nil {
				// Nobody should wait hours for tomorrow's budget: every
				// waiter gets the error now.
				l.failAll(err)
				return
			}
			if !l.take(now) {
				l.timerAt = time.Time{}
				l.arm(now)
				return
			}
			w := l.waiters[p][0]
			l.waiters[p] = l.waiters[p][1:]
			w.granted = true
			close(w.ready)
		}
	}
}

func (l *lane) failAll(err error) {
	for p := range l.waiters {
		for _, w := range l.waiters[p] {
			w.err = err
			close(w.ready)
		}
		l.waiters[p] = nil
	}
}

func (l *lane) done(status int, h http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.inflight--
	l.win.add(now, 1)
	// Waiters may be waiting on what the headers say (a larger limit).
	defer l.wake(now)
	max, okMax := headerInt(h, "X-RateLimit-Max")
	intervalMS, okInterval := headerInt(h, "X-RateLimit-Interval-Milliseconds")
	// An interval beyond a day is no rate limit GHL grants; trusting one
	// would overflow the window's arithmetic (a header of 9223372036855 ms
	// asked for a 146 TB bucket array).
	if okMax && okInterval && max > 0 && intervalMS > 0 && intervalMS <= int(24*time.Hour/time.Millisecond) {
		interval := time.Duration(intervalMS) * time.Millisecond
		if max != l.win.max || interval != l.win.interval {
			l.win.reshape(max, interval, marginFor(l.margin, interval), now)
		}
	}
	if remaining, ok := headerInt(h, "X-RateLimit-Remaining"); ok && okMax {
		// Someone else (another process, another integration of the same
		// app) may be spending this budget: count what GHL counts. When
		// they made those requests is unknown, and GHL keeps counting each
		// for a whole interval after it was made, so they count as made
		// now: assuming them older would free their slots before GHL does,
		// and the request spending such a slot would get a 429.
		if used := l.win.max - remaining; used > l.win.used(now)+l.inflight {
			l.win.add(now, used-l.win.used(now)-l.inflight)
		}
	}
	if limit, ok := headerInt(h, "X-RateLimit-Limit-Daily"); ok && limit > 0 {
		l.daily = limit
	}
	if left, ok := headerInt(h, "X-RateLimit-Daily-Remaining"); ok && left < l.dailyLeft {
		l.dailyLeft = left
	}
	if reset, ok := headerInt(h, "X-RateLimit-Daily-Reset"); ok && reset > 0 {
		// Seen as milliseconds until the reset; accept an epoch in ms too.
		if reset > 1e11 {
			l.dailyAt = time.UnixMilli(int64(reset))
		} else {
			l.dailyAt = now.Add(time.Duration(reset) * time.Millisecond)
		}
	}
	switch {
	case status == http.StatusTooManyRequests:
		// GHL refused although our count had room: pause the location,
		// longer for each refusal in a row, up to a whole interval.
		l.throttled++
		l.strikes++
		pause := min(l.win.interval, (l.win.interval/40)<<min(l.strikes-1, 10))
		if ra := retryAfter(h); ra > pause {
			pause = ra
		}
		if until := now.Add(pause); until.After(l.pausedUntil) {
			l.pausedUntil = until
		}
	case status >= 200 && status < 300:
		l.strikes = 0
	}
}

func headerInt(h http.Header, key string) (int, bool) {
	v := h.Get(key)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil {
			return 0, false
		}
		n = int(f)
	}
	return n, true
}

func (l *lane) budget() Budget {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	waiting := 0
	for p := range l.waiters {
		waiting += len(l.waiters[p])
	}
	_ = l.dailyCheck(now)
	return Budget{
		Burst: l.win.max, Interval: l.win.interval, InWindow: l.win.used(now),
		DailyLimit: l.daily, DailyRemaining: l.dailyLeft, Waiting: waiting, Throttled: l.throttled,
	}
}

// window counts requests over a sliding interval in fixed-width buckets. A
// request counts from its bucket until interval+margin after the end of that
// bucket, which never undercounts and wastes at most one bucket (1%) of the
// budget. Memory does not grow with the limit.
type window struct {
	max      int
	interval time.Duration
	width    time.Duration
	span     int64 // buckets a request stays counted
	buckets  []bucket
	total    int
}

type bucket struct {
	idx   int64
	count int
}

const bucketsPerInterval = 100

func newWindow(max int, interval, margin time.Duration) window {
	width := max64(interval/bucketsPerInterval, time.Millisecond)
	span := int64((interval+margin)/width) + 2
	return window{max: max, interval: interval, width: width, span: span, buckets: make([]bucket, span)}
}

func max64(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// reshape adopts new limits, keeping what was counted as counted now.
func (w *window) reshape(max int, interval, margin time.Duration, now time.Time) {
	used := w.used(now)
	*w = newWindow(max, interval, margin)
	w.add(now, used)
}

func (w *window) index(t time.Time) int64 { return t.UnixNano() / int64(w.width) }

// expire drops buckets that no longer count at now.
func (w *window) expire(now time.Time) {
	cur := w.index(now)
	for i := range w.buckets {
		b := &w.buckets[i]
		if b.count > 0 && b.idx <= cur-w.span {
			w.total -= b.count
			b.count = 0
		}
	}
}

func (w *window) used(now time.Time) int {
	w.expire(now)
	return w.total
}

func (w *window) add(now time.Time, n int) {
	if n <= 0 {
		return
	}
	cur := w.index(now)
	b := &w.buckets[cur%w.span]
	if b.idx != cur {
		w.total -= b.count
		*b = bucket{idx: cur}
	}
	b.count += n
	w.total += n
}

// nextFree is the earliest time the oldest counted request stops counting.
func (w *window) nextFree(now time.Time) time.Time {
	if w.used(now) < w.max {
		return now
	}
	oldest := int64(-1)
	for _, b := range w.buckets {
		if b.count > 0 && (oldest < 0 || b.idx < oldest) {
			oldest = b.idx
		}
	}
	return time.Unix(0, (oldest+w.span)*int64(w.width))
}
