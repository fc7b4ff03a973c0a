package syncer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/syncer"
)

// TestWebhookAmounts applies order and invoice webhooks through a real
// store: amounts are stored exactly or rounded half away from zero (and the
// outcome says so), and a webhook whose amount cannot be stored is processed
// with an outcome saying why, storing nothing.
func TestWebhookAmounts(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 41, Locations: 1, Orders: 3}, syncer.Options{})
		const when = `"createdAt":"2026-03-01T10:00:00.000Z","updatedAt":"2026-03-01T10:00:00.000Z"`
		order := func(id, currency, amount, price, qty string) string {
			return fmt.Sprintf(`{"type":"OrderCreate","locationId":%q,"webhookId":"w-%s","_id":%q,"status":"pending",`+
				`"fulfillmentStatus":"unfulfilled","currency":%q,"amount":%s,"items":[{"_id":"i-%s","name":"Mug","qty":%s,`+
				`"price":{"_id":"p-%s","amount":%s,"currency":%q},"product":{"_id":"pr1"}}],%s}`,
				e.loc, id, id, currency, amount, id, qty, id, price, currency, when)
		}
		invoice := func(id, currency, total string) string {
			return fmt.Sprintf(`{"type":"InvoicePaid","locationId":%q,"webhookId":"w-%s","_id":%q,"status":"paid","currency":%q,`+
				`"total":%s,"amountPaid":%s,"amountDue":0,%s}`, e.loc, id, id, currency, total, total, when)
		}
		tests := []struct {
			kind, id, body string
			outcome        string // the outcome begins so
			rounded        string // and then says this was rounded ("" for nothing)
			stored         int64  // the amount (or total) stored
			refused        bool   // nothing stored
			unit           int64  // the item's unit amount stored
		}{
			{"order", "oUSD", order("oUSD", "USD", "150.1", `"150.10"`, "1"), "order created", "", 15010, false, 15010},
			{"order", "oHalf", order("oHalf", "USD", "1.005", "0.285", "2"), "order created",
				"amount 1.005 of order oHalf rounded to 1.01 USD; items[0].price.amount 0.285 of order oHalf rounded to 0.29 USD", 101, false, 29},
			{"order", "oNeg", order("oNeg", "USD", "-1.005", "1", "1"), "order created", "amount -1.005 of order oNeg rounded to -1.01 USD", -101, false, 100},
			{"order", "oJPY", order("oJPY", "JPY", "0.5", "1500", "1"), "order created", "amount 0.5 of order oJPY rounded to 1 JPY", 1, false, 1500},
			{"order", "oKWD", order("oKWD", "KWD", "1.0005", "1.234", "1"), "order created", "amount 1.0005 of order oKWD rounded to 1.001 KWD", 1001, false, 1234},
			{"order", "oExp", order("oExp", "USD", "1.5e2", "15E1", "1"), "order created", "", 15000, false, 15000},
			{"order", "oAbc", order("oAbc", "USD", `"abc"`, "1", "1"), `not applied: amount "abc" of order oAbc is not a number`, "", 0, true, 0},
			{"order", "oEmpty", order("oEmpty", "USD", `""`, "1", "1"), `not applied: amount "" of order oEmpty is not a number`, "", 0, true, 0},
			{"order", "oDots", order("oDots", "KWD", "1", `"1.2.3"`, "1"), `not applied: items[0].price.amount "1.2.3" of order oDots is not a number`, "", 0, true, 0},
			{"order", "oHuge", order("oHuge", "USD", "1e30", "1", "1"), "not applied: amount 1e30 of order oHuge is too large to store", "", 0, true, 0},
			{"order", "oWrap", order("oWrap", "JPY", "9223372036854775808", "1", "1"), "not applied: amount 9223372036854775808 of order oWrap is too large to store", "", 0, true, 0},
			{"order", "oQty", order("oQty", "USD", "1", "1", "1.5"), "not applied: items[0].qty 1.5 of order oQty is not a whole number", "", 0, true, 0},
			{"invoice", "vKWD", invoice("vKWD", "KWD", "1.0005"), "invoice created",
				"total 1.0005 of invoice vKWD rounded to 1.001 KWD; amountPaid 1.0005 of invoice vKWD rounded to 1.001 KWD", 1001, false, 0},
			{"invoice", "vJPY", invoice("vJPY", "JPY", "1200"), "invoice created", "", 1200, false, 0},
			{"invoice", "vAbc", invoice("vAbc", "USD", `"abc"`), `not applied: total "abc" of invoice vAbc is not a number`, "", 0, true, 0},
		}
		var evs []rankr.InboxEvent
		for i, tt := range tests {
			var env struct{ Type string }
			if err := json.Unmarshal([]byte(tt.body), &env); err != nil {
				t.Fatalf("%s: %v", tt.id, err)
			}
			evs = append(evs, rankr.InboxEvent{Seq: int64(i + 1), WebhookID: "w-" + tt.id, Type: env.Type, LocationID: e.loc, Body: []byte(tt.body)})
		}
		ctx := context.Background()
		applied, _, err := e.s.ApplyWebhooks(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		for i, tt := range tests {
			a := applied[i]
			want := tt.outcome
			if tt.rounded != "" {
				want += "; " + tt.rounded
			}
			if a.Err != nil || a.Outcome != want {
				t.Errorf("%s: outcome %q, %v; want %q", tt.id, a.Outcome, a.Err, want)
			}
			var got int64
			var raw []byte
			var gerr error
			switch tt.kind {
			case "order":
				var o rankr.Order
				o, gerr = e.st.OrderGet(ctx, e.loc, tt.id)
				if gerr == nil {
					got, raw = o.Amount, o.RawDetail
					if len(o.Items) != 1 || o.Items[0].UnitAmount != tt.unit {
						t.Errorf("%s: items %+v, want a unit amount of %d", tt.id, o.Items, tt.unit)
					}
				}
			case "invoice":
				var v rankr.Invoice
				v, gerr = e.st.InvoiceGet(ctx, e.loc, tt.id)
				got, raw = v.Total, v.Raw
			}
			switch {
			case tt.refused && !errors.Is(gerr, rankr.ErrNotFound):
				t.Errorf("%s: stored (amount %d, %v) although its amount cannot be", tt.id, got, gerr)
			case !tt.refused && (gerr != nil || got != tt.stored):
				t.Errorf("%s: stored amount %d, %v; want %d", tt.id, got, gerr, tt.stored)
			case !tt.refused && tt.rounded != "" && !bytes.Contains(raw, []byte(strings.Fields(tt.rounded)[1])):
				t.Errorf("%s: the raw JSON lost GHL's text: %s", tt.id, raw)
			}
		}
		if got := e.s.Progress(e.loc).Refused.Load(); got != 7 {
			t.Errorf("Progress.Refused = %d, want 7", got)
		}
	})
}

// corrupter stands between the syncer and the sandbox and, while on,
// replaces one field of one record in the answers of one GHL path, as GHL
// might send it: the sandbox itself serves only well-formed amounts.
type corrupter struct {
	next  http.Handler
	on    atomic.Bool
	paths []string // the request paths whose answers are changed
	id    string   // the record's _id
	field []string
	value json.RawMessage
	hits  atomic.Int64
}

func (c *corrupter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !c.on.Load() || !slices.Contains(c.paths, r.URL.Path) {
		c.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	c.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber() // every other amount passes as its text
		var v any
		if err := dec.Decode(&v); err == nil && c.replace(v) {
			body, _ = json.Marshal(v)
			c.hits.Add(1)
		}
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// replace finds the record in v and sets its field.
func (c *corrupter) replace(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		if x["_id"] == c.id {
			var target any = x
			for _, f := range c.field[:len(c.field)-1] {
				if i, err := strconv.Atoi(f); err == nil {
					target = target.([]any)[i]
				} else {
					target = target.(map[string]any)[f]
				}
			}
			target.(map[string]any)[c.field[len(c.field)-1]] = c.value
			return true
		}
		for _, m := range x {
			if c.replace(m) {
				return true
			}
		}
	case []any:
		for _, m := range x {
			if c.replace(m) {
				return true
			}
		}
	}
	return false
}

// TestSyncRefusesBadAmounts: a record GHL serves, on a list page or by id,
// with an amount Rankr cannot store is not stored (no made-up 0) while the
// sync goes on with the others; the connection's last sync error names it;
// and once GHL serves it right, the next full walk stores it.
func TestSyncRefusesBadAmounts(t *testing.T) {
	t.Parallel()
	tr := func(t *testing.T, e *env) sandbox.LocationTruth { return e.truth(t).Locations[0] }
	tests := []struct {
		name  string
		path  func(l sandbox.LocationTruth) (path, id string)
		field string
		value string
		// stored reports whether the record (or its part the path serves)
		// is in the store.
		stored func(t *testing.T, e *env, id string) bool
	}{
		{"order list: amount", func(l sandbox.LocationTruth) (string, string) { return "/payments/orders", l.Orders[0].Item.ID }, "amount", `"abc"`,
			func(t *testing.T, e *env, id string) bool {
				_, err := e.st.OrderGet(context.Background(), e.loc, id)
				return !errors.Is(err, rankr.ErrNotFound)
			}},
		{"order detail: item price", func(l sandbox.LocationTruth) (string, string) {
			return "/payments/orders/" + l.Orders[1].Item.ID, l.Orders[1].Item.ID
		}, "items.0.price.amount", `1e30`,
			func(t *testing.T, e *env, id string) bool {
				o, err := e.st.OrderGet(context.Background(), e.loc, id)
				if err != nil {
					t.Fatal(err) // the listed summary is stored all the same
				}
				return len(o.Items) > 0
			}},
		{"transaction list: amount", func(l sandbox.LocationTruth) (string, string) {
			return "/payments/transactions", l.Transactions[0].Item.ID
		}, "amount", `"1.2.3"`,
			func(t *testing.T, e *env, id string) bool {
				_, err := e.st.TransactionGet(context.Background(), e.loc, id)
				return !errors.Is(err, rankr.ErrNotFound)
			}},
		{"subscription list: amount", func(l sandbox.LocationTruth) (string, string) {
			return "/payments/subscriptions", l.Subscriptions[0].Item.ID
		}, "amount", `""`,
			func(t *testing.T, e *env, id string) bool {
				_, err := e.st.SubscriptionGet(context.Background(), e.loc, id)
				return !errors.Is(err, rankr.ErrNotFound)
			}},
		{"subscription detail: amount", func(l sandbox.LocationTruth) (string, string) {
			return "/payments/subscriptions/" + l.Subscriptions[0].Item.ID, l.Subscriptions[0].Item.ID
		}, "amount", `"12,50"`,
			func(t *testing.T, e *env, id string) bool {
				x, err := e.st.SubscriptionGet(context.Background(), e.loc, id)
				if err != nil {
					t.Fatal(err) // the listed summary is stored all the same
				}
				return len(x.RawDetail) > 0
			}},
		{"invoice list: total", func(l sandbox.LocationTruth) (string, string) { return "/invoices/", l.Invoices[0].Invoice.ID }, "total", `true`,
			func(t *testing.T, e *env, id string) bool {
				_, err := e.st.InvoiceGet(context.Background(), e.loc, id)
				return !errors.Is(err, rankr.ErrNotFound)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachStore(t, func(t *testing.T, open storetest.Opener) {
				e := newEnv(t, open, sandbox.Config{Seed: 42, Locations: 1, Orders: 40}, syncer.Options{PageSize: 10})
				path, id := tt.path(tr(t, e))
				c := &corrupter{next: e.sb.Handler(), paths: []string{path}, id: id, field: strings.Split(tt.field, "."), value: json.RawMessage(tt.value)}
				c.on.Store(true)
				ts := httptest.NewServer(c)
				t.Cleanup(ts.Close)
				e.url = ts.URL
				e.connect(t, e.loc, e.locs[0].Token)

				ctx := context.Background()
				if done, err := e.s.Backfill(ctx, e.loc); !done || err != nil {
					t.Fatalf("backfill: %v, %v; one bad record must not stop it", done, err)
				}
				if c.hits.Load() == 0 {
					t.Fatalf("no answer of %s carried %s", path, id)
				}
				if tt.stored(t, e, id) {
					t.Fatalf("%s was stored with %s = %s", id, tt.field, tt.value)
				}
				conn, err := e.st.ConnectionGet(ctx, e.loc)
				if err != nil {
					t.Fatal(err)
				}
				field := strings.ReplaceAll(strings.Replace(tt.field, ".0.", "[0].", 1), "items.0", "items[0]")
				if want := field + " " + tt.value + " of "; !strings.Contains(conn.LastError, want) || !strings.Contains(conn.LastError, id) {
					t.Fatalf("last sync error %q does not name %s (%s)", conn.LastError, id, want)
				}
				if n := e.s.Progress(e.loc).Refused.Load(); n == 0 {
					t.Fatal("Progress.Refused did not count the refusal")
				}

				// GHL serves it right again: the next full walk stores it,
				// and everything matches GHL.
				c.on.Store(false)
				for {
					done, err := e.s.FullWalk(ctx, e.loc)
					if err != nil {
						t.Fatal(err)
					}
					if done {
						break
					}
				}
				if !tt.stored(t, e, id) {
					t.Fatalf("%s was not stored by the full walk after GHL served it right", id)
				}
				if conn, _ := e.st.ConnectionGet(ctx, e.loc); conn.LastError != "" {
					t.Fatalf("last sync error after a clean walk: %q", conn.LastError)
				}
			})
		})
	}
}

// TestRefusedRecordIsNotDeleted: a record stored before, which GHL then
// serves with an amount that cannot be stored (in its list and by id), keeps
// its last good version through a full walk, is not marked deleted (GHL has
// it), and a targeted refresh of it refuses it the same way without failing.
func TestRefusedRecordIsNotDeleted(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open storetest.Opener) {
		e := newEnv(t, open, sandbox.Config{Seed: 43, Locations: 1, Orders: 30}, syncer.Options{PageSize: 10})
		l := e.truth(t).Locations[0]
		o, x := l.Orders[2].Item, l.Transactions[0].Item
		c := &corrupter{next: e.sb.Handler(), paths: []string{"/payments/orders", "/payments/orders/" + o.ID,
			"/payments/transactions", "/payments/transactions/" + x.ID}, field: []string{"amount"}, value: json.RawMessage(`"abc"`)}
		ts := httptest.NewServer(c)
		t.Cleanup(ts.Close)
		e.url = ts.URL
		e.connect(t, e.loc, e.locs[0].Token)
		e.backfillAll(t)
		ctx := context.Background()
		before, err := e.st.OrderGet(ctx, e.loc, o.ID)
		if err != nil {
			t.Fatal(err)
		}

		c.id = o.ID
		c.on.Store(true)
		for {
			done, err := e.s.FullWalk(ctx, e.loc)
			if err != nil {
				t.Fatal(err)
			}
			if done {
				break
			}
		}
		after, err := e.st.OrderGet(ctx, e.loc, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !after.DeletedAt.IsZero() || after.Amount != before.Amount {
			t.Fatalf("order %s after the walk: deleted at %v, amount %d (was %d)", o.ID, after.DeletedAt, after.Amount, before.Amount)
		}
		conn, _ := e.st.ConnectionGet(ctx, e.loc)
		if want := `amount "abc" of order ` + o.ID + ` is not a number`; !strings.Contains(conn.LastError, want) {
			t.Fatalf("last sync error %q, want it to say %s", conn.LastError, want)
		}

		c.id = x.ID
		if err := e.s.Refresh(ctx, e.loc, syncer.RefreshTransaction, x.ID); err != nil {
			t.Fatalf("refreshing a transaction GHL serves with a bad amount: %v", err)
		}
		got, err := e.st.TransactionGet(ctx, e.loc, x.ID)
		if err != nil || !got.DeletedAt.IsZero() {
			t.Fatalf("transaction %s after the refresh: %+v, %v", x.ID, got, err)
		}
		conn, _ = e.st.ConnectionGet(ctx, e.loc)
		if want := `amount "abc" of transaction ` + x.ID + ` is not a number`; !strings.Contains(conn.LastError, want) {
			t.Fatalf("last sync error %q, want it to say %s", conn.LastError, want)
		}
	})
}
