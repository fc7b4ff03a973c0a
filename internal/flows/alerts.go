package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// alertCursor is where the alerter is in each location's change feed.
const alertCursor = "alerts.email"

// Alerter queues an email alert to each operator address for every
// exception that reconciliation opens: once per exception and address,
// through the notice outbox (which sends each exactly once).
//
// The exception_opened events are its source, read from each location's
// change feed after its own checkpoint. A notice's dedupe key names the
// exception and the address, so that reading an event again (after a
// crash between queueing and moving the checkpoint) queues nothing new.
// The first run for a location starts from the end of its feed: switching
// alerts on does not mail about every exception of the past. (Positions in
// the feed, not clocks, decide: processes' clocks differ, and an event's
// time is taken before its transaction commits.)
type Alerter struct {
	store store.Store
	to    []string
	log   *slog.Logger
	now   func() time.Time
}

// NewAlerter returns an alerter mailing the given addresses; with none it
// does nothing.
func NewAlerter(st store.Store, to []string, log *slog.Logger) *Alerter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Alerter{store: st, to: to, log: log, now: time.Now}
}

// Enabled reports whether the alerter has anyone to tell.
func (a *Alerter) Enabled() bool { return a != nil && len(a.to) > 0 }

// Queue reads every location's new events and queues the alerts they call
// for. It returns how many notices it queued.
func (a *Alerter) Queue(ctx context.Context) (int, error) {
	if !a.Enabled() {
		return 0, nil
	}
	conns, err := a.store.ConnectionList(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, c := range conns {
		n, err := a.queueLocation(ctx, c)
		total += n
		if err != nil {
			return total, fmt.Errorf("alerts for %s: %w", c.LocationID, err)
		}
	}
	return total, nil
}

func (a *Alerter) queueLocation(ctx context.Context, c rankr.Connection) (int, error) {
	cur, err := a.store.CursorGet(ctx, c.LocationID, alertCursor)
	if errors.Is(err, rankr.ErrNotFound) {
		last, err := a.store.EventList(ctx, store.EventListParams{LocationID: c.LocationID, Limit: 1, Newest: true})
		if err != nil {
			return 0, err
		}
		cur = rankr.Cursor{LocationID: c.LocationID, Name: alertCursor, Value: []byte("0"), UpdatedAt: a.now()}
		if len(last) > 0 {
			cur.Value = strconv.AppendInt(nil, last[0].Seq, 10)
		}
		return 0, a.store.CursorPut(ctx, cur)
	}
	if err != nil {
		return 0, err
	}
	after, err := strconv.ParseInt(string(cur.Value), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("checkpoint %s is %q: %w", alertCursor, cur.Value, err)
	}
	queued := 0
	for {
		evs, err := a.store.EventList(ctx, store.EventListParams{LocationID: c.LocationID, AfterSeq: after, Limit: 500})
		if err != nil || len(evs) == 0 {
			return queued, err
		}
		for _, e := range evs {
			if e.Kind != rankr.ExceptionOpened {
				continue
			}
			n, err := a.queueAlert(ctx, c, e)
			queued += n
			if err != nil {
				return queued, err
			}
		}
		after = evs[len(evs)-1].Seq
		cur.Value, cur.UpdatedAt = strconv.AppendInt(nil, after, 10), a.now()
		if err := a.store.CursorPut(ctx, cur); err != nil {
			return queued, err
		}
	}
}

func (a *Alerter) queueAlert(ctx context.Context, c rankr.Connection, e rankr.Event) (int, error) {
	var ex rankr.ExceptionEvent
	if err := json.Unmarshal(e.Data, &ex); err != nil {
		// Not ours to fix, and not worth stopping every later alert for.
		a.log.Error("alert: an exception event that does not decode", "seq", e.Seq, "error", err)
		return 0, nil
	}
	payload, err := json.Marshal(rankr.AlertNotice{Location: c.Name, ExceptionEvent: ex})
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, to := range a.to {
		key := fmt.Sprintf("%s/%d/%s", c.LocationID, ex.ExceptionID, to)
		n := rankr.Notice{ID: rankr.NoticeID(rankr.NoticeAlert, key), LocationID: c.LocationID, Kind: rankr.NoticeAlert,
			DedupeKey: key, Recipient: to, Payload: payload, State: rankr.NoticePending} // due at once, by the database's clock
		created, err := a.store.NoticeCreate(ctx, n)
		if err != nil {
			return queued, err
		}
		if created {
			queued++
			a.log.Info("alert queued", "exception", ex.ExceptionID, "kind", ex.Kind, "record", ex.RecordID, "to", to)
		}
	}
	return queued, nil
}
