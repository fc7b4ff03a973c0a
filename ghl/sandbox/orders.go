package sandbox

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/rankr/rankr/ghl"
)

func (s *Server) listOrders(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(10, false)
	if e != nil {
		return nil, e
	}
	win, e := req.window()
	if e != nil {
		return nil, e
	}
	q := req.query
	status, payStatus, search := q.Get("status"), q.Get("paymentStatus"), q.Get("search")
	contactID, sourceID := q.Get("contactId"), q.Get("sourceId")
	var products []string
	if v := q.Get("funnelProductIds"); v != "" {
		products = strings.Split(v, ",")
	}
	live := req.liveFilter()

	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	match := func(o *orderRec) bool {
		return !o.deleted && live(o.live) && win.contains(o.createdAt) &&
			(status == "" || string(o.status) == status) &&
			(payStatus == "" || string(o.payment) == payStatus) &&
			(contactID == "" || o.contact.id == contactID) &&
			(sourceID == "" || o.src.id == sourceID) &&
			(len(products) == 0 || o.hasProduct(products)) &&
			(search == "" || containsFold(search, o.id, o.contact.name(), o.contact.email))
	}
	if req.unfiltered("status", "paymentStatus", "paymentMode", "startAt", "endAt", "search", "contactId", "funnelProductIds", "sourceId") {
		match = nil
	}
	items, total := collect(l.orders, limit, offset, match, l.orderItem)
	return listBody[ghl.Order]{Data: items, TotalCount: total}, nil
}

func (o *orderRec) hasProduct(ids []string) bool {
	for _, ln := range o.lines {
		if slices.Contains(ids, ln.price.product.p.ID) {
			return true
		}
	}
	return false
}

// order finds a live order by the path's id. Call with the lock held.
func (req *apiRequest) order() (*orderRec, *apiError) {
	o := req.loc.orderByID[req.r.PathValue("orderId")]
	if o == nil || o.deleted {
		return nil, notFound("Order not found")
	}
	return o, nil
}

func (s *Server) getOrder(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	o, e := req.order()
	if e != nil {
		return nil, e
	}
	d := l.orderDetail(o)
	d.TraceID = s.traceID()
	return d, nil
}

type recordPaymentBody struct {
	Mode string `json:"mode"`
	Card *struct {
		Type  string `json:"type"`
		Last4 string `json:"last4"`
	} `json:"card"`
	Cheque *struct {
		Number string `json:"number"`
	} `json:"cheque"`
	Notes            string          `json:"notes"`
	Amount           *ghl.Number     `json:"amount"`
	Meta             json.RawMessage `json:"meta"`
	IsPartialPayment bool            `json:"isPartialPayment"`
}

var paymentModes = []string{"cash", "card", "cheque", "bank_transfer", "other"}

func (s *Server) recordPayment(req *apiRequest) (any, *apiError) {
	var b recordPaymentBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if !slices.Contains(paymentModes, b.Mode) {
		return nil, unprocessable("mode must be one of the following values: " + strings.Join(paymentModes, ", "))
	}
	if b.Card != nil && (!slices.Contains([]string{"visa", "mastercard", "other"}, b.Card.Type) || len(b.Card.Last4) != 4) {
		return nil, unprocessable("card.type must be one of the following values: visa, mastercard, other", "card.last4 must be 4 digits")
	}
	if b.Mode == "cheque" && (b.Cheque == nil || b.Cheque.Number == "") {
		return nil, unprocessable("cheque.number should not be empty")
	}

	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	o, e := req.order()
	if e != nil {
		return nil, e
	}
	if o.status == ghl.OrderCancelled {
		return nil, badRequest("Cannot record a payment for a cancelled order")
	}
	paid, refunded := o.paid()
	due := o.amount() - (paid - refunded)
	if due <= 0 {
		return nil, badRequest("Order is already paid")
	}
	amount := due
	if b.Amount != nil && *b.Amount != "" {
		v, err := b.Amount.Scaled(2)
		if err != nil || v <= 0 {
			return nil, unprocessable("amount must be a positive number with at most 2 decimals")
		}
		amount = v
	}
	if amount > due {
		return nil, badRequest(fmt.Sprintf("Amount %s exceeds the amount due %s", money(amount), money(due)))
	}
	if amount < due && !b.IsPartialPayment {
		return nil, badRequest("Amount is less than the amount due; set isPartialPayment to record a partial payment")
	}
	pay := payment{provider: "manual", mode: b.Mode}
	if b.Card != nil {
		pay.cardBrand, pay.last4 = b.Card.Type, b.Card.Last4
	}
	d := dice{l.rng}
	l.charge(d, o, amount, req.now, ghl.TxnSucceeded, pay)
	text := fmt.Sprintf("Payment of %s %s recorded (%s)", money(amount), o.currency, b.Mode)
	if b.Notes != "" {
		text += ": " + b.Notes
	}
	o.notes = append(o.notes, note{id: d.objectID(req.now), text: text, by: "api", at: req.now})
	return map[string]bool{"success": true}, nil
}

type fulfillmentBody struct {
	Trackings *[]ghl.Tracking `json:"trackings"`
	Items     *[]struct {
		PriceID string     `json:"priceId"`
		Qty     ghl.Number `json:"qty"`
	} `json:"items"`
	NotifyCustomer *bool `json:"notifyCustomer"`
}

func (s *Server) createFulfillment(req *apiRequest) (any, *apiError) {
	var b fulfillmentBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	var msgs []string
	if b.Trackings == nil {
		msgs = append(msgs, "trackings must be an array")
	}
	if b.Items == nil || len(*b.Items) == 0 {
		msgs = append(msgs, "items should not be empty")
	}
	if b.NotifyCustomer == nil {
		msgs = append(msgs, "notifyCustomer must be a boolean value")
	}
	if len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}

	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	o, e := req.order()
	if e != nil {
		return nil, e
	}
	if o.status == ghl.OrderCancelled {
		return nil, badRequest("Cannot fulfill a cancelled order")
	}
	left := map[string]fulfilledLine{}
	for _, fl := range o.unshipped() {
		left[fl.price.p.ID] = fl
	}
	var items []fulfilledLine
	for _, it := range *b.Items {
		qty, ok := it.Qty.Int()
		if it.PriceID == "" || !ok || qty <= 0 {
			return nil, unprocessable("items.priceId should not be empty", "items.qty must be a positive integer")
		}
		fl, ok := left[it.PriceID]
		if !ok {
			return nil, badRequest(fmt.Sprintf("Item with priceId %s has nothing left to fulfill in this order", it.PriceID))
		}
		if qty > fl.qty {
			return nil, badRequest(fmt.Sprintf("Cannot fulfill %d of priceId %s: only %d left", qty, it.PriceID, fl.qty))
		}
		fl.qty -= qty
		left[it.PriceID] = fl
		items = append(items, fulfilledLine{lineID: fl.lineID, price: fl.price, qty: qty})
	}
	trackings := slices.Clone(*b.Trackings)
	f := l.fulfill(dice{l.rng}, o, items, trackings, *b.NotifyCustomer, req.now)
	return struct {
		Status bool            `json:"status"`
		Data   ghl.Fulfillment `json:"data"`
	}{true, l.fulfillment(f)}, nil
}

func (s *Server) listFulfillments(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	o, e := req.order()
	if e != nil {
		return nil, e
	}
	out := make([]ghl.Fulfillment, 0, len(o.fulfillments))
	for _, f := range o.fulfillments {
		out = append(out, l.fulfillment(f))
	}
	return struct {
		Status bool              `json:"status"`
		Data   []ghl.Fulfillment `json:"data"`
	}{true, out}, nil
}

// orderNote is the sandbox's rendering of a note; GHL's spec gives notes no
// schema.
type orderNote struct {
	ID        string   `json:"_id"`
	Text      string   `json:"text"`
	CreatedBy string   `json:"createdBy"`
	CreatedAt ghl.Time `json:"createdAt"`
}

func (s *Server) listNotes(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	o, e := req.order()
	if e != nil {
		return nil, e
	}
	out := make([]orderNote, 0, len(o.notes))
	for _, n := range o.notes {
		out = append(out, orderNote{ID: n.id, Text: n.text, CreatedBy: n.by, CreatedAt: ghl.NewTime(n.at)})
	}
	return listBody[orderNote]{Data: out, TotalCount: len(out), TraceID: s.traceID()}, nil
}
