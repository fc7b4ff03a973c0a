package syncer

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// FollowUp is a refresh webhooks call for: Kind is a Refresh* kind and ID
// its record; a RefreshPayments follow-up has no ID but Since, the time
// from which the location's payments are to be read again. Announced is
// when the latest of the changes those webhooks announce happened in GHL:
// the updatedAt of the record a webhook carries, never later than GHL sent
// it (by its timestamp) nor than its receipt. What they announce was in GHL
// by then. See FollowUp (the method) for how each is run.
type FollowUp struct {
	LocationID, Kind, ID string
	Since, Announced     time.Time
}

// Applied is what applying one webhook did: its outcome, or Err when it can
// never be applied (rankr.ErrInvalid).
type Applied struct {
	Outcome string
	Err     error
}

// ApplyWebhooks stores what a batch of webhooks carries, in order: orders
// straight from their payloads (no API call; the usual newer-wins rules
// apply), invoices, products and prices, and connections' install states. Orders and invoices
// are written one batch per location, so that a storm of webhooks costs a
// few transactions, not one each. It returns what it did with each webhook
// and the refreshes that should follow (orders' payments and fulfillments,
// which webhooks do not carry). An error means nothing can be said of the
// batch; it is to be retried.
func (s *Syncer) ApplyWebhooks(ctx context.Context, evs []rankr.InboxEvent) ([]Applied, []FollowUp, error) {
	out := make([]Applied, len(evs))
	type group struct {
		orders   []store.OrderVersion
		orderAt  []int // which webhook each order came from
		invoices []rankr.Invoice
		invAt    []int
		products []rankr.Product
		prodAt   []int
		prices   []rankr.Price
		priceAt  []int
	}
	groups := map[string]*group{}
	var locs []string
	groupOf := func(loc string) *group {
		g, ok := groups[loc]
		if !ok {
			g = &group{}
			groups[loc] = g
			locs = append(locs, loc)
		}
		return g
	}
	// A batch holds many events of few locations: look each up once.
	type verdict struct {
		ok  bool
		why string
	}
	verdicts := map[string]verdict{}
	rounded := map[int]string{} // what converting each webhook's amounts rounded, for its outcome
	accepting := func(loc string) (bool, string) {
		v, seen := verdicts[loc]
		if !seen {
			v.ok, v.why = s.accepting(ctx, loc)
			verdicts[loc] = v
		}
		return v.ok, v.why
	}
	for i, ev := range evs {
		// The intake read the envelope already; decoding the body once, as
		// what its type says, is most of what a webhook costs here.
		env := &ghl.WebhookEvent{Type: ev.Type, LocationID: ev.LocationID, WebhookID: ev.WebhookID, Raw: ev.Body}
		if ev.Type == "" || ev.LocationID == "" {
			var err error
			if env, err = ghl.ParseWebhookEvent(ev.Body); err != nil {
				out[i].Err = fmt.Errorf("%w: %w", rankr.ErrInvalid, err)
				continue
			}
		}
		loc := env.LocationID
		switch env.Type {
		case ghl.EventOrderCreate, ghl.EventOrderStatusUpdate:
			if ok, why := accepting(loc); !ok {
				out[i].Outcome = why
				continue
			}
			d, err := env.Order()
			if err != nil || d.ID == "" || d.UpdatedAt.IsZero() {
				out[i].Err = fmt.Errorf("%w: %s without a usable order: %v", rankr.ErrInvalid, env.Type, err)
				continue
			}
			o, a := orderDetail(loc, *d, webhookKeys)
			if a.err != nil {
				out[i].Outcome = s.notApplied(loc, a)
				continue
			}
			rounded[i] = s.roundedNote(loc, a)
			g := groupOf(loc)
			g.orders = append(g.orders, store.OrderVersion{Order: o, Detail: true})
			g.orderAt = append(g.orderAt, i)
		case ghl.EventInvoiceCreate, ghl.EventInvoiceUpdate, ghl.EventInvoiceSent, ghl.EventInvoicePaid,
			ghl.EventInvoicePartiallyPaid, ghl.EventInvoiceVoid, ghl.EventInvoiceDelete:
			if ok, why := accepting(loc); !ok {
				out[i].Outcome = why
				continue
			}
			v, err := env.Invoice()
			if err != nil || v.ID == "" || v.UpdatedAt.IsZero() {
				out[i].Err = fmt.Errorf("%w: %s without a usable invoice: %v", rankr.ErrInvalid, env.Type, err)
				continue
			}
			if env.Type == ghl.EventInvoiceDelete {
				err := s.store.RecordMarkDeleted(ctx, store.MarkDeletedParams{LocationID: loc, RecordType: rankr.RecordInvoice, ID: v.ID, At: s.opts.Now()})
				if err != nil {
					return nil, nil, err
				}
				out[i].Outcome = "invoice deleted"
				continue
			}
			x, a := invoice(loc, *v)
			if a.err != nil {
				out[i].Outcome = s.notApplied(loc, a)
				continue
			}
			rounded[i] = s.roundedNote(loc, a)
			g := groupOf(loc)
			g.invoices = append(g.invoices, x)
			g.invAt = append(g.invAt, i)
		case ghl.EventProductCreate, ghl.EventProductUpdate, ghl.EventProductDelete:
			if ok, why := accepting(loc); !ok {
				out[i].Outcome = why
				continue
			}
			v, err := webhookProduct(env)
			if err != nil || v.ID == "" || (v.UpdatedAt.IsZero() && v.CreatedAt.IsZero()) {
				out[i].Err = fmt.Errorf("%w: %s without a usable product: %v", rankr.ErrInvalid, env.Type, err)
				continue
			}
			if env.Type == ghl.EventProductDelete {
				err := s.store.RecordMarkDeleted(ctx, store.MarkDeletedParams{LocationID: loc, RecordType: rankr.RecordProduct, ID: v.ID, At: s.opts.Now()})
				if err != nil {
					return nil, nil, err
				}
				out[i].Outcome = "product deleted"
				continue
			}
			g := groupOf(loc)
			g.products = append(g.products, product(loc, *v, webhookKeys))
			g.prodAt = append(g.prodAt, i)
		case ghl.EventPriceCreate, ghl.EventPriceUpdate, ghl.EventPriceDelete:
			if ok, why := accepting(loc); !ok {
				out[i].Outcome = why
				continue
			}
			v, err := webhookPrice(env)
			if err != nil || v.ID == "" || v.Product == "" || (v.UpdatedAt.IsZero() && v.CreatedAt.IsZero()) {
				out[i].Err = fmt.Errorf("%w: %s without a usable price: %v", rankr.ErrInvalid, env.Type, err)
				continue
			}
			if env.Type == ghl.EventPriceDelete {
				err := s.store.RecordMarkDeleted(ctx, store.MarkDeletedParams{LocationID: loc, RecordType: rankr.RecordPrice, ID: v.ID, At: s.opts.Now()})
				if err != nil {
					return nil, nil, err
				}
				out[i].Outcome = "price deleted"
				continue
			}
			x, a := price(loc, v.Product, *v, webhookKeys)
			if a.err != nil {
				out[i].Outcome = s.notApplied(loc, a)
				continue
			}
			rounded[i] = s.roundedNote(loc, a)
			g := groupOf(loc)
			g.prices = append(g.prices, x)
			g.priceAt = append(g.priceAt, i)
		case ghl.EventUninstall, ghl.EventInstall:
			if outcome, handled, err := s.oauthAppEvent(ctx, env); err != nil {
				return nil, nil, err
			} else if handled {
				delete(verdicts, loc)
				out[i].Outcome = outcome
				continue
			}
			outcome, err := s.installState(ctx, env.Type, loc, cmp.Or(ev.EventAt, ev.ReceivedAt, s.opts.Now()))
			if err != nil {
				return nil, nil, err
			}
			delete(verdicts, loc)
			out[i].Outcome = outcome
		default:
			out[i].Outcome = "ignored: event type " + env.Type + " is not used"
		}
	}

	var follow []FollowUp
	for _, loc := range locs {
		g := groups[loc]
		if len(g.orders) > 0 {
			res, err := s.store.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc, Orders: g.orders, Now: s.opts.Now()})
			if err != nil {
				return nil, nil, err
			}
			ids := make([]string, len(g.orders))
			did := outcomesOf(res)
			for k, v := range g.orders {
				ids[k] = v.Order.ID
				out[g.orderAt[k]].Outcome = did.of("order", v.Order.ID)
			}
			work, err := s.store.OrderWork(ctx, loc, ids)
			if err != nil {
				return nil, nil, err
			}
			follow = append(follow, s.orderFollowUps(loc, g.orders, g.orderAt, evs, work)...)
		}
		if len(g.invoices) > 0 {
			res, err := s.store.InvoiceUpsert(ctx, store.InvoiceUpsertParams{LocationID: loc, Invoices: g.invoices, Now: s.opts.Now()})
			if err != nil {
				return nil, nil, err
			}
			did := outcomesOf(res)
			for k, v := range g.invoices {
				out[g.invAt[k]].Outcome = did.of("invoice", v.ID)
			}
		}
		if len(g.products) > 0 {
			res, err := s.store.ProductUpsert(ctx, store.ProductUpsertParams{LocationID: loc, Products: g.products, Now: s.opts.Now()})
			if err != nil {
				return nil, nil, err
			}
			did := outcomesOf(res)
			for k, v := range g.products {
				out[g.prodAt[k]].Outcome = did.of("product", v.ID)
			}
		}
		if len(g.prices) > 0 {
			res, err := s.store.PriceUpsert(ctx, store.PriceUpsertParams{LocationID: loc, Prices: g.prices, Now: s.opts.Now()})
			if err != nil {
				return nil, nil, err
			}
			did := outcomesOf(res)
			for k, v := range g.prices {
				out[g.priceAt[k]].Outcome = did.of("price", v.ID)
			}
		}
	}
	for i, r := range rounded {
		if r != "" {
			out[i].Outcome += "; " + r
		}
	}
	return out, follow, nil
}

// AppEvents follows the INSTALL and UNINSTALL webhooks of OAuth installs
// (package oauth): an agency's location installed later gets its token
// minted from the company's (or parked until that token exists), an
// uninstall removes the tokens. It reports false for an event that is
// none of its business (a PIT connection's).
type AppEvents interface {
	AppInstalled(ctx context.Context, companyID, locationID string) (bool, error)
	AppUninstalled(ctx context.Context, companyID, locationID string) ([]string, error)
}

// SetAppEvents hands the OAuth installs' app events to a.
func (s *Syncer) SetAppEvents(a AppEvents) { s.appEvents = a }

// oauthAppEvent offers an INSTALL or UNINSTALL webhook to the OAuth
// installs.
func (s *Syncer) oauthAppEvent(ctx context.Context, env *ghl.WebhookEvent) (string, bool, error) {
	if s.appEvents == nil {
		return "", false, nil
	}
	var p struct {
		CompanyID string `json:"companyId"`
	}
	_ = json.Unmarshal(env.Raw, &p)
	if env.Type == ghl.EventInstall {
		if env.LocationID == "" {
			return "ignored: an agency's install is connected by its code exchange", true, nil
		}
		handled, err := s.appEvents.AppInstalled(ctx, p.CompanyID, env.LocationID)
		if err != nil || !handled {
			return "", false, err
		}
		return "location token of the agency install queued (or parked until the agency's token exists)", true, nil
	}
	suspended, err := s.appEvents.AppUninstalled(ctx, p.CompanyID, env.LocationID)
	if errors.Is(err, rankr.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return fmt.Sprintf("OAuth install removed; %d connections suspended", len(suspended)), true, nil
}

// installState follows the app being installed or uninstalled, at the
// event's time (or, without one, its receipt).
func (s *Syncer) installState(ctx context.Context, typ, loc string, at time.Time) (string, error) {
	conn, followed, err := s.store.ConnectionInstallEvent(ctx, store.ConnectionInstallEventParams{LocationID: loc,
		Installed: typ == ghl.EventInstall, At: at, Now: s.opts.Now(),
		Message: "the app was uninstalled from the location in GHL; install it again, or run `rankr connect` with a new token"})
	switch {
	case errors.Is(err, rankr.ErrNotFound):
		return "ignored: location not connected (run `rankr connect` with its token)", nil
	case err != nil:
		return "", err
	case !followed:
		return "ignored: a later install or uninstall of the app was followed already", nil
	case typ == ghl.EventUninstall:
		return "connection suspended", nil
	}
	return "connection " + string(conn.State), nil
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

// outcomes words what a batch upsert did to each of its records.
type outcomes struct{ created, changed map[string]bool }

func outcomesOf(res store.UpsertResult) outcomes {
	o := outcomes{created: make(map[string]bool, len(res.Created)), changed: make(map[string]bool, len(res.Changed))}
	for _, id := range res.Created {
		o.created[id] = true
	}
	for _, id := range res.Changed {
		o.changed[id] = true
	}
	return o
}

func (o outcomes) of(what, id string) string {
	switch {
	case o.created[id]:
		return what + " created"
	case o.changed[id]:
		return what + " updated"
	}
	return what + " unchanged, or older than the one stored"
}
