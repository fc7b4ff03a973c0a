package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/flows"
	"github.com/rankr/rankr/internal/mailer"
	"github.com/rankr/rankr/internal/mailer/mailtest"
	"github.com/rankr/rankr/internal/oauth"
	"github.com/rankr/rankr/internal/outbound"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/testwait"
	"github.com/rankr/rankr/internal/vault"
)

// TestEveryTriggerFires causes, for real, a change of every kind rankr
// derives a trigger from: changes in the sandbox that a poll brings in
// (orders paid in part and in full, refunded, fulfilled; payments failed;
// subscriptions renewed, past due, cancelled; invoices paid), and what
// rankr's flows do about them (fulfillment pushes to GHL, one GHL refuses;
// notices mailed through mailpit, one refused; reconciliation exceptions
// opened and resolved; a renewal invoiced; an outbound webhook
// dead-lettered; an API key expiring; an OAuth install whose refresh GHL
// refuses). Then every event of the change feed goes through
// TriggerFirings: every trigger must fire at least once, each payload
// valid against its catalog schema.
//
// The daemon is opened but not run: the test drives each part itself, so
// that what happens, and when, is the test's. It runs on each database,
// and skips, saying why, without mailpit.
func TestEveryTriggerFires(t *testing.T) {
	t.Parallel()
	mp := mailtest.Open(t)
	for name, db := range databases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			everyTriggerFires(t, mp, db(t))
		})
	}
}

func everyTriggerFires(t *testing.T, mp mailtest.Mailpit, dsn string) {
	sb, sbURL := startSandbox(t, sandbox.Config{Seed: 97, Locations: 2, Orders: 0})
	ctx := context.Background()
	// Outbound deliveries go to a subscriber on loopback that is always
	// down: with one attempt each, every delivery is dead at once.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	// The first connection's mail passes; the second's recipient is
	// refused for good.
	smtp := mailtest.NewProxy(t, mp.SMTP, mailtest.Fault{}, mailtest.Fault{At: "RCPT", Reply: "550 5.1.1 no such user here"})
	key, _ := vault.ParseKey(vault.NewKey())
	d, err := daemon.Open(ctx, daemon.Config{DB: dsn, MasterKey: key,
		Mail: mailer.Config{URL: "smtp://" + smtp.Addr, From: "Shop <orders@triggers.example>", Timeout: 5 * time.Second},
		Outbound: outbound.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, MaxAttempts: 1,
			AttemptTimeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	locs := sb.Locations()
	l := locs[0]
	if _, err := d.Connect(ctx, l.ID, l.Name, sbURL, l.Token); err != nil {
		t.Fatal(err)
	}
	for done := false; !done; {
		if done, err = d.Syncer.Backfill(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := d.Webhooks.Add(ctx, outbound.AddParams{URL: down.URL + "/hooks", Events: []string{rankr.OrderCreated}}); err != nil {
		t.Fatal(err)
	}
	poll := func() {
		t.Helper()
		if err := d.Syncer.Poll(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	newOrder := func(spec sandbox.OrderSpec) (string, int64) {
		t.Helper()
		id, amount, err := sb.NewOrder(l.ID, spec)
		must(err)
		return id, amount
	}
	pay := func(order string, amount int64) string {
		t.Helper()
		id, err := sb.PayOrder(l.ID, order, amount)
		must(err)
		return id
	}

	// Orders: one paid in two parts and shipped (by a push), one paid in
	// full then refunded in part and in full, one paid too much (an
	// exception, resolved by refunding the extra), one a payment failed on
	// and then paid and refused by GHL when pushed, one on a subscription.
	shipped, amount := newOrder(sandbox.OrderSpec{Physical: true})
	poll()
	pay(shipped, amount/2)
	poll()
	pay(shipped, amount-amount/2)
	shipped2, amount6 := newOrder(sandbox.OrderSpec{Physical: true})
	pay(shipped2, amount6)
	refunded, amount2 := newOrder(sandbox.OrderSpec{})
	charge := pay(refunded, amount2)
	over, amount3 := newOrder(sandbox.OrderSpec{})
	pay(over, amount3)
	extra := pay(over, 700)
	gone, amount4 := newOrder(sandbox.OrderSpec{Physical: true})
	failed, err := sb.Step(1, l.ID, "payment.failed")
	must(err)
	if len(failed) != 1 {
		t.Fatalf("no payment failed: %v", failed)
	}
	pay(gone, amount4)
	subOrder, amount5 := newOrder(sandbox.OrderSpec{Recurring: true})
	pay(subOrder, amount5)
	inv, total, err := sb.NewInvoice(l.ID, false)
	must(err)
	poll()
	_, err = sb.PayInvoice(l.ID, inv, total)
	must(err)
	must(sb.Refund(l.ID, charge, amount2/3))
	poll()
	must(sb.Refund(l.ID, charge, amount2-amount2/3))
	reconcile := func() {
		t.Helper()
		if _, err := d.Reconciler.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	poll()
	reconcile()

	// The subscription renews, fails to, and is cancelled.
	sub := subscriptionOf(t, d.Store, l.ID, subOrder)
	_, err = sb.Renew(l.ID, sub, true)
	must(err)
	poll()
	reconcile()
	_, err = sb.Renew(l.ID, sub, false)
	must(err)
	poll()
	must(sb.CancelSubscription(l.ID, sub))
	must(sb.Refund(l.ID, extra, 700))
	poll()
	reconcile()

	// Pushes: one done (its customer mailed, through the first SMTP
	// connection), one whose order was deleted in GHL meanwhile, so GHL
	// refuses it for good.
	push := func(order, tracking string) rankr.FulfillmentPush {
		t.Helper()
		p, _, err := d.Pusher.Request(ctx, flows.Request{LocationID: l.ID, OrderID: order, NotifyCustomer: true,
			Trackings: []rankr.Tracking{{Number: tracking, Carrier: "UPS"}}})
		must(err)
		return p
	}
	done := push(shipped, "1Z-TRIGGERS-1")
	refused := push(gone, "1Z-TRIGGERS-2")
	must(sb.Delete(l.ID, "order", gone))
	for _, p := range []rankr.FulfillmentPush{done, refused} {
		if _, err := d.Pusher.Push(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := d.Store.PushGet(ctx, done.ID); p.State != rankr.PushDone {
		t.Fatalf("push %s: %s (%s)", p.ID, p.State, p.LastError)
	}
	if p, _ := d.Store.PushGet(ctx, refused.ID); p.State != rankr.PushFailed {
		t.Fatalf("push %s: %s (%s), want failed", p.ID, p.State, p.LastError)
	}
	sendNotices(t, d)
	// The second push's notice goes through the second SMTP connection,
	// which refuses its recipient.
	second := push(shipped2, "1Z-TRIGGERS-3")
	if _, err := d.Pusher.Push(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	sendNotices(t, d)
	for p, want := range map[string]rankr.NoticeState{done.ID: rankr.NoticeSent, second.ID: rankr.NoticeFailed} {
		got, _ := d.Store.PushGet(ctx, p)
		n, err := d.Store.NoticeGet(ctx, rankr.NoticeID(rankr.NoticeFulfillment, got.FulfillmentID))
		if err != nil || n.State != want {
			t.Fatalf("the notice of push %s: %s %s (%v), want %s", p, n.State, n.LastError, err, want)
		}
	}
	poll() // the pushed fulfillment, and the order fulfilled

	// Outbound: every order.created since the endpoint was added is
	// delivered once, and dies.
	testwait.UntilWhy(t, 20*time.Second, "an outbound delivery dead-lettered", func() (bool, string) {
		if _, err := d.Webhooks.RunOnce(ctx); err != nil {
			return false, err.Error()
		}
		return hasEvent(t, d.Store, rankr.WebhookDeadLettered), "no dead letter yet"
	})

	// An API key enters its last week.
	if _, err := d.App.CreateKey(ctx, app.Host("test"), app.KeyCreateRequest{Name: "expiring", Role: "viewer", ExpiresIn: "72h"}); err != nil {
		t.Fatal(err)
	}
	if warned, err := d.Store.KeyWarnExpiring(ctx, time.Now()); err != nil || len(warned) != 1 {
		t.Fatalf("warned %v (%v)", warned, err)
	}

	// The second location is installed over OAuth; the app is uninstalled
	// there, and the next refresh is refused.
	oauthInstall(t, d, sb, sbURL, locs[1].ID)
	must(sb.UninstallLocation(locs[1].ID))
	testwait.UntilWhy(t, 20*time.Second, "the refresh refused", func() (bool, string) {
		_, err := d.OAuth.Token(ctx, locs[1].ID)
		if errors.Is(err, oauth.ErrReauthRequired) {
			return true, ""
		}
		return false, fmt.Sprint("token: ", err)
	})

	// The order GHL deleted is marked deleted when rankr finds it gone:
	// its earlier changes still fire, with the order as rankr keeps it.
	must(d.Syncer.Refresh(ctx, l.ID, syncer.RefreshOrder, gone))

	// Every event, through the triggers.
	specs := map[string]catalog.Spec{}
	schemas := map[string]*catalog.Schema{}
	for _, s := range app.TriggerSpecs() {
		specs[s.Key] = s
		sch, err := catalog.CompileSchema(s.ID(), s.Output)
		must(err)
		if err := sch.Validate(s.Sample); err != nil {
			t.Errorf("%s: its sample: %v", s.Key, err)
		}
		schemas[s.Key] = sch
	}
	fired, firedDeleted := map[string]int{}, 0
	for _, ev := range allEvents(t, d.Store) {
		firings, err := d.App.TriggerFirings(ctx, ev)
		if err != nil {
			t.Fatalf("event %d %s: %v", ev.Seq, ev.Kind, err)
		}
		for _, f := range firings {
			spec, ok := specs[f.Key]
			if !ok {
				t.Fatalf("event %d %s fired %s, which has no spec", ev.Seq, ev.Kind, f.Key)
			}
			if !slices.Contains(spec.Fires, ev.Kind) {
				t.Errorf("%s fired from a %s event, not among its Fires %q", f.Key, ev.Kind, spec.Fires)
			}
			if err := schemas[f.Key].Validate(f.Payload); err != nil {
				t.Errorf("%s from event %d (%s): the payload is not valid: %v\n%s", f.Key, ev.Seq, ev.Kind, err, f.Payload)
			}
			fired[f.Key]++
			var p struct {
				Event struct {
					Seq int64 `json:"seq"`
				} `json:"event"`
				Order *struct {
					DeletedAt time.Time `json:"deletedAt"`
				} `json:"order"`
			}
			must(json.Unmarshal(f.Payload, &p))
			if p.Event.Seq != ev.Seq {
				t.Errorf("%s from event %d carries event %d", f.Key, ev.Seq, p.Event.Seq)
			}
			if ev.RecordID == gone && ev.RecordType == rankr.RecordOrder {
				if p.Order == nil || p.Order.DeletedAt.IsZero() {
					t.Errorf("%s from event %d of the deleted order: %s", f.Key, ev.Seq, f.Payload)
				}
				firedDeleted++
			}
		}
	}
	for _, k := range rankr.TriggerKeys() {
		if fired[k] == 0 {
			t.Errorf("%s never fired", k)
		}
	}
	if firedDeleted == 0 {
		t.Error("the deleted order fired nothing")
	}
	t.Logf("fired: %v", fired)
}

// subscriptionOf is the subscription an order started, once synced.
func subscriptionOf(t *testing.T, st store.Store, loc, order string) string {
	t.Helper()
	subs, err := st.SubscriptionList(context.Background(), store.ListParams{LocationID: loc, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if s.OrderID == order {
			return s.ID
		}
	}
	t.Fatalf("order %s started no subscription rankr holds (%d subscriptions)", order, len(subs))
	return ""
}

// sendNotices sends the notices due until none is waiting.
func sendNotices(t *testing.T, d *daemon.Daemon) {
	t.Helper()
	testwait.UntilWhy(t, 20*time.Second, "every notice sent or failed", func() (bool, string) {
		if _, err := d.Notifier.SendDue(context.Background()); err != nil {
			return false, err.Error()
		}
		c, err := d.Store.NoticeCounts(context.Background(), "")
		if err != nil {
			return false, err.Error()
		}
		return c[rankr.NoticePending]+c[rankr.NoticeSending]+c[rankr.NoticeCommitting] == 0, fmt.Sprint(c)
	})
}

// oauthInstall installs the sandbox's app on one location, as its user's
// consent and GHL's redirect back would; its tokens live a second.
func oauthInstall(t *testing.T, d *daemon.Daemon, sb *sandbox.Server, sbURL, loc string) {
	t.Helper()
	ctx := context.Background()
	acc, err := d.OpenAccess(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := sb.OAuthApp()
	if err := d.OAuth.Configure(ctx, access.Host("test"), rankr.OAuthApp{ClientID: a.ClientID,
		RedirectURI: "http://127.0.0.1:9/oauth/ghl/callback", AuthorizeHost: sbURL, BaseURL: sbURL}, a.ClientSecrets[0], acc.Hasher); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetAccessTTL(time.Second); err != nil {
		t.Fatal(err)
	}
	link, err := d.OAuth.InstallLink(ctx, access.Host("test"), false)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	to, err := d.OAuth.Start(ctx, u.Query().Get("link"))
	if err != nil {
		t.Fatal(err)
	}
	gh, _ := url.Parse(to)
	q := gh.Query()
	consent, err := sb.Authorize(sandbox.AuthorizeRequest{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"),
		Scopes: strings.Fields(q.Get("scope")), State: q.Get("state"), LocationID: loc})
	if err != nil {
		t.Fatal(err)
	}
	back, _ := url.Parse(consent.Redirect)
	if _, err := d.OAuth.Callback(ctx, back.Query().Get("code"), back.Query().Get("state")); err != nil {
		t.Fatal(err)
	}
}

// allEvents reads the whole change feed.
func allEvents(t *testing.T, st store.Store) []rankr.Event {
	t.Helper()
	var out []rankr.Event
	for after := int64(0); ; {
		evs, err := st.EventList(context.Background(), store.EventListParams{AfterSeq: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
		after = evs[len(evs)-1].Seq
	}
}

func hasEvent(t *testing.T, st store.Store, kind string) bool {
	t.Helper()
	for _, ev := range allEvents(t, st) {
		if ev.Kind == kind {
			return true
		}
	}
	return false
}
