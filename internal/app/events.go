package app

import (
	"context"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// EventQuery reads the change feed.
type EventQuery struct {
	// After is the position to read from: the events after it, oldest
	// first. With Newest and no After, the newest events (where a live view
	// starts).
	After    int64
	Location string
	Newest   bool
	Limit    int
}

// EventPage is a page of the change feed; Next is the position to read
// from next (the last event's seq, or After when nothing is new).
type EventPage struct {
	Items []rankr.Event `json:"items"`
	Next  int64         `json:"next"`
}

// Events reads the change feed.
func (a *App) Events(ctx context.Context, c Caller, q EventQuery) (EventPage, error) {
	if err := c.location(q.Location); err != nil {
		return EventPage{}, err
	}
	switch {
	case q.After < 0:
		return EventPage{}, fieldErr("after", "want the seq of the last event seen, not %d", q.After)
	case q.Limit < 0 || q.Limit > MaxLimit:
		return EventPage{}, fieldErr("limit", "want 1 to %d, not %d", MaxLimit, q.Limit)
	}
	evs, err := a.d.Store.EventList(ctx, store.EventListParams{AfterSeq: q.After, LocationID: q.Location, Locations: c.Locations,
		Limit: q.Limit, Newest: q.Newest && q.After == 0})
	if err != nil {
		return EventPage{}, err
	}
	p := EventPage{Items: evs, Next: q.After}
	if p.Items == nil {
		p.Items = []rankr.Event{}
	}
	if n := len(evs); n > 0 {
		p.Next = evs[n-1].Seq
	}
	return p, nil
}

// Feed hands the change feed to live views (the dashboard's Server-Sent
// Events): one reader per process polls the store for what is new and
// passes it to every subscriber, so that an open tab costs a write per
// event, not a query per poll, however many tabs are open and however much
// is stored.
type Feed struct {
	store store.Store
	every time.Duration

	mu   sync.Mutex
	subs map[*Live]struct{}
	last int64 // the newest seq handed out
	run  bool  // the reader is running
}

// Live is a live view's share of the feed: first Backlog (the
// events it missed, read from the store), then C until it is closed. An
// event at or before one already sent is skipped by the reader of C.
type Live struct {
	Backlog []rankr.Event
	C       chan rankr.Event
	feed    *Feed
	sees    func(string) bool
	loc     string
	lost    bool // the subscriber fell behind: events were not delivered
	close   sync.Once
}

// NewFeed returns a feed polling st every poll (default 250 ms) while it
// has subscribers.
func NewFeed(st store.Store, poll time.Duration) *Feed {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	return &Feed{store: st, every: poll, subs: map[*Live]struct{}{}}
}

// subBuffer is how many events a subscriber may lag before it is dropped
// (its stream ends and the browser resumes from its last event id).
const subBuffer = 1024

// Subscribe starts a subscription for the caller (and one location, when
// loc is set) from after: the events after it are read from the store
// first, then the live ones follow, each once, in order.
func (a *App) Subscribe(ctx context.Context, c Caller, loc string, after int64) (*Live, error) {
	if err := c.location(loc); err != nil {
		return nil, err
	}
	if after < 0 {
		return nil, fieldErr("Last-Event-ID", "want the seq of the last event seen")
	}
	f := a.feed()
	s := &Live{C: make(chan rankr.Event, subBuffer), feed: f, sees: c.Sees, loc: loc}
	start, err := f.join(ctx, s)
	if err != nil {
		return nil, err
	}
	// Catch up from the store to where the live events start; the
	// subscriber skips anything at or before what it has.
	for after < start {
		evs, err := f.store.EventList(ctx, store.EventListParams{AfterSeq: after, LocationID: loc, Locations: c.Locations, Limit: MaxLimit})
		if err != nil {
			s.Close()
			return nil, err
		}
		for _, e := range evs {
			if e.Seq > start {
				break
			}
			after = e.Seq
			s.Backlog = append(s.Backlog, e)
		}
		if len(evs) < MaxLimit {
			break
		}
	}
	return s, nil
}

func (a *App) feed() *Feed {
	a.feedOnce.Do(func() { a.liveFeed = NewFeed(a.d.Store, a.d.FeedPoll) })
	return a.liveFeed
}

// join adds s and returns the seq from which the reader hands it events.
func (f *Feed) join(ctx context.Context, s *Live) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.run {
		// The first subscriber sets the start: the newest event now.
		evs, err := f.store.EventList(ctx, store.EventListParams{Limit: 1, Newest: true})
		if err != nil {
			return 0, err
		}
		f.last = 0
		if len(evs) > 0 {
			f.last = evs[0].Seq
		}
		f.run = true
		go f.read()
	}
	f.subs[s] = struct{}{}
	return f.last, nil
}

// read polls the store while there are subscribers.
func (f *Feed) read() {
	t := time.NewTicker(f.every)
	defer t.Stop()
	for range t.C {
		f.mu.Lock()
		if len(f.subs) == 0 {
			f.run = false
			f.mu.Unlock()
			return
		}
		after := f.last
		f.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		evs, err := f.store.EventList(ctx, store.EventListParams{AfterSeq: after, Limit: MaxLimit})
		cancel()
		if err != nil || len(evs) == 0 {
			continue // the next tick tries again
		}
		f.mu.Lock()
		for _, e := range evs {
			for s := range f.subs {
				if !s.sees(e.LocationID) || s.loc != "" && e.LocationID != s.loc {
					continue
				}
				select {
				case s.C <- e:
				default:
					// Too far behind: end its stream rather than block the
					// others; it resumes from its Last-Event-ID.
					s.lost = true
					delete(f.subs, s)
					close(s.C)
				}
			}
		}
		f.last = evs[len(evs)-1].Seq
		f.mu.Unlock()
	}
}

// Lost reports whether the subscription was ended because its reader fell
// behind (the stream ends; the client resumes from its last event).
func (s *Live) Lost() bool {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	return s.lost
}

// Close ends the subscription.
func (s *Live) Close() {
	s.close.Do(func() {
		s.feed.mu.Lock()
		if _, ok := s.feed.subs[s]; ok {
			delete(s.feed.subs, s)
			close(s.C)
		}
		s.feed.mu.Unlock()
	})
}
