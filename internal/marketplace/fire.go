package marketplace

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// cursorName is where the firing loop is in each location's change feed.
const cursorName = "marketplace.triggers"

// Run fires the subscriptions until ctx ends: it follows the change feed
// (recording the deliveries its events make) and sends the due
// deliveries. Every process may run it: a pass repeated by another
// process records nothing twice (deliveries are unique per subscription
// and event), and deliveries are leased to one sender at a time.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	prune := time.Now()
	for {
		if _, err := s.Follow(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("marketplace: following the change feed", "error", err)
		}
		if _, err := s.Deliver(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("marketplace: firing triggers", "error", err)
		}
		if time.Since(prune) > time.Hour {
			prune = time.Now()
			if _, err := s.cfg.Store.MarketplaceActionPrune(ctx, time.Now().Add(-repeatWindow)); err != nil && ctx.Err() == nil {
				s.log.Warn("marketplace: pruning custom action answers", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Follow reads the change feed of every location with an active
// subscription, from its cursor, and records a delivery for each
// subscription an event fires. The cursor moves only after the
// deliveries are recorded: a crash in between repeats the pass, whose
// deliveries are recorded already, so nothing is lost nor sent twice.
func (s *Service) Follow(ctx context.Context) (int, error) {
	subs, err := s.cfg.Store.MarketplaceTriggersActive(ctx)
	if err != nil {
		return 0, err
	}
	byLoc := map[string][]rankr.MarketplaceTrigger{}
	var locs []string
	for _, t := range subs {
		if _, ok := byLoc[t.LocationID]; !ok {
			locs = append(locs, t.LocationID)
		}
		byLoc[t.LocationID] = append(byLoc[t.LocationID], t)
	}
	total := 0
	var errs []error
	for _, loc := range locs {
		n, err := s.followLocation(ctx, loc, byLoc[loc])
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("location %s: %w", loc, err))
		}
	}
	return total, errors.Join(errs...)
}

func (s *Service) followLocation(ctx context.Context, loc string, subs []rankr.MarketplaceTrigger) (int, error) {
	// Events up to the oldest subscription's start fire none of them.
	after := subs[0].FromSeq
	for _, t := range subs[1:] {
		after = min(after, t.FromSeq)
	}
	cur, err := s.cfg.Store.CursorGet(ctx, loc, cursorName)
	switch {
	case err == nil:
		v, perr := strconv.ParseInt(string(cur.Value), 10, 64)
		if perr != nil {
			return 0, fmt.Errorf("checkpoint %s is %q: %w", cursorName, cur.Value, perr)
		}
		after = max(after, v)
	case !errors.Is(err, rankr.ErrNotFound):
		return 0, err
	}
	const page = 200
	total := 0
	for {
		evs, err := s.cfg.Store.EventList(ctx, store.EventListParams{LocationID: loc, AfterSeq: after, Limit: page})
		if err != nil {
			return total, err
		}
		if len(evs) == 0 {
			return total, nil
		}
		var ds []rankr.MarketplaceDelivery
		for _, ev := range evs {
			ds = append(ds, s.deliveriesFor(ctx, ev, subs)...)
		}
		if len(ds) > 0 {
			n, err := s.cfg.Store.MarketplaceDeliveriesRecord(ctx, ds)
			if err != nil {
				return total, err
			}
			total += n
		}
		after = evs[len(evs)-1].Seq
		if err := s.cfg.Store.CursorPut(ctx, rankr.Cursor{LocationID: loc, Name: cursorName,
			Value: []byte(strconv.FormatInt(after, 10)), UpdatedAt: time.Now()}); err != nil {
			return total, err
		}
		if len(evs) < page {
			return total, nil
		}
	}
}

// deliveriesFor are the deliveries one event makes: one per active
// subscription to a trigger it fires that is younger than the event.
func (s *Service) deliveriesFor(ctx context.Context, ev rankr.Event, subs []rankr.MarketplaceTrigger) []rankr.MarketplaceDelivery {
	keys := rankr.Triggers(ev)
	if len(keys) == 0 {
		return nil
	}
	var hit []rankr.MarketplaceTrigger
	for _, t := range subs {
		if ev.Seq > t.FromSeq && containsKey(keys, t.CatalogKey) {
			hit = append(hit, t)
		}
	}
	if len(hit) == 0 {
		return nil
	}
	firings, err := s.cfg.App.TriggerFirings(ctx, ev)
	if err != nil {
		// A payload that cannot be made now never will be (its record is
		// unreadable): skipped, said, not retried for ever.
		s.log.Error("marketplace: an event fires a subscribed trigger but its payload cannot be made; skipped",
			"location", ev.LocationID, "seq", ev.Seq, "error", err)
		return nil
	}
	var out []rankr.MarketplaceDelivery
	for _, t := range hit {
		for _, f := range firings {
			if f.Key == t.CatalogKey {
				out = append(out, rankr.MarketplaceDelivery{TriggerID: t.TriggerID, EventSeq: ev.Seq, LocationID: ev.LocationID,
					TriggerKey: t.CatalogKey, Payload: f.Payload})
			}
		}
	}
	return out
}

func containsKey(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// Deliver sends the due deliveries, a few at a time, each through its
// location's GHL client (its token, its rate budget). It returns how many
// it sent.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	ds, err := s.cfg.Store.MarketplaceDeliveryClaim(ctx, 20, 2*time.Minute)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, d := range ds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.deliver(ctx, d)
		}()
	}
	wg.Wait()
	return len(ds), nil
}

func (s *Service) deliver(ctx context.Context, d rankr.MarketplaceDelivery) {
	fin := func(state string, status int, msg string, retry time.Duration) {
		if err := s.cfg.Store.MarketplaceDeliveryFinish(context.WithoutCancel(ctx), store.MarketplaceDeliveryFinishParams{
			ID: d.ID, Lease: d.Lease, State: state, Status: status, Error: msg, Retry: retry}); err != nil {
			s.log.Warn("marketplace: recording a delivery", "delivery", d.ID, "error", err)
		}
	}
	conn, err := s.cfg.Store.ConnectionGet(ctx, d.LocationID)
	if err != nil {
		fin(rankr.MarketplacePending, 0, "reading the connection: "+err.Error(), s.backoff(d.Attempts))
		return
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Minute-10*time.Second) // within the lease
	defer cancel()
	err = s.cfg.Clients(conn).ExecuteWorkflowTrigger(actx, d.LocationID, d.TargetURL, d.Payload)
	if err == nil {
		fin(rankr.MarketplaceDelivered, http.StatusOK, "", 0)
		return
	}
	var gerr *ghl.Error
	status := 0
	if errors.As(err, &gerr) {
		status = gerr.StatusCode
	}
	switch {
	case status == http.StatusNotFound || status == http.StatusGone ||
		(gerr != nil && strings.Contains(strings.ToLower(gerr.Message), "inactive")):
		// GHL says no workflow uses the trigger any more: no firing of it
		// will ever be taken.
		s.deactivate(ctx, d, err)
		fin(rankr.MarketplaceDeactivated, status, err.Error(), 0)
	case ctx.Err() != nil:
		fin(rankr.MarketplacePending, status, "stopped: "+err.Error(), 0)
	case gerr != nil && gerr.OutcomeUnknown:
		// GHL may have run the workflow: sending it again could run it twice.
		fin(rankr.MarketplaceFailed, status, err.Error(), 0)
	case status == http.StatusTooManyRequests || status == 0:
		if d.Attempts >= s.cfg.MaxAttempts {
			fin(rankr.MarketplaceFailed, status, fmt.Sprintf("gave up after %d attempts: %v", d.Attempts, err), 0)
			return
		}
		fin(rankr.MarketplacePending, status, err.Error(), s.backoff(d.Attempts))
	default:
		s.log.Warn("marketplace: GHL refused a trigger firing", "delivery", d.ID, "trigger", d.TriggerID, "status", status, "error", err)
		fin(rankr.MarketplaceFailed, status, err.Error(), 0)
	}
}

func (s *Service) backoff(attempts int) time.Duration {
	d := s.cfg.BaseDelay << min(max(attempts-1, 0), 16)
	return min(d, 10*time.Minute)
}

func (s *Service) deactivate(ctx context.Context, d rankr.MarketplaceDelivery, cause error) {
	reason := "GHL answered a firing: " + cause.Error()
	audit := &rankr.AuditEntry{At: time.Now(), Actor: rankr.AuditActor{Type: rankr.ActorSystem, ID: "rankr"},
		Action: "marketplace.trigger_deactivated", Outcome: rankr.AuditSuccess, Code: truncate(cause.Error(), 300),
		Target: rankr.AuditTarget{Type: "marketplace_trigger", ID: d.TriggerID, LocationID: d.LocationID}}
	if _, changed, err := s.cfg.Store.MarketplaceTriggerDeactivate(context.WithoutCancel(ctx), d.TriggerID, reason, audit); err != nil {
		s.log.Error("marketplace: deactivating a trigger GHL says is inactive", "trigger", d.TriggerID, "error", err)
	} else if changed {
		s.log.Warn("marketplace: GHL says a subscribed trigger is inactive; deactivated", "trigger", d.TriggerID,
			"location", d.LocationID, "error", cause)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
