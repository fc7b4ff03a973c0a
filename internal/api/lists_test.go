package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/testwait"
)

// recordLists are the record lists, paged by keyset cursors.
var recordLists = []string{"/api/v1/orders", "/api/v1/fulfillments", "/api/v1/transactions", "/api/v1/subscriptions", "/api/v1/invoices"}

// one reads a whole list in one page (it must fit in one).
func (c *client) one(path string, kv ...string) []map[string]any {
	c.t.Helper()
	var p struct {
		Items      []map[string]any `json:"items"`
		NextCursor string           `json:"nextCursor"`
	}
	c.getJSON(path+q(append([]string{"limit", "1000"}, kv...)...), http.StatusOK, &p)
	if p.NextCursor != "" {
		c.t.Fatalf("%s: more than one page of 1000", path)
	}
	return p.Items
}

// noDuplicates fails when an id repeats.
func noDuplicates(t *testing.T, what string, list []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range list {
		if seen[id] {
			t.Errorf("%s: %s twice", what, id)
		}
		seen[id] = true
	}
}

// TestPagingOnPostgres pages every list on PostgreSQL (SQLite: TestAPI).
func TestPagingOnPostgres(t *testing.T) {
	t.Parallel()
	db := databases["postgres"](t)
	testPaging(t, newWorld(t, worldConfig{DB: db, Seed: 11, Locations: 2, Orders: 30}))
}

// testPaging walks every list a few items at a time, newest and oldest
// first, and finds exactly the list read in one page, in the same order:
// no duplicates, no gaps. The orders' walk goes on while new orders arrive
// and stays on the list as it stood.
func testPaging(t *testing.T, w *world) {
	c := w.client(t, w.owner)
	for _, path := range recordLists {
		for _, oldest := range []string{"false", "true"} {
			full := ids(c.one(path, "oldest", oldest))
			if len(full) < 3 {
				t.Fatalf("%s: only %d records to page through", path, len(full))
			}
			// Three pages or more, the last one full or not.
			for _, limit := range []int{1, max(2, len(full)/4), len(full)} {
				paged := ids(c.walk(path, limit, "oldest", oldest))
				noDuplicates(t, path, paged)
				if !slices.Equal(paged, full) {
					t.Errorf("%s oldest=%s: paged by %d %d records, in one page %d (or in another order)", path, oldest, limit, len(paged), len(full))
				}
			}
		}
		// One location's list pages the same way.
		loc := w.locations()[1]
		if full, paged := ids(c.one(path, "locationId", loc)), ids(c.walk(path, 4, "locationId", loc)); !slices.Equal(full, paged) {
			t.Errorf("%s of %s: paged %d, in one page %d", path, loc, len(paged), len(full))
		}
	}

	// New orders arrive while a walk is half way: it finishes on the
	// list as it stood, and a new walk starts with them.
	before := ids(c.one("/api/v1/orders"))
	var walked []string
	cursor := ""
	for page := 0; ; page++ {
		var p struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"nextCursor"`
		}
		c.getJSON("/api/v1/orders"+q("limit", "6", "cursor", cursor), http.StatusOK, &p)
		walked = append(walked, ids(p.Items)...)
		if page == 1 {
			var added []string
			for i := range 3 {
				id, _, err := w.sb.NewOrder(w.locations()[i%2], sandbox.OrderSpec{Physical: true})
				if err != nil {
					t.Fatal(err)
				}
				added = append(added, id)
			}
			testwait.Until(t, 30*time.Second, "the new orders synced", func() bool {
				now := ids(c.one("/api/v1/orders"))
				for _, id := range added {
					if !slices.Contains(now, id) {
						return false
					}
				}
				return true
			})
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	noDuplicates(t, "orders while new ones arrive", walked)
	if !slices.Equal(walked, before) {
		t.Errorf("a walk while orders arrived found %d orders, the list had %d", len(walked), len(before))
	}
	if after := ids(c.walk("/api/v1/orders", 9)); len(after) != len(before)+3 || !slices.Equal(after[3:], before) {
		t.Errorf("a new walk: %d orders, want the 3 new ones then the %d before", len(after), len(before))
	}

	// The change feed pages by position: after, then next.
	var all []int64
	for after, n := int64(0), 0; ; n++ {
		var p struct {
			Items []struct {
				Seq int64 `json:"seq"`
			} `json:"items"`
			Next int64 `json:"next"`
		}
		c.getJSON("/api/v1/events"+q("after", fmt.Sprint(after), "limit", "37"), http.StatusOK, &p)
		if len(p.Items) == 0 {
			if p.Next != after {
				t.Errorf("an empty page's next is %d, not after (%d)", p.Next, after)
			}
			break
		}
		for _, e := range p.Items {
			if e.Seq <= after || len(all) > 0 && e.Seq <= all[len(all)-1] {
				t.Fatalf("event %d after %d: not in order", e.Seq, after)
			}
			all = append(all, e.Seq)
		}
		if p.Next != all[len(all)-1] {
			t.Errorf("next %d, want the last seq %d", p.Next, all[len(all)-1])
		}
		after = p.Next
	}
	var whole struct {
		Items []struct {
			Seq int64 `json:"seq"`
		} `json:"items"`
	}
	c.getJSON("/api/v1/events"+q("limit", "1000"), http.StatusOK, &whole)
	if len(all) < 50 || len(whole.Items) != min(len(all), 1000) || whole.Items[0].Seq != all[0] {
		t.Errorf("the feed by 37: %d events; in one read %d", len(all), len(whole.Items))
	}

	// The audit log pages by record number.
	var audit []int64
	for after := int64(0); ; {
		var p struct {
			Items []struct {
				Seq int64 `json:"seq"`
			} `json:"items"`
			Next int64 `json:"next"`
		}
		c.getJSON("/api/v1/audit"+q("after", fmt.Sprint(after), "limit", "2"), http.StatusOK, &p)
		for _, r := range p.Items {
			audit = append(audit, r.Seq)
		}
		if p.Next == 0 {
			break
		}
		after = p.Next
	}
	if len(audit) < 3 || !sort.SliceIsSorted(audit, func(i, j int) bool { return audit[i] < audit[j] }) {
		t.Errorf("audit by 2: %v", audit)
	}
	var whole2 struct {
		Items []struct {
			Seq int64 `json:"seq"`
		} `json:"items"`
	}
	c.getJSON("/api/v1/audit"+q("limit", "1000"), http.StatusOK, &whole2)
	if len(whole2.Items) != len(audit) {
		t.Errorf("audit: %d by 2, %d in one page", len(audit), len(whole2.Items))
	}
}

// testFilters checks each filter against the whole list filtered here:
// the API's answer is exactly the records that match, in order.
func testFilters(t *testing.T, w *world) {
	c := w.client(t, w.owner)
	check := func(path string, want []map[string]any, kv ...string) {
		t.Helper()
		got := ids(c.walk(path, 10, kv...))
		if !slices.Equal(got, ids(want)) {
			t.Errorf("%s%s: %d records, want %d", path, q(kv...), len(got), len(want))
		}
	}
	keep := func(all []map[string]any, f func(map[string]any) bool) []map[string]any {
		var out []map[string]any
		for _, it := range all {
			if f(it) {
				out = append(out, it)
			}
		}
		return out
	}
	for _, path := range recordLists {
		all := c.one(path)
		byLoc := 0
		for _, loc := range w.locations() {
			want := keep(all, func(it map[string]any) bool { return str(it, "locationId") == loc })
			byLoc += len(want)
			check(path, want, "locationId", loc)
		}
		if byLoc != len(all) || len(all) == 0 {
			t.Errorf("%s: %d by location, %d in all", path, byLoc, len(all))
		}
		// Creation dates: [from, before), as a date or an RFC 3339 time.
		created := func(it map[string]any) time.Time {
			v := str(it, "createdAt")
			if v == "" {
				v = str(it, "timestamp") // a transaction's
			}
			at, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				t.Fatalf("%s: createdAt %q", path, v)
			}
			return at
		}
		mid := created(all[len(all)/2])
		check(path, keep(all, func(it map[string]any) bool { return !created(it).Before(mid) }), "createdFrom", mid.Format(time.RFC3339Nano))
		day := mid.UTC().Truncate(24 * time.Hour)
		check(path, keep(all, func(it map[string]any) bool { return created(it).Before(day) }), "createdBefore", day.Format(time.DateOnly))
		if from := created(all[len(all)-1]); from.Before(mid) {
			check(path, keep(all, func(it map[string]any) bool { return !created(it).Before(from) && created(it).Before(mid) }),
				"createdFrom", from.Format(time.RFC3339Nano), "createdBefore", mid.Format(time.RFC3339Nano))
		}
		if path == "/api/v1/fulfillments" {
			continue // no status, amount or currency
		}
		statuses := map[string]bool{}
		for _, it := range all {
			statuses[str(it, "status")] = true
		}
		for s := range statuses {
			check(path, keep(all, func(it map[string]any) bool { return str(it, "status") == s }), "status", s)
		}
		// Amounts in a currency's major unit, inclusive.
		amount := "amount"
		if path == "/api/v1/invoices" {
			amount = "total"
		}
		cur := str(all[0], "currency")
		var amounts []float64
		for _, it := range all {
			if str(it, "currency") == cur {
				amounts = append(amounts, it[amount].(float64))
			}
		}
		sort.Float64s(amounts)
		lo, hi := amounts[len(amounts)/4], amounts[3*len(amounts)/4]
		want := keep(all, func(it map[string]any) bool {
			a, _ := it[amount].(float64)
			return str(it, "currency") == cur && a >= lo && a <= hi
		})
		if len(want) == 0 {
			t.Fatalf("%s: no amount between %v and %v", path, lo, hi)
		}
		check(path, want, "currency", strings.ToLower(cur), "amountMin", fmt.Sprintf("%.2f", lo), "amountMax", fmt.Sprintf("%.2f", hi))
	}

	orders := c.one("/api/v1/orders")
	for _, field := range []string{"paymentStatus", "fulfillmentStatus"} {
		values := map[string]bool{}
		for _, o := range orders {
			values[str(o, field)] = true
		}
		if len(values) < 2 {
			t.Errorf("orders: only %v as %s: the filter is not put to the test", values, field)
		}
		for v := range values {
			check("/api/v1/orders", keep(orders, func(o map[string]any) bool { return str(o, field) == v }), field, v)
		}
	}
	// The fulfillment queue: paid, not fulfilled in full, and something to
	// ship (a physical item, or items not synced yet), as the order's page
	// shows its items.
	queue := keep(orders, func(o map[string]any) bool {
		if str(o, "paymentStatus") != "paid" || str(o, "fulfillmentStatus") == "fulfilled" {
			return false
		}
		var d struct {
			ItemsFetched bool `json:"itemsFetched"`
			Items        []struct {
				ProductType string `json:"productType"`
			} `json:"items"`
		}
		c.getJSON("/api/v1/orders/"+str(o, "id")+q("locationId", str(o, "locationId")), http.StatusOK, &d)
		for _, it := range d.Items {
			if strings.EqualFold(it.ProductType, "PHYSICAL") {
				return true
			}
		}
		return !d.ItemsFetched
	})
	if len(queue) == 0 {
		t.Error("orders: none to fulfill: the queue is not put to the test")
	}
	check("/api/v1/orders", queue, "toFulfill", "true")
	// Search: an id, a contact's email (any case), part of a name.
	var withEmail map[string]any
	for _, o := range orders {
		if str(o, "contactEmail") != "" && str(o, "contactName") != "" {
			withEmail = o
			break
		}
	}
	if withEmail == nil {
		t.Fatal("no order with a contact")
	}
	email, name := str(withEmail, "contactEmail"), str(withEmail, "contactName")
	check("/api/v1/orders", keep(orders, func(o map[string]any) bool { return str(o, "id") == str(withEmail, "id") }), "q", str(withEmail, "id"))
	check("/api/v1/orders", keep(orders, func(o map[string]any) bool { return strings.EqualFold(str(o, "contactEmail"), email) }), "q", strings.ToUpper(email))
	part := strings.ToLower(name[1 : len(name)-1])
	check("/api/v1/orders", keep(orders, func(o map[string]any) bool { return strings.Contains(strings.ToLower(str(o, "contactName")), part) }), "q", part)
	// An order's records.
	txns := c.one("/api/v1/transactions")
	var paid string
	for _, x := range txns {
		if str(x, "orderId") != "" {
			paid = str(x, "orderId")
			break
		}
	}
	if paid == "" {
		t.Fatal("no transaction of an order")
	}
	check("/api/v1/transactions", keep(txns, func(x map[string]any) bool { return str(x, "orderId") == paid }), "orderId", paid)
	fuls := c.one("/api/v1/fulfillments")
	shipped := str(fuls[0], "orderId")
	check("/api/v1/fulfillments", keep(fuls, func(f map[string]any) bool { return str(f, "orderId") == shipped }), "orderId", shipped)
}
