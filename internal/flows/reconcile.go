package flows

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Reconciler keeps reconciliation (see rankr.ReconcileOrder for the rules)
// up to date, incrementally: it consumes the change feed from its own
// position, reconciles just the records the events touch (an order, its
// payments, the invoice they pay, a subscription's renewals), and writes the
// differences with the new position in one transaction. A sweep then looks
// again at the records whose grace period has ended (paid but unfulfilled
// after N days, an orphan's grace...), which no event would announce.
//
// Results are computed from data read after the events, and the store
// refuses them if another reconciler applied in between: several processes
// (serve on PostgreSQL, `rankr reconcile run`) may run it at once.
type Reconciler struct {
	store  store.Store
	policy rankr.ReconcilePolicy
	log    *slog.Logger
	// Now returns the current time (default time.Now); tests move it.
	Now func() time.Time
	// Batch is how many change-feed events one step reads (default 500).
	Batch int
	// Slice bounds how long one CatchUp runs before it returns, leaving
	// the rest of the feed for the next run (0: until done), so that a
	// backfill's flood of events does not take the database from the sync
	// (on SQLite, one connection is shared by everything).
	Slice time.Duration
}

// NewReconciler returns a reconciler applying policy.
func NewReconciler(st store.Store, policy rankr.ReconcilePolicy, log *slog.Logger) *Reconciler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{store: st, policy: policy.WithDefaults(), log: log, Now: time.Now, Batch: 500}
}

// Policy returns the settings the reconciler applies.
func (r *Reconciler) Policy() rankr.ReconcilePolicy { return r.policy }

// ReconcileStats counts what a run did.
type ReconcileStats struct {
	Events   int `json:"events"`   // change-feed events consumed
	Records  int `json:"records"`  // records reconciled
	Opened   int `json:"opened"`   // exceptions opened
	Resolved int `json:"resolved"` // exceptions resolved
	Renewals int `json:"renewals"` // renewals recorded
}

func (s *ReconcileStats) add(n int, a store.ReconcileApplied) {
	s.Records += n
	s.Opened += a.Opened
	s.Resolved += a.Resolved
	s.Renewals += a.Renewals
}

// maxConflicts bounds retries after another reconciler applied first.
const maxConflicts = 20

// Run catches up with the change feed, then sweeps.
func (r *Reconciler) Run(ctx context.Context) (ReconcileStats, error) {
	st, err := r.CatchUp(ctx)
	if err != nil {
		return st, err
	}
	sw, err := r.Sweep(ctx)
	st.Records += sw.Records
	st.Opened += sw.Opened
	st.Resolved += sw.Resolved
	st.Renewals += sw.Renewals
	return st, err
}

// scopes collects the records to reconcile, per location.
type scopes map[string]*store.ReconcileLoadParams

func (s scopes) of(loc string) *store.ReconcileLoadParams {
	p, ok := s[loc]
	if !ok {
		p = &store.ReconcileLoadParams{LocationID: loc}
		s[loc] = p
	}
	return p
}

// add puts a record in its location's scope. The feed carries events of
// records reconciliation does not balance (an API key's expiry warning,
// of no location); they make no scope.
func (s scopes) add(loc, recordType, id string) {
	if loc == "" {
		return
	}
	switch recordType {
	case rankr.RecordOrder:
		p := s.of(loc)
		p.Orders = append(p.Orders, id)
	case rankr.RecordInvoice:
		p := s.of(loc)
		p.Invoices = append(p.Invoices, id)
	case rankr.RecordTransaction:
		p := s.of(loc)
		p.Transactions = append(p.Transactions, id)
	case rankr.RecordSubscription:
		p := s.of(loc)
		p.Subscriptions = append(p.Subscriptions, id)
	}
}

// CatchUp reconciles what the change feed says changed since its position,
// until it has consumed the whole feed.
func (r *Reconciler) CatchUp(ctx context.Context) (ReconcileStats, error) {
	var st ReconcileStats
	start := time.Now()
	for conflicts := 0; ; {
		if r.Slice > 0 && time.Since(start) > r.Slice {
			return st, nil
		}
		pos, err := r.store.ReconcilePosition(ctx)
		if err != nil {
			return st, err
		}
		evs, err := r.store.EventList(ctx, store.EventListParams{AfterSeq: pos.Seq, Limit: r.Batch})
		if err != nil {
			return st, err
		}
		if len(evs) == 0 {
			return st, nil
		}
		sc := scopes{}
		for _, e := range evs {
			switch {
			case e.Kind == rankr.SubscriptionInvoiced:
				// Reconciliation's own output.
			case e.RecordType == rankr.RecordFulfillment:
				var d struct {
					OrderID string `json:"orderId"`
				}
				if json.Unmarshal(e.Data, &d) == nil && d.OrderID != "" {
					sc.add(e.LocationID, rankr.RecordOrder, d.OrderID)
				}
			default:
				sc.add(e.LocationID, e.RecordType, e.RecordID)
			}
		}
		err = r.reconcile(ctx, sc, pos, evs[len(evs)-1].Seq, r.Now(), &st)
		if errors.Is(err, rankr.ErrConflict) && conflicts < maxConflicts {
			conflicts++
			continue // another reconciler got there first: start from where it left
		}
		if err != nil {
			return st, err
		}
		st.Events += len(evs)
	}
}

// Sweep reconciles the records whose grace period is over.
func (r *Reconciler) Sweep(ctx context.Context) (ReconcileStats, error) {
	var st ReconcileStats
	for conflicts := 0; ; {
		pos, err := r.store.ReconcilePosition(ctx)
		if err != nil {
			return st, err
		}
		now := r.Now()
		due, err := r.store.ReconcileDue(ctx, now, r.Batch)
		if err != nil {
			return st, err
		}
		if len(due) == 0 {
			return st, nil
		}
		sc := scopes{}
		for _, ref := range due {
			sc.add(ref.LocationID, ref.Type, ref.ID)
		}
		err = r.reconcile(ctx, sc, pos, 0, now, &st)
		if errors.Is(err, rankr.ErrConflict) && conflicts < maxConflicts {
			conflicts++
			continue
		}
		if err != nil {
			return st, err
		}
		if len(due) < r.Batch {
			return st, nil
		}
	}
}

// Recompute reconciles every order, invoice and transaction of a location
// again: after the settings changed, or to check the incremental work.
func (r *Reconciler) Recompute(ctx context.Context, locationID string) (ReconcileStats, error) {
	var st ReconcileStats
	for _, typ := range []string{rankr.RecordOrder, rankr.RecordInvoice, rankr.RecordTransaction} {
		after := ""
		for conflicts := 0; ; {
			ids, err := r.store.ReconcileRecords(ctx, locationID, typ, after, r.Batch)
			if err != nil {
				return st, err
			}
			if len(ids) == 0 {
				break
			}
			pos, err := r.store.ReconcilePosition(ctx)
			if err != nil {
				return st, err
			}
			sc := scopes{}
			for _, id := range ids {
				sc.add(locationID, typ, id)
			}
			err = r.reconcile(ctx, sc, pos, 0, r.Now(), &st)
			if errors.Is(err, rankr.ErrConflict) && conflicts < maxConflicts {
				conflicts++
				continue
			}
			if err != nil {
				return st, err
			}
			after = ids[len(ids)-1]
		}
	}
	return st, nil
}

// reconcile computes the records of sc as at now and applies the results,
// moving the feed position to feedTo when it is set, and counts what it did
// in st. It returns rankr.ErrConflict, having done nothing, when another
// reconciler applied since pos was read.
func (r *Reconciler) reconcile(ctx context.Context, sc scopes, pos store.ReconcilePosition, feedTo int64, now time.Time,
	st *ReconcileStats) error {
	results, renewals, err := r.compute(ctx, sc, now)
	if err != nil {
		return err
	}
	a, err := r.store.ReconcileApply(ctx, store.ReconcileApplyParams{Version: pos.Version, FeedTo: feedTo, Results: results,
		Renewals: renewals, Now: now})
	if err != nil {
		return err
	}
	st.add(len(results), a)
	if a.Opened+a.Resolved+a.Renewals > 0 {
		r.log.Info("reconciled", "opened", a.Opened, "resolved", a.Resolved, "renewals", a.Renewals)
	}
	return nil
}

// compute reconciles the records in scope from what the store holds now.
func (r *Reconciler) compute(ctx context.Context, sc scopes, now time.Time) ([]rankr.ReconcileResult, []rankr.Renewal, error) {
	var results []rankr.ReconcileResult
	var renewals []rankr.Renewal
	for _, loc := range slices.Sorted(maps.Keys(sc)) {
		d, err := r.store.ReconcileLoad(ctx, *sc[loc])
		if err != nil {
			return nil, nil, fmt.Errorf("loading records to reconcile in %s: %w", loc, err)
		}
		byOrder, byInvoice := map[string][]rankr.Transaction{}, map[string][]rankr.Transaction{}
		for _, x := range d.Transactions {
			if x.EntityType == rankr.RecordOrder && x.OrderID != "" {
				byOrder[x.OrderID] = append(byOrder[x.OrderID], x)
			}
			if x.InvoiceID != "" {
				byInvoice[x.InvoiceID] = append(byInvoice[x.InvoiceID], x)
			}
		}
		for _, id := range d.Orders {
			o, ok := d.OrderByID[id]
			if !ok {
				results = append(results, rankr.ReconcileResult{Ref: rankr.RecordRef{LocationID: loc, Type: rankr.RecordOrder, ID: id}})
				continue
			}
			results = append(results, rankr.ReconcileOrder(o, byOrder[id], r.policy, now))
		}
		for _, id := range d.Invoices {
			inv, ok := d.InvoiceByID[id]
			if !ok {
				results = append(results, rankr.ReconcileResult{Ref: rankr.RecordRef{LocationID: loc, Type: rankr.RecordInvoice, ID: id}})
				continue
			}
			results = append(results, rankr.ReconcileInvoice(inv, byInvoice[id], r.policy, now))
		}
		for _, x := range d.Transactions {
			results = append(results, rankr.ReconcileTransaction(x, entityOf(d, x), r.policy, now))
			var sub *rankr.Subscription
			if s, ok := d.SubscriptionByID[x.SubscriptionID]; ok {
				sub = &s
			}
			if rn, ok := rankr.RenewalOf(x, sub); ok {
				renewals = append(renewals, rn)
			}
		}
	}
	return results, renewals, nil
}

// entityOf looks up a transaction's entity in what was loaded.
func entityOf(d store.ReconcileData, x rankr.Transaction) rankr.Entity {
	switch x.EntityType {
	case rankr.RecordOrder:
		if o, ok := d.OrderByID[x.EntityID]; ok {
			return rankr.Entity{Held: o.DeletedAt.IsZero(), Currency: o.Currency, LiveMode: o.LiveMode}
		}
	case rankr.RecordInvoice:
		if inv, ok := d.InvoiceByID[x.EntityID]; ok {
			return rankr.Entity{Held: inv.DeletedAt.IsZero(), Currency: inv.Currency, LiveMode: inv.LiveMode}
		}
	case rankr.RecordSubscription:
		if s, ok := d.SubscriptionByID[x.EntityID]; ok {
			return rankr.Entity{Held: s.DeletedAt.IsZero(), Currency: cmp.Or(s.Currency, x.Currency), LiveMode: s.LiveMode}
		}
	}
	return rankr.Entity{}
}
