package ghl_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// startSandbox runs a sandbox on loopback for the test's lifetime.
func startSandbox(t testing.TB, cfg sandbox.Config) (*sandbox.Server, string) {
	t.Helper()
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(func() {
		ts.Close()
		sb.Close()
	})
	return sb, ts.URL
}

// lifted is a rate limit no test reaches.
var lifted = sandbox.RateLimit{Burst: 1_000_000_000, Interval: 10 * time.Second, Daily: 1_000_000_000}

// fastRetries keep fault tests quick.
var fastRetries = ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 12, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond})

func newClient(url, token string, opts ...ghl.Option) *ghl.Client {
	return ghl.NewClient(ghl.StaticToken(token), append([]ghl.Option{ghl.WithBaseURL(url)}, opts...)...)
}

func truthOf(t testing.TB, sb *sandbox.Server, locationID string) sandbox.LocationTruth {
	t.Helper()
	tr, err := sb.Truth(locationID)
	if err != nil {
		t.Fatal(err)
	}
	return tr.Locations[0]
}

// mustJSON marshals v for comparisons.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// collectAll drains an iterator.
func collectAll[T any](t testing.TB, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// newestFirst returns the live records of a truth list in the order GHL lists
// them.
func newestFirst[T any](recs []T, deleted func(T) bool) []T {
	var out []T
	for i := len(recs) - 1; i >= 0; i-- {
		if !deleted(recs[i]) {
			out = append(out, recs[i])
		}
	}
	return out
}

func TestIteratorsReturnEverythingAsServed(t *testing.T) {
	t.Parallel()
	sb, url := startSandbox(t, sandbox.Config{Seed: 11, Locations: 3, Orders: 240, RateLimit: lifted})
	ctx := context.Background()
	for _, loc := range sb.Locations() {
		t.Run(loc.ID, func(t *testing.T) {
			t.Parallel()
			// A small page size makes the iterators walk many pages.
			c := newClient(url, loc.Token, ghl.WithPageSize(37))
			truth := truthOf(t, sb, loc.ID)

			orders := collectAll(t, c.Orders(ctx, ghl.ListOrdersParams{LocationID: loc.ID}))
			want := newestFirst(truth.Orders, func(o sandbox.OrderTruth) bool { return o.Deleted })
			if len(orders) != len(want) {
				t.Fatalf("got %d orders, want %d", len(orders), len(want))
			}
			for i := range want {
				// Raw is the bytes as served: nothing was lost on the way.
				if got, w := string(orders[i].Raw), mustJSON(t, want[i].Item); got != w {
					t.Fatalf("order %d raw:\n got %s\nwant %s", i, got, w)
				}
				if got, w := mustJSON(t, orders[i]), mustJSON(t, want[i].Item); got != w {
					t.Fatalf("order %d typed view differs:\n got %s\nwant %s", i, got, w)
				}
			}

			txns := collectAll(t, c.Transactions(ctx, ghl.ListTransactionsParams{LocationID: loc.ID}))
			wantTxns := newestFirst(truth.Transactions, func(x sandbox.TransactionTruth) bool { return x.Deleted })
			if len(txns) != len(wantTxns) {
				t.Fatalf("got %d transactions, want %d", len(txns), len(wantTxns))
			}
			for i := range wantTxns {
				if string(txns[i].Raw) != mustJSON(t, wantTxns[i].Item) {
					t.Fatalf("transaction %d differs", i)
				}
			}

			subs := collectAll(t, c.Subscriptions(ctx, ghl.ListSubscriptionsParams{LocationID: loc.ID}))
			if want := newestFirst(truth.Subscriptions, func(x sandbox.SubscriptionTruth) bool { return x.Deleted }); len(subs) != len(want) {
				t.Fatalf("got %d subscriptions, want %d", len(subs), len(want))
			}
			invs := collectAll(t, c.Invoices(ctx, ghl.ListInvoicesParams{LocationID: loc.ID}))
			if want := newestFirst(truth.Invoices, func(x sandbox.InvoiceTruth) bool { return x.Deleted }); len(invs) != len(want) {
				t.Fatalf("got %d invoices, want %d", len(invs), len(want))
			}
			coupons := collectAll(t, c.Coupons(ctx, ghl.ListCouponsParams{LocationID: loc.ID}))
			if len(coupons) != len(truth.Coupons) {
				t.Fatalf("got %d coupons, want %d", len(coupons), len(truth.Coupons))
			}
		})
	}
}

func TestDetailsMatchTruth(t *testing.T) {
	t.Parallel()
	sb, url := startSandbox(t, sandbox.Config{Seed: 12, Orders: 120, RateLimit: lifted})
	loc := sb.Locations()[0]
	c := newClient(url, loc.Token)
	ctx := context.Background()
	truth := truthOf(t, sb, loc.ID)

	for _, o := range truth.Orders[:20] {
		got, err := c.GetOrder(ctx, loc.ID, o.Item.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.TraceID == "" {
			t.Error("GetOrder answer has no traceId")
		}
		got.TraceID = ""
		if mustJSON(t, got) != mustJSON(t, o.Detail) {
			t.Fatalf("order %s:\n got %s\nwant %s", o.Item.ID, mustJSON(t, got), mustJSON(t, o.Detail))
		}
		if len(got.Items) == 0 || got.Items[0].Price.ID == "" || got.Items[0].Product.Name == "" {
			t.Fatalf("order %s has no usable items: %+v", o.Item.ID, got.Items)
		}
		fs, err := c.ListFulfillments(ctx, loc.ID, o.Item.ID)
		if err != nil {
			t.Fatal(err)
		}
		if mustJSON(t, fs) != mustJSON(t, o.Fulfillments) && !(len(fs) == 0 && len(o.Fulfillments) == 0) {
			t.Fatalf("fulfillments of %s differ", o.Item.ID)
		}
	}
	for _, x := range truth.Transactions[:10] {
		got, err := c.GetTransaction(ctx, loc.ID, x.Item.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.TraceID = ""
		if mustJSON(t, got) != mustJSON(t, x.Detail) {
			t.Fatalf("transaction %s differs", x.Item.ID)
		}
	}
	for _, x := range truth.Subscriptions[:min(5, len(truth.Subscriptions))] {
		got, err := c.GetSubscription(ctx, loc.ID, x.Item.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.TraceID = ""
		if mustJSON(t, got) != mustJSON(t, x.Detail) {
			t.Fatalf("subscription %s differs", x.Item.ID)
		}
	}
	inv := truth.Invoices[0].Invoice
	got, err := c.GetInvoice(ctx, loc.ID, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, got) != mustJSON(t, inv) {
		t.Fatalf("invoice %s differs", inv.ID)
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	sb, url := startSandbox(t, sandbox.Config{Seed: 13, Orders: 300, RateLimit: lifted})
	loc := sb.Locations()[0]
	c := newClient(url, loc.Token)
	ctx := context.Background()
	truth := truthOf(t, sb, loc.ID)

	count := func(match func(sandbox.OrderTruth) bool) int {
		n := 0
		for _, o := range truth.Orders {
			if !o.Deleted && match(o) {
				n++
			}
		}
		return n
	}
	mid := truth.Orders[len(truth.Orders)/2].Item.CreatedAt.Time
	day := time.Date(mid.Year(), mid.Month(), mid.Day(), 0, 0, 0, 0, time.UTC)
	contact := truth.Orders[7].Item.ContactID
	tests := []struct {
		name string
		p    ghl.ListOrdersParams
		want int
	}{
		{"status", ghl.ListOrdersParams{Status: ghl.OrderCompleted},
			count(func(o sandbox.OrderTruth) bool { return o.Item.Status == ghl.OrderCompleted })},
		{"paymentStatus", ghl.ListOrdersParams{PaymentStatus: ghl.PaymentUnpaid},
			count(func(o sandbox.OrderTruth) bool { return o.PaymentStatus == "unpaid" })},
		{"test mode", ghl.ListOrdersParams{PaymentMode: ghl.ModeTest},
			count(func(o sandbox.OrderTruth) bool { return !o.Item.LiveMode })},
		{"contact", ghl.ListOrdersParams{ContactID: contact},
			count(func(o sandbox.OrderTruth) bool { return o.Item.ContactID == contact })},
		{"one day", ghl.ListOrdersParams{StartAt: day, EndAt: day},
			count(func(o sandbox.OrderTruth) bool {
				return !o.Item.CreatedAt.Before(day) && o.Item.CreatedAt.Before(day.Add(24*time.Hour))
			})},
	}
	for _, tt := range tests {
		tt.p.LocationID = loc.ID
		page, err := c.ListOrders(ctx, tt.p)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if page.TotalCount != tt.want || tt.want == 0 {
			t.Errorf("%s: totalCount %d, want %d (and more than 0)", tt.name, page.TotalCount, tt.want)
		}
	}

	// An order's payments are found by entityId: orders carry no transaction ids.
	var paid sandbox.OrderTruth
	for _, o := range truth.Orders {
		if o.PaymentStatus == "paid" {
			paid = o
			break
		}
	}
	txns := collectAll(t, c.Transactions(ctx, ghl.ListTransactionsParams{LocationID: loc.ID, EntityID: paid.Item.ID}))
	if len(txns) == 0 {
		t.Fatalf("paid order %s has no transactions by entityId", paid.Item.ID)
	}
	for _, x := range txns {
		if x.EntityID != paid.Item.ID {
			t.Fatalf("entityId filter returned %s's transaction", x.EntityID)
		}
	}
}

func TestWritesChangeTheSandbox(t *testing.T) {
	t.Parallel()
	sb, url := startSandbox(t, sandbox.Config{Seed: 14, Orders: 200, RateLimit: lifted})
	loc := sb.Locations()[0]
	c := newClient(url, loc.Token)
	ctx := context.Background()
	truth := truthOf(t, sb, loc.ID)

	// Record the full balance of an unpaid order: it becomes paid.
	unpaid := findOrder(t, truth, func(o sandbox.OrderTruth) bool {
		return o.PaymentStatus == "unpaid" && o.Item.Status == ghl.OrderPending
	})
	if err := c.RecordOrderPayment(ctx, loc.ID, unpaid.Item.ID, ghl.RecordPaymentParams{Mode: ghl.PayCash, Notes: "paid at the counter"}); err != nil {
		t.Fatal(err)
	}
	after := orderByID(t, truthOf(t, sb, loc.ID), unpaid.Item.ID)
	if after.PaymentStatus != "paid" || after.Item.Status != ghl.OrderCompleted {
		t.Fatalf("after recording the balance: payment %s, status %s", after.PaymentStatus, after.Item.Status)
	}
	notes, err := c.ListOrderNotes(ctx, loc.ID, unpaid.Item.ID)
	if err != nil || !strings.Contains(string(notes), "paid at the counter") {
		t.Fatalf("notes = %s, %v", notes, err)
	}
	// Recording again is refused: nothing is due.
	if err := c.RecordOrderPayment(ctx, loc.ID, unpaid.Item.ID, ghl.RecordPaymentParams{Mode: ghl.PayCash}); !errors.Is(err, ghl.ErrInvalidRequest) {
		t.Fatalf("second payment: %v", err)
	}

	// Ship one unit of something physical that is left to ship.
	order, price := shippable(t, truthOf(t, sb, loc.ID))
	f, err := c.CreateFulfillment(ctx, loc.ID, order.Item.ID, ghl.CreateFulfillmentParams{
		Trackings:      []ghl.Tracking{{TrackingNumber: "1ZTEST0001", ShippingCarrier: "UPS", TrackingURL: "https://www.ups.com/track?tracknum=1ZTEST0001"}},
		Items:          []ghl.FulfillmentItem{{PriceID: price, Qty: "1"}},
		NotifyCustomer: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.ID == "" || len(f.Items) != 1 || f.Items[0].Price.ID != price || f.Trackings[0].TrackingNumber != "1ZTEST0001" {
		t.Fatalf("created fulfillment %+v", f)
	}
	after2 := truthOf(t, sb, loc.ID)
	if got := orderByID(t, after2, order.Item.ID); len(got.Fulfillments) != len(order.Fulfillments)+1 {
		t.Fatalf("order has %d fulfillments, want %d", len(got.Fulfillments), len(order.Fulfillments)+1)
	}
	notices := 0
	for _, n := range after2.Notices {
		if n.FulfillmentID == f.ID {
			notices++
		}
	}
	if notices != 1 {
		t.Fatalf("%d customer notices for the fulfillment, want 1", notices)
	}
	// Shipping more than was ordered is refused.
	_, err = c.CreateFulfillment(ctx, loc.ID, order.Item.ID, ghl.CreateFulfillmentParams{
		Trackings: []ghl.Tracking{}, Items: []ghl.FulfillmentItem{{PriceID: price, Qty: "999"}}})
	if !errors.Is(err, ghl.ErrInvalidRequest) {
		t.Fatalf("over-fulfilling: %v", err)
	}

	// Coupons: create, read, update, delete.
	cp, err := c.CreateCoupon(ctx, ghl.CouponParams{LocationID: loc.ID, Name: "Test", Code: "TEST15",
		DiscountType: ghl.DiscountPercentage, DiscountValue: "15", StartDate: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if cp.Status != ghl.CouponActive || cp.TraceID == "" {
		t.Fatalf("created coupon %+v", cp)
	}
	if _, err := c.CreateCoupon(ctx, ghl.CouponParams{LocationID: loc.ID, Name: "Dup", Code: "test15",
		DiscountType: ghl.DiscountAmount, DiscountValue: "5", StartDate: time.Now()}); !errors.Is(err, ghl.ErrInvalidRequest) {
		t.Fatalf("duplicate code: %v", err)
	}
	up, err := c.UpdateCoupon(ctx, cp.ID, ghl.CouponParams{LocationID: loc.ID, Name: "Test", Code: "TEST15",
		DiscountType: ghl.DiscountPercentage, DiscountValue: "20", StartDate: cp.StartDate.Time})
	if err != nil || up.DiscountValue != "20" {
		t.Fatalf("update: %+v, %v", up, err)
	}
	if got, err := c.GetCoupon(ctx, loc.ID, cp.ID, "TEST15"); err != nil || got.DiscountValue != "20" {
		t.Fatalf("get after update: %+v, %v", got, err)
	}
	if err := c.DeleteCoupon(ctx, loc.ID, cp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCoupon(ctx, loc.ID, cp.ID, "TEST15"); !errors.Is(err, ghl.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}

	// Providers.
	wl, err := c.CreateWhiteLabelProvider(ctx, ghl.WhiteLabelProviderParams{LocationID: loc.ID, UniqueName: "easy-nmi",
		Title: "Easy", Provider: "nmi", Description: "Card payments", ImageURL: "https://example.com/nmi.png"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListWhiteLabelProviders(ctx, ghl.ListWhiteLabelProvidersParams{LocationID: loc.ID})
	if err != nil || len(list) != 1 || list[0].ID != wl.ID {
		t.Fatalf("white-label list = %+v, %v", list, err)
	}
	if _, err := c.GetCustomProviderConfig(ctx, loc.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Fatalf("config before creating a provider: %v", err)
	}
	if _, err := c.CreateCustomProvider(ctx, loc.ID, ghl.CustomProviderParams{Name: "Pay", Description: "Custom",
		PaymentsURL: "https://pay.example.com", QueryURL: "https://pay.example.com/q", ImageURL: "https://pay.example.com/i.png"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.ConnectCustomProvider(ctx, loc.ID, ghl.CustomProviderKeys{APIKey: "live-k", PublishableKey: "live-p"},
		ghl.CustomProviderKeys{APIKey: "test-k", PublishableKey: "test-p"})
	if err != nil || cfg.PaymentProvider == nil || cfg.PaymentProvider.Live == nil || !cfg.PaymentProvider.Live.LiveMode {
		t.Fatalf("connect = %+v, %v", cfg, err)
	}
	if err := c.DisconnectCustomProvider(ctx, loc.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetCustomProviderConfig(ctx, loc.ID); err != nil || got.PaymentProvider.Live != nil || got.PaymentProvider.Test == nil {
		t.Fatalf("after disconnecting live: %+v, %v", got, err)
	}
	if err := c.UpdateCustomProviderCapabilities(ctx, ghl.CapabilitiesParams{LocationID: loc.ID, SupportsSubscriptionSchedules: true}); err != nil {
		t.Fatal(err)
	}
	// The same for the whole company, without a location.
	if err := c.UpdateCustomProviderCapabilities(ctx, ghl.CapabilitiesParams{CompanyID: loc.CompanyID, SupportsSubscriptionSchedules: false}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateCustomProviderCapabilities(ctx, ghl.CapabilitiesParams{CompanyID: "someone-else", SupportsSubscriptionSchedules: false}); !errors.Is(err, ghl.ErrForbidden) {
		t.Fatalf("another company: %v", err)
	}
	if err := c.DeleteCustomProvider(ctx, loc.ID); err != nil {
		t.Fatal(err)
	}
}

func findOrder(t testing.TB, truth sandbox.LocationTruth, match func(sandbox.OrderTruth) bool) sandbox.OrderTruth {
	t.Helper()
	for _, o := range truth.Orders {
		if !o.Deleted && match(o) {
			return o
		}
	}
	t.Fatal("no order matches")
	return sandbox.OrderTruth{}
}

func orderByID(t testing.TB, truth sandbox.LocationTruth, id string) sandbox.OrderTruth {
	t.Helper()
	return findOrder(t, truth, func(o sandbox.OrderTruth) bool { return o.Item.ID == id })
}

// shippable finds a paid order with a physical item left to ship, and that
// item's price id.
func shippable(t testing.TB, truth sandbox.LocationTruth) (sandbox.OrderTruth, string) {
	t.Helper()
	for _, o := range truth.Orders {
		if o.Deleted || o.PaymentStatus != "paid" {
			continue
		}
		shipped := map[string]int{}
		for _, f := range o.Fulfillments {
			for _, it := range f.Items {
				n, _ := it.Qty.Int()
				shipped[it.Price.ID] += n
			}
		}
		for _, it := range o.Detail.Items {
			n, _ := it.Qty.Int()
			if it.Product.ProductType == "PHYSICAL" && n > shipped[it.Price.ID] {
				return o, it.Price.ID
			}
		}
	}
	t.Fatal("no order with anything left to ship")
	return sandbox.OrderTruth{}, ""
}

func TestErrorsSayWhatHappened(t *testing.T) {
	t.Parallel()
	for _, style := range []sandbox.ErrorStyle{sandbox.StyleSpec, sandbox.StyleObserved} {
		t.Run(string(style), func(t *testing.T) {
			t.Parallel()
			sb, url := startSandbox(t, sandbox.Config{Seed: 15, Locations: 2, Orders: 20, RateLimit: lifted, ErrorStyle: style})
			locs := sb.Locations()
			ctx := context.Background()
			c := newClient(url, locs[0].Token)

			_, err := c.GetOrder(ctx, locs[0].ID, "000000000000000000000000")
			var gerr *ghl.Error
			if !errors.As(err, &gerr) || !errors.Is(err, ghl.ErrNotFound) || gerr.TraceID == "" || gerr.Message != "Order not found" {
				t.Fatalf("unknown order: %#v", err)
			}

			bad := newClient(url, "pit-not-a-real-token")
			_, err = bad.ListOrders(ctx, ghl.ListOrdersParams{LocationID: locs[0].ID})
			if !errors.Is(err, ghl.ErrUnauthorized) || errors.Is(err, ghl.ErrMissingScope) {
				t.Fatalf("bad token: %v", err)
			}
			if strings.Contains(err.Error(), "pit-not-a-real-token") {
				t.Fatalf("the error shows the token: %v", err)
			}

			// A token without the transactions scope.
			if err := sb.AddToken(locs[0].ID, "pit-orders-only", ghl.ScopeOrdersRead); err != nil {
				t.Fatal(err)
			}
			limited := newClient(url, "pit-orders-only")
			if _, err := limited.ListOrders(ctx, ghl.ListOrdersParams{LocationID: locs[0].ID}); err != nil {
				t.Fatalf("allowed scope refused: %v", err)
			}
			_, err = limited.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: locs[0].ID})
			if !errors.As(err, &gerr) || !errors.Is(err, ghl.ErrMissingScope) || gerr.Scope != ghl.ScopeTransactionsRead {
				t.Fatalf("missing scope: %v", err)
			}
			if !strings.Contains(err.Error(), ghl.ScopeTransactionsRead) {
				t.Fatalf("the error does not name the scope: %v", err)
			}

			// Location 0's token cannot read location 1.
			_, err = c.ListOrders(ctx, ghl.ListOrdersParams{LocationID: locs[1].ID})
			if !errors.Is(err, ghl.ErrForbidden) {
				t.Fatalf("other location: %v", err)
			}

			// GHL's 422 carries a list of messages.
			_, err = c.CreateCoupon(ctx, ghl.CouponParams{LocationID: locs[0].ID, DiscountType: "bogus"})
			if !errors.As(err, &gerr) || !errors.Is(err, ghl.ErrInvalidRequest) || !strings.Contains(gerr.Message, "discountType") {
				t.Fatalf("invalid coupon: %#v", err)
			}
			if style == sandbox.StyleSpec && len(gerr.Messages) < 2 {
				t.Fatalf("the spec's 422 carries a list of messages, got %q", gerr.Messages)
			}
			// A wrong Version header is refused.
			old := newClient(url, locs[0].Token, ghl.WithVersion("1999-01-01"))
			if _, err := old.ListOrders(ctx, ghl.ListOrdersParams{LocationID: locs[0].ID}); !errors.Is(err, ghl.ErrInvalidRequest) {
				t.Fatalf("bad version: %v", err)
			}
			// A missing location never reaches GHL.
			if _, err := c.ListOrders(ctx, ghl.ListOrdersParams{}); !errors.Is(err, ghl.ErrInvalidRequest) {
				t.Fatalf("no location: %v", err)
			}
		})
	}
}

func TestReadsSurviveFaults(t *testing.T) {
	t.Parallel()
	sb, url := startSandbox(t, sandbox.Config{Seed: 16, Orders: 300, RateLimit: lifted})
	loc := sb.Locations()[0]
	if err := sb.SetFaults(sandbox.Faults{ErrorRate: 0.2, DropRate: 0.1, Rate429: 0.1, ErrorAfterRate: 0.05,
		Latency: sandbox.Duration(time.Millisecond), LatencyJitter: sandbox.Duration(2 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	c := newClient(url, loc.Token, fastRetries, ghl.WithPageSize(25))
	orders := collectAll(t, c.Orders(context.Background(), ghl.ListOrdersParams{LocationID: loc.ID}))
	truth := truthOf(t, sb, loc.ID)
	if len(orders) != len(truth.Orders) {
		t.Fatalf("got %d orders through the faults, want %d", len(orders), len(truth.Orders))
	}
	seen := map[string]bool{}
	for _, o := range orders {
		if seen[o.ID] {
			t.Fatalf("order %s twice", o.ID)
		}
		seen[o.ID] = true
	}
	f := sb.Stats().Faults
	if f["5xx"] == 0 || f["drop"] == 0 || f["429"] == 0 {
		t.Fatalf("faults were not injected: %v", f)
	}
}

func TestFulfillmentIsNeverRetriedBlindly(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name string
		f    sandbox.Faults
	}{
		{"5xx after commit", sandbox.Faults{ErrorAfterRate: 1}},
		{"dropped after commit", sandbox.Faults{DropAfterRate: 1}},
		{"timeout after commit", sandbox.Faults{StallAfterRate: 1, Stall: sandbox.Duration(2 * time.Second)}},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb, url := startSandbox(t, sandbox.Config{Seed: 17, Orders: 80, RateLimit: lifted})
			loc := sb.Locations()[0]
			order, price := shippable(t, truthOf(t, sb, loc.ID))
			f := tt.f
			f.Only = []string{"CreateFulfillment"}
			if err := sb.SetFaults(f); err != nil {
				t.Fatal(err)
			}
			c := newClient(url, loc.Token, fastRetries, ghl.WithAttemptTimeout(300*time.Millisecond))
			_, err := c.CreateFulfillment(context.Background(), loc.ID, order.Item.ID, ghl.CreateFulfillmentParams{
				Trackings: []ghl.Tracking{{TrackingNumber: "TRK-1", ShippingCarrier: "DHL"}},
				Items:     []ghl.FulfillmentItem{{PriceID: price, Qty: "1"}}, NotifyCustomer: true,
			})
			if !errors.Is(err, ghl.ErrOutcomeUnknown) {
				t.Fatalf("got %v, want ErrOutcomeUnknown", err)
			}
			// GHL committed it exactly once, and the client did not send it again.
			got := orderByID(t, truthOf(t, sb, loc.ID), order.Item.ID)
			if len(got.Fulfillments) != len(order.Fulfillments)+1 {
				t.Fatalf("%d fulfillments, want %d", len(got.Fulfillments), len(order.Fulfillments)+1)
			}
			// The caller can look before retrying: the fulfillment is listed.
			if err := sb.SetFaults(sandbox.Faults{}); err != nil {
				t.Fatal(err)
			}
			fs, err := c.ListFulfillments(context.Background(), loc.ID, order.Item.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(fs, func(f ghl.Fulfillment) bool { return f.Trackings[0].TrackingNumber == "TRK-1" }) {
				t.Fatal("the committed fulfillment is not listed")
			}
		})
	}
}

func TestWritesRefusedWith429AreRetried(t *testing.T) {
	t.Parallel()
	sb, url := startSandbox(t, sandbox.Config{Seed: 18, Orders: 80, RateLimit: lifted})
	loc := sb.Locations()[0]
	order, price := shippable(t, truthOf(t, sb, loc.ID))
	if err := sb.SetFaults(sandbox.Faults{StormFor: sandbox.Duration(150 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	c := newClient(url, loc.Token, fastRetries)
	// A 429 means GHL refused the request, so even a write is safe to repeat.
	if _, err := c.CreateFulfillment(context.Background(), loc.ID, order.Item.ID, ghl.CreateFulfillmentParams{
		Trackings: []ghl.Tracking{}, Items: []ghl.FulfillmentItem{{PriceID: price, Qty: "1"}}}); err != nil {
		t.Fatal(err)
	}
	if got := orderByID(t, truthOf(t, sb, loc.ID), order.Item.ID); len(got.Fulfillments) != len(order.Fulfillments)+1 {
		t.Fatalf("%d fulfillments, want exactly one more than %d", len(got.Fulfillments), len(order.Fulfillments))
	}
}

func TestSandboxRateLimitIsPerLocation(t *testing.T) {
	t.Parallel()
	// The clock stands still, so that however slow the machine, all 101
	// requests fall inside the 10 s.
	still := time.Now()
	sb, url := startSandbox(t, sandbox.Config{Seed: 19, Locations: 2, Orders: 5, Token: "pit-all",
		Clock: func() time.Time { return still }})
	locs := sb.Locations()
	get := func(loc string) *http.Response {
		req, _ := http.NewRequest("GET", url+"/payments/orders?altId="+loc, nil)
		req.Header.Set("Authorization", "Bearer pit-all")
		req.Header.Set("Version", "2021-07-28")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 100 {
		if resp := get(locs[0].ID); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := get(locs[0].ID)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("101st request inside 10 s: %d, want 429", resp.StatusCode)
	}
	for h, want := range map[string]string{"X-RateLimit-Max": "100", "X-RateLimit-Remaining": "0",
		"X-RateLimit-Interval-Milliseconds": "10000", "X-RateLimit-Limit-Daily": "200000", "X-RateLimit-Daily-Remaining": "199900"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if resp := get(locs[1].ID); resp.StatusCode != http.StatusOK {
		t.Fatalf("other location: %d, want 200", resp.StatusCode)
	}
}

func TestGovernorSends1000WithoutA429(t *testing.T) {
	t.Parallel()
	// GHL's burst of 100, over a shorter interval so that the test is quick.
	// The client starts from GHL's published 100 per 10 s and must learn
	// the real interval from the headers.
	sb, url := startSandbox(t, sandbox.Config{Seed: 20, Orders: 10,
		RateLimit: sandbox.RateLimit{Burst: 100, Interval: 400 * time.Millisecond}})
	loc := sb.Locations()[0]
	c := newClient(url, loc.Token)
	id := truthOf(t, sb, loc.ID).Orders[0].Item.ID
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 1000; i += 8 {
				if _, err := c.GetOrder(ctx, loc.ID, id); err != nil {
					errs <- fmt.Errorf("request %d: %w", i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := sb.Stats().Requests[loc.ID]
	if got["GetOrder 200"] != 1000 || got["GetOrder 429"] != 0 {
		t.Fatalf("sandbox answered %v, want 1000 × 200 and no 429", got)
	}
	if b := c.Governor().Budget(loc.ID); b.Throttled != 0 || b.Interval != 400*time.Millisecond {
		t.Fatalf("governor budget %+v", b)
	}
}
