package sandbox

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/rankr/rankr/ghl"
)

// seedInvoiceBook gives a location the invoices API's other records, from
// its own dice so that the rest of the history stays as it was: invoice and
// estimate templates, estimates in each answered state, and two schedules
// (a draft, and an active one whose first invoice is due next month, so
// that no invoice or transaction exists that the orders do not explain).
func (g *generator) seedInvoiceBook(d dice, l *location, start time.Time) {
	lines := func(at time.Time) []invoiceLine {
		var out []invoiceLine
		for range d.between(1, 3) {
			p := pick(d, pick(d, l.products).prices)
			if !p.recurring() {
				out = append(out, invoiceLine{id: d.objectID(at), price: p, qty: d.between(1, 2)})
			}
		}
		if len(out) == 0 {
			p := pick(d, l.products).prices[0]
			out = append(out, invoiceLine{id: d.objectID(at), price: p, qty: 1})
		}
		return out
	}
	business := rawJSON(map[string]any{"name": l.name, "website": "https://example.com"})
	span := g.anchor.Sub(start)
	when := func() time.Time { return start.Add(d.duration(0, span)).UTC().Truncate(time.Millisecond) }

	for _, name := range []string{"Standard invoice", "Wholesale invoice"} {
		at := when()
		l.book.templates = append(l.book.templates, &templateRec{id: d.objectID(at), name: name, title: "INVOICE",
			termsNotes: "Payment is due within 30 days.", prefix: "INV-", business: business, currency: l.currency,
			lines: lines(at), createdAt: at, updatedAt: at})
	}
	at := when()
	l.book.estimateTemplates = append(l.book.estimateTemplates, &estimateTemplateRec{id: d.objectID(at),
		live: true, name: "Standard estimate", title: "ESTIMATE", termsNotes: "This estimate is valid for 30 days.",
		prefix: "EST-", business: business, currency: l.currency, lines: lines(at), createdAt: at, updatedAt: at})

	for i, status := range []ghl.EstimateStatus{ghl.EstimateDraft, ghl.EstimateSent, ghl.EstimateAccepted, ghl.EstimateDeclined} {
		at := when()
		c := pick(d, l.contacts)
		e := &estimateRec{id: d.objectID(at), number: 1001 + i, status: ghl.EstimateDraft, live: d.chance(0.9),
			name: "Estimate for " + c.name(), title: "ESTIMATE", prefix: "EST-", contact: c, business: business,
			currency: l.currency, lines: lines(at), issue: at.Truncate(24 * time.Hour),
			expiry: at.Truncate(24*time.Hour).AddDate(0, 0, 30), meta: json.RawMessage("{}"),
			history: []ghl.EstimateAction{{Action: "created", Timestamp: ghl.NewTime(at)}}, createdAt: at, updatedAt: at}
		if status != ghl.EstimateDraft {
			e.sentBy = "system"
			e.mark(ghl.EstimateSent, at.Add(time.Hour))
		}
		if status == ghl.EstimateAccepted || status == ghl.EstimateDeclined {
			e.mark(status, at.Add(48*time.Hour))
		}
		touch(&e.updatedAt, e.history[len(e.history)-1].Timestamp.Time)
		l.book.estimates = append(l.book.estimates, e)
	}
	sortByCreated(l.book.templates, func(t *templateRec) time.Time { return t.createdAt })
	sortByCreated(l.book.estimates, func(e *estimateRec) time.Time { return e.createdAt })

	next := g.anchor.AddDate(0, 1, 0).UTC()
	for _, status := range []ghl.InvoiceScheduleStatus{ghl.ScheduleDraft, ghl.ScheduleActive} {
		at := when()
		c := pick(d, l.contacts)
		l.book.schedules = append(l.book.schedules, &scheduleRec{id: d.objectID(at), status: status, live: true,
			name: "Monthly plan for " + c.name(), title: "INVOICE", termsNotes: "Billed monthly.", prefix: "INV-",
			contact: c, business: business, currency: l.currency, lines: lines(at),
			schedule: ghl.Schedule{RRule: &ghl.RRule{IntervalType: "monthly", Interval: 1,
				StartDate: next.Format(ghl.DateLayout), StartTime: "09:00:00", Count: 12}},
			createdAt: at, updatedAt: at})
	}
	sortByCreated(l.book.schedules, func(s *scheduleRec) time.Time { return s.createdAt })
}

// sortByCreated orders records by creation time, as the lists expect.
func sortByCreated[T any](xs []T, created func(T) time.Time) {
	slices.SortStableFunc(xs, func(a, b T) int { return created(a).Compare(created(b)) })
}
