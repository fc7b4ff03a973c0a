package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/api"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/storetest"
)

// overviewStore is a SQLite store with payments of two locations: this
// month's (today's and earlier), last month's, a refund and a failure.
func overviewStore(t *testing.T, now time.Time) store.Store {
	t.Helper()
	st := storetest.OpenSQLite(t)
	ctx := context.Background()
	for _, c := range []string{"L1", "L2"} {
		if _, err := st.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: c, Name: "shop " + c, BaseURL: "http://127.0.0.1:1",
			Credential: []byte("x"), CredentialKind: "pit", Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	x := func(loc, id string, at time.Time, amount, refunded int64, status, cur string) rankr.Transaction {
		return rankr.Transaction{ID: id, LocationID: loc, EntityType: "order", EntityID: "o" + id, OrderID: "o" + id, Amount: amount,
			AmountRefunded: refunded, Currency: cur, Status: status, CreatedAt: at, UpdatedAt: at}
	}
	batches := map[string][]rankr.Transaction{
		"L1": {
			x("L1", "t1", day.Add(time.Hour), 1510, 0, "succeeded", "USD"),
			x("L1", "t2", day.Add(2*time.Hour), 1000, 250, "succeeded", "USD"),
			x("L1", "t3", day.Add(3*time.Hour), 9999, 0, "failed", "USD"),
			x("L1", "t4", day.AddDate(0, 0, -1), 500, 0, "paid", "USD"),
			x("L1", "t5", day.AddDate(0, -1, 0), 7777, 0, "succeeded", "USD"),
			x("L1", "t6", day.Add(time.Hour), 1005, 0, "succeeded", "KWD"),
		},
		"L2": {x("L2", "u1", day.Add(time.Hour), 4200, 0, "succeeded", "USD")},
	}
	for loc, xs := range batches {
		if _, err := st.TransactionUpsert(ctx, store.TransactionUpsertParams{LocationID: loc, Transactions: xs, SeenAt: now, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	// L2 has had webhooks, the newest a PaymentReceived; L1 none.
	for i, typ := range []string{"OrderCreate", "PaymentReceived"} {
		ev := rankr.InboxEvent{WebhookID: "w" + typ, Type: typ, LocationID: "L2", ReceivedAt: now.Add(time.Duration(i-2) * time.Minute),
			Body: []byte(`{"type":"` + typ + `"}`)}
		if _, err := st.InboxAppend(ctx, store.InboxAppendParams{Events: []rankr.InboxEvent{ev}}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// The overview sums the money that arrived (less refunds) today and this
// month per currency, exactly, for the caller's locations only; forecasts
// the day's GHL calls at the pace so far; and says when each location's
// last webhook came.
func TestOverviewSumsTheMoneyOfTheCallersLocations(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	if now.Day() == 1 && now.Hour() < 4 {
		// "yesterday" would be last month: keep the test's figures fixed.
		now = now.Add(5 * time.Hour)
	}
	st := overviewStore(t, now)
	status := func(context.Context) ([]app.LocationStatus, error) {
		var out []app.LocationStatus
		for _, loc := range []string{"L1", "L2"} {
			c, err := st.ConnectionGet(context.Background(), loc)
			if err != nil {
				return nil, err
			}
			s := app.LocationStatus{Connection: c, Counts: rankr.Counts{Orders: 3},
				Budget: app.Budget{Burst: 100, IntervalMS: 10000, InWindow: 25, DailyRemaining: 190_000}}
			s.Sync.LastPoll = now.Add(-30 * time.Second)
			out = append(out, s)
		}
		return out, nil
	}
	a := app.New(app.Deps{Store: st, Status: status})
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)

	for name, tc := range map[string]struct {
		caller                       app.Caller
		locations                    int
		usdToday, usdMonth, kwdToday string
	}{
		"every location": {app.Host("test"), 2, "64.60", "69.60", "1.005"},
		"bound to L2":    {app.Caller{Locations: []string{"L2"}}, 1, "42.00", "42.00", ""},
	} {
		t.Run(name, func(t *testing.T) {
			ov, err := a.OverviewAt(context.Background(), tc.caller, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(ov.Locations) != tc.locations {
				t.Fatalf("%d locations", len(ov.Locations))
			}
			l := ov.Locations[0]
			if l.SyncLagSeconds < 29 || l.SyncLagSeconds > 31 || l.Budget.DailyUsed != 10_000 || l.Budget.DailyLimit != 200_000 {
				t.Errorf("location %+v", l)
			}
			wantForecast := int(10_000 * 24 * time.Hour / max(now.Sub(day), time.Minute))
			if l.Budget.ForecastDailyUse != wantForecast {
				t.Errorf("forecast %d, want %d", l.Budget.ForecastDailyUse, wantForecast)
			}
			got := map[string]app.MoneyOverview{}
			for _, m := range ov.Money {
				got[m.Currency] = m
			}
			b, _ := json.Marshal(got["USD"])
			if !strings.Contains(string(b), `"collectedToday":`+tc.usdToday) || !strings.Contains(string(b), `"collectedMonth":`+tc.usdMonth) {
				t.Errorf("USD %s", b)
			}
			if len(got["USD"].Days) != now.Day() || got["USD"].Days[now.Day()-1].Collected.Minor != got["USD"].CollectedToday.Minor {
				t.Errorf("USD by day %s", b)
			}
			if k, ok := got["KWD"]; ok != (tc.kwdToday != "") || ok && rankr.FormatMinor(k.CollectedToday.Minor, "KWD") != tc.kwdToday {
				t.Errorf("KWD %+v", k)
			}
			for _, l := range ov.Locations {
				wantAt := map[string]time.Time{"L2": now.Add(-time.Minute).Truncate(time.Millisecond)}[l.LocationID]
				if !l.LastWebhookAt.Equal(wantAt) || l.LastWebhookType != map[string]string{"L2": "PaymentReceived"}[l.LocationID] {
					t.Errorf("%s: last webhook %s at %v, want %v", l.LocationID, l.LastWebhookType, l.LastWebhookAt, wantAt)
				}
			}
		})
	}
}

// GET /api/v1/overview needs connections:read, and a key bound to
// locations sees only those; the dashboard's page loads its script, which
// anyone may fetch, and /ui/me names the session key's scopes.
func TestOverviewRouteAndDashboard(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	st := overviewStore(t, now)
	h, g := guard(t, st)
	rt := access.NewRouter(g)
	status := func(ctx context.Context) ([]app.LocationStatus, error) {
		var out []app.LocationStatus
		for _, loc := range []string{"L1", "L2"} {
			c, _ := st.ConnectionGet(ctx, loc)
			out = append(out, app.LocationStatus{Connection: c})
		}
		return out, nil
	}
	api.Register(rt, app.New(app.Deps{Store: st, Status: status}), api.Options{})
	Register(rt, nil, nil, nil)
	keys := access.NewKeys(st, h)
	mk := func(role string, locs ...string) string {
		k, err := keys.Create(context.Background(), access.Host("test"), access.KeyRequest{Role: role, Locations: locs, ExpiresIn: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return k.Token
	}
	bound, owner := mk("viewer", "L2"), mk("owner")
	for _, tc := range []struct {
		path, key string
		code      int
		want, not string
	}{
		{"/api/v1/overview", bound, 200, `"locationId":"L2"`, `"L1"`},
		{"/api/v1/overview", owner, 200, `"locationId":"L1"`, ""},
		{"/api/v1/overview?x=1", owner, 400, "invalid_field", ""},
		{"/api/v1/overview", "", 401, "missing_key", ""},
		{"/", owner, 200, `src="/ui/app.js"`, ""},
		{"/ui/app.js", "", 200, "/events/stream", ""},
		{"/ui/me", bound, 200, `"scopes":[`, `"audit:read"`},
		{"/ui/me", owner, 200, `"audit:read"`, ""},
	} {
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, get(tc.path, tc.key))
		body := rec.Body.String()
		if rec.Code != tc.code || !strings.Contains(body, tc.want) || tc.not != "" && strings.Contains(body, tc.not) {
			t.Errorf("%s: %d %.300s", tc.path, rec.Code, body)
		}
		if tc.path == "/" && !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("the page has no CSP: %v", rec.Header())
		}
	}
	rec := httptest.NewRecorder()
	rt.ServeHTTP(rec, get("/api/v1/overview", owner))
	if rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), `"money":[`) {
		t.Errorf("no money: %s", rec.Body)
	}
}

// Callers seeing the same locations share an overview for a moment (every
// open dashboard asks every five seconds); callers seeing others get
// their own, and a later one is built anew.
func TestOverviewIsSharedBriefly(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	st := overviewStore(t, now)
	status := func(ctx context.Context) ([]app.LocationStatus, error) {
		var out []app.LocationStatus
		for _, loc := range []string{"L1", "L2"} {
			c, err := st.ConnectionGet(ctx, loc)
			if err != nil {
				return nil, err
			}
			out = append(out, app.LocationStatus{Connection: c})
		}
		return out, nil
	}
	a := app.New(app.Deps{Store: st, Status: status})
	ctx := context.Background()
	get := func(c app.Caller) app.Overview {
		t.Helper()
		ov, err := a.Overview(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return ov
	}
	l2 := app.Caller{Locations: []string{"L2"}}
	first, shared, other := get(app.Host("a")), get(app.Host("b")), get(l2)
	if !shared.At.Equal(first.At) {
		t.Errorf("a second tab's overview was built again (%v, then %v)", first.At, shared.At)
	}
	if len(other.Locations) != 1 || other.Locations[0].LocationID != "L2" {
		t.Errorf("a key bound to L2 was given %+v", other.Locations)
	}
	if again := get(app.Caller{Locations: []string{"L2"}}); !again.At.Equal(other.At) {
		t.Error("a second caller bound to L2 got an overview of its own")
	}
	time.Sleep(2100 * time.Millisecond)
	if later := get(app.Host("c")); !later.At.After(first.At) {
		t.Errorf("an overview of %v was served after its time", first.At)
	}
}
