package syncer

import (
	"context"
	"errors"
	"fmt"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// FollowUp is a targeted refresh a webhook calls for.
type FollowUp struct {
	LocationID, Kind, ID string
}

// ApplyWebhook stores what a webhook carries: an order straight from its
// payload (no API call; the usual newer-wins rules apply), an invoice, or a
// connection's install state. It returns what it did and the refreshes that
// should follow (an order's fulfillments and payments, which webhooks do
// not carry).
func (s *Syncer) ApplyWebhook(ctx context.Context, ev rankr.InboxEvent) (string, []FollowUp, error) {
	env, err := ghl.ParseWebhookEvent(ev.Body)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", rankr.ErrInvalid, err)
	}
	loc := env.LocationID
	switch env.Type {
	case ghl.EventOrderCreate, ghl.EventOrderStatusUpdate:
		if ok, why := s.accepting(ctx, loc); !ok {
			return why, nil, nil
		}
		d, err := env.Order()
		if err != nil || d.ID == "" || d.UpdatedAt.IsZero() {
			return "", nil, fmt.Errorf("%w: %s without a usable order: %v", rankr.ErrInvalid, env.Type, err)
		}
		res, err := s.store.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc, Now: s.opts.Now(),
			Orders: []store.OrderVersion{{Order: orderDetail(loc, *d, webhookKeys), Detail: true}}})
		if err != nil {
			return "", nil, err
		}
		follow := []FollowUp{{loc, RefreshOrderTransactions, d.ID}}
		if work, err := s.store.OrderWork(ctx, loc, []string{d.ID}); err == nil && len(work) == 1 && work[0].NeedsFulfillments {
			follow = append(follow, FollowUp{loc, RefreshOrderFulfillments, d.ID})
		}
		return outcomeOf("order", res), follow, nil
	case ghl.EventInvoiceCreate, ghl.EventInvoiceUpdate, ghl.EventInvoiceSent, ghl.EventInvoicePaid,
		ghl.EventInvoicePartiallyPaid, ghl.EventInvoiceVoid, ghl.EventInvoiceDelete:
		if ok, why := s.accepting(ctx, loc); !ok {
			return why, nil, nil
		}
		v, err := env.Invoice()
		if err != nil || v.ID == "" || v.UpdatedAt.IsZero() {
			return "", nil, fmt.Errorf("%w: %s without a usable invoice: %v", rankr.ErrInvalid, env.Type, err)
		}
		if env.Type == ghl.EventInvoiceDelete {
			err := s.store.RecordMarkDeleted(ctx, store.MarkDeletedParams{LocationID: loc, RecordType: rankr.RecordInvoice, ID: v.ID, At: s.opts.Now()})
			return "invoice deleted", nil, err
		}
		res, err := s.store.InvoiceUpsert(ctx, store.InvoiceUpsertParams{LocationID: loc, Now: s.opts.Now(), Invoices: []rankr.Invoice{invoice(loc, *v)}})
		if err != nil {
			return "", nil, err
		}
		return outcomeOf("invoice", res), nil, nil
	case ghl.EventUninstall:
		err := s.store.ConnectionSetState(ctx, store.ConnectionSetStateParams{LocationID: loc, State: rankr.StateSuspended,
			Message: "the app was uninstalled from the location in GHL; install it again, then run `rankr connect`", Now: s.opts.Now()})
		if errors.Is(err, rankr.ErrNotFound) {
			return "ignored: location not connected", nil, nil
		}
		return "connection suspended", nil, err
	case ghl.EventInstall:
		conn, err := s.store.ConnectionGet(ctx, loc)
		switch {
		case errors.Is(err, rankr.ErrNotFound):
			return "ignored: location not connected (run `rankr connect` with its token)", nil, nil
		case err != nil:
			return "", nil, err
		case conn.State != rankr.StateSuspended:
			return "connection already " + string(conn.State), nil, nil
		}
		err = s.store.ConnectionSetState(ctx, store.ConnectionSetStateParams{LocationID: loc, State: rankr.StateActive, Now: s.opts.Now()})
		return "connection active again", nil, err
	}
	return "ignored: event type " + env.Type + " is not used", nil, nil
}

// accepting reports whether webhooks for a location are applied.
func (s *Syncer) accepting(ctx context.Context, loc string) (bool, string) {
	if loc == "" {
		return false, "ignored: no location"
	}
	conn, err := s.store.ConnectionGet(ctx, loc)
	if err != nil {
		return false, "ignored: location not connected"
	}
	if conn.State != rankr.StateActive {
		return false, "ignored: connection " + string(conn.State)
	}
	return true, ""
}

func outcomeOf(what string, res store.UpsertResult) string {
	switch {
	case len(res.Created) > 0:
		return what + " created"
	case len(res.Changed) > 0:
		return what + " updated"
	case res.Stale > 0:
		return what + " older than stored: kept the newer"
	}
	return what + " unchanged"
}
