package ghl

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/testwait"
)

func TestWindowCountsAndFrees(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newWindow(3, time.Second, 20*time.Millisecond)
	for i := range 3 {
		w.add(start.Add(time.Duration(i)*time.Millisecond), 1)
	}
	if got := w.used(start.Add(5 * time.Millisecond)); got != 3 {
		t.Fatalf("used = %d, want 3", got)
	}
	free := w.nextFree(start.Add(5 * time.Millisecond))
	// Never earlier than interval+margin after the oldest request.
	if earliest := start.Add(time.Second + 20*time.Millisecond); free.Before(earliest) {
		t.Fatalf("slot frees at %v, before %v", free, earliest)
	}
	if w.used(free.Add(-time.Millisecond)) != 3 {
		t.Fatal("a slot freed before nextFree")
	}
	if w.used(free) >= 3 {
		t.Fatal("no slot freed at nextFree")
	}
}

func TestWindowReshapeKeepsCount(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newWindow(100, 10*time.Second, 0)
	w.add(now, 40)
	w.reshape(50, time.Second, 0, now)
	if got := w.used(now); got != 40 {
		t.Fatalf("after reshape used = %d, want 40", got)
	}
	if got := w.used(now.Add(2 * time.Second)); got != 0 {
		t.Fatalf("after the new interval used = %d, want 0", got)
	}
}

func TestGovernorGrantsByPriority(t *testing.T) {
	t.Parallel()
	g := NewGovernor(Limits{Burst: 1, Interval: 300 * time.Millisecond})
	ctx := context.Background()
	first, err := g.Wait(ctx, "L")
	if err != nil {
		t.Fatal(err)
	}
	first.Done(http.StatusOK, nil)
	var mu sync.Mutex
	var order []Priority
	var wg sync.WaitGroup
	for i, p := range []Priority{PriorityLow, PriorityNormal, PriorityUrgent, PriorityHigh} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ticket, err := g.Wait(WithPriority(ctx, p), "L")
			if err != nil {
				t.Error(err)
				return
			}
			defer ticket.Done(http.StatusOK, nil)
			mu.Lock()
			order = append(order, p)
			mu.Unlock()
		}()
		// Queue them one by one, so that arrival order differs from priority.
		testwait.Until(t, 10*time.Second, "the request queued", func() bool { return g.Budget("L").Waiting == i+1 })
	}
	wg.Wait()
	want := []Priority{PriorityUrgent, PriorityHigh, PriorityNormal, PriorityLow}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("granted in order %v, want %v", order, want)
		}
	}
}

func TestGovernorLocationsDoNotShare(t *testing.T) {
	t.Parallel()
	g := NewGovernor(Limits{Burst: 2, Interval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	for _, loc := range []string{"A", "A", "B", "B"} {
		if _, err := g.Wait(ctx, loc); err != nil {
			t.Fatalf("location %s: %v", loc, err)
		}
	}
	if _, err := g.Wait(ctx, "A"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third request on A: got %v, want to wait until the deadline", err)
	}
	if w := g.Budget("A").Waiting; w != 0 {
		t.Fatalf("a cancelled waiter stayed queued (%d waiting)", w)
	}
}

func TestGovernorFollowsHeaders(t *testing.T) {
	t.Parallel()
	g := NewGovernor(DefaultLimits)
	ticket, err := g.Wait(context.Background(), "L")
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("X-RateLimit-Max", "5")
	h.Set("X-RateLimit-Interval-Milliseconds", "1000")
	h.Set("X-RateLimit-Remaining", "1") // someone else spent four
	h.Set("X-RateLimit-Limit-Daily", "1000")
	h.Set("X-RateLimit-Daily-Remaining", "900")
	ticket.Done(http.StatusOK, h)
	b := g.Budget("L")
	if b.Burst != 5 || b.Interval != time.Second || b.InWindow != 4 || b.DailyLimit != 1000 || b.DailyRemaining != 900 {
		t.Fatalf("budget after headers = %+v", b)
	}

	second, err := g.Wait(context.Background(), "L")
	if err != nil {
		t.Fatal(err)
	}
	h.Set("X-RateLimit-Daily-Remaining", "0")
	h.Set("X-RateLimit-Daily-Reset", "3600000")
	second.Done(http.StatusTooManyRequests, h)
	_, err = g.Wait(context.Background(), "L")
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("with the daily budget spent Wait = %v, want ErrRateLimited at once", err)
	}
	if b := g.Budget("L"); b.Throttled != 1 {
		t.Fatalf("throttled = %d, want 1", b.Throttled)
	}
}

func TestSlotsAreHeldFromGrantUntilAnIntervalAfterTheAnswer(t *testing.T) {
	t.Parallel()
	g := NewGovernor(Limits{Burst: 1, Interval: time.Hour})
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return clock }
	ticket, err := g.Wait(context.Background(), "L")
	if err != nil {
		t.Fatal(err)
	}
	l := g.lane("L")
	room := func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.win.used(clock)+l.inflight < l.win.max
	}
	// Two hours in flight: GHL may count it whenever it arrives.
	clock = clock.Add(2 * time.Hour)
	if room() {
		t.Fatal("a request in flight freed its slot")
	}
	ticket.Done(http.StatusOK, nil)
	ticket.Done(http.StatusOK, nil) // twice: ignored
	clock = clock.Add(59 * time.Minute)
	if room() {
		t.Fatal("the slot freed less than an interval after the answer")
	}
	clock = clock.Add(4 * time.Minute) // margin and bucket width
	if !room() {
		t.Fatal("the slot did not free an interval after the answer")
	}
}

// Requests others made count until a whole interval after GHL reported
// them: GHL may have counted them just before it answered.
func TestOthersRequestsCountForAWholeInterval(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	l := newLane(Limits{Burst: 100, Interval: 10 * time.Second, Daily: 1000}, func() time.Time { return now })
	l.mu.Lock()
	l.inflight++ // as Wait does
	l.mu.Unlock()
	h := http.Header{}
	h.Set("X-RateLimit-Max", "100")
	h.Set("X-RateLimit-Interval-Milliseconds", "10000")
	h.Set("X-RateLimit-Remaining", "94") // ours and five of someone else's
	l.done(http.StatusOK, h)
	for _, after := range []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second, 9900 * time.Millisecond} {
		now = start.Add(after)
		l.mu.Lock()
		used := l.win.used(now)
		l.mu.Unlock()
		if used != 6 {
			t.Fatalf("%v after the answer %d requests count, want 6", after, used)
		}
	}
	now = start.Add(11 * time.Second)
	l.mu.Lock()
	defer l.mu.Unlock()
	if used := l.win.used(now); used != 0 {
		t.Fatalf("an interval later %d requests count, want 0", used)
	}
}
