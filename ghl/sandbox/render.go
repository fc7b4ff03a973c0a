package sandbox

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// The render functions turn internal records into GHL's wire shapes. They run
// with the location's lock held.

func (l *location) orderItem(o *orderRec) ghl.Order {
	var onetime, recurring int
	for _, ln := range o.lines {
		if ln.price.recurring() {
			recurring++
		} else {
			onetime++
		}
	}
	return ghl.Order{
		ID: o.id, AltID: l.id, AltType: "location",
		ContactID: o.contact.id, ContactName: o.contact.name(), ContactEmail: o.contact.email,
		Currency: o.currency, Amount: money(o.amount()), Subtotal: money(o.subtotal), Discount: money(o.discount),
		Status: o.status, LiveMode: o.live, FulfillmentStatus: o.fulfillment,
		TotalProducts:     ghl.NumberFromInt(int64(len(o.lines))),
		OnetimeProducts:   ghl.NumberFromInt(int64(onetime)),
		RecurringProducts: ghl.NumberFromInt(int64(recurring)),
		SourceType:        o.src.typ, SourceSubType: o.src.subType, SourceName: o.src.name, SourceID: o.src.id,
		SourceMeta: o.src.meta, CouponCode: o.couponCode, CreatedBy: o.createdBy,
		CreatedAt: ghl.NewTime(o.createdAt), UpdatedAt: ghl.NewTime(o.updatedAt),
	}
}

func (l *location) orderDetail(o *orderRec) ghl.OrderDetail {
	d := ghl.OrderDetail{
		ID: o.id, AltID: l.id, AltType: "location",
		ContactID: o.contact.id, ContactSnapshot: o.contact.snapshot(l.id),
		Currency: o.currency, Amount: money(o.amount()), Status: o.status, LiveMode: o.live,
		FulfillmentStatus: o.fulfillment,
		AmountSummary: &ghl.AmountSummary{
			Subtotal: money(o.subtotal), Discount: money(o.discount), Tax: money(o.tax), Shipping: money(o.shipping),
		},
		Source:      renderSource(o.src),
		TrackingID:  o.trackingID,
		Fingerprint: o.fingerprint,
		MarkAsTest:  !o.live,
		CreatedBy:   o.createdBy,
		CreatedAt:   ghl.NewTime(o.createdAt), UpdatedAt: ghl.NewTime(o.updatedAt),
	}
	if o.tax > 0 {
		d.TaxSummary = []ghl.TaxLine{{ID: taxID(l.id), Name: "10%", Calculation: "exclusive",
			Rate: ghl.NumberFromInt(10), Amount: money(o.tax)}}
	}
	if o.couponCode != "" {
		d.Coupon = &ghl.CouponRef{ID: o.couponID, Code: o.couponCode}
	}
	d.Items = make([]ghl.OrderItem, 0, len(o.lines))
	for _, ln := range o.lines {
		d.Items = append(d.Items, ghl.OrderItem{
			ID: ln.id, LocationID: l.id, Name: ln.price.product.p.Name + " - " + ln.price.p.Name,
			Qty: ghl.NumberFromInt(int64(ln.qty)), Product: ln.price.product.p, Price: ln.price.p,
		})
	}
	return d
}

func taxID(locationID string) string { return hexID("tax", locationID) }

func renderSource(s source) *ghl.OrderSource {
	return &ghl.OrderSource{Type: s.typ, SubType: s.subType, ID: s.id, Name: s.name, Meta: s.meta}
}

func (l *location) fulfillment(f *fulfillmentRec) ghl.Fulfillment {
	out := ghl.Fulfillment{
		ID: f.id, AltID: l.id, AltType: "location", Trackings: f.trackings,
		Items:     make([]ghl.FulfilledItem, 0, len(f.items)),
		CreatedAt: ghl.NewTime(f.createdAt), UpdatedAt: ghl.NewTime(f.createdAt),
	}
	if out.Trackings == nil {
		out.Trackings = []ghl.Tracking{}
	}
	for _, it := range f.items {
		out.Items = append(out.Items, ghl.FulfilledItem{
			ID: it.lineID, Name: it.price.product.p.Name + " - " + it.price.p.Name,
			Product: it.price.product.p, Price: it.price.p, Qty: ghl.NumberFromInt(int64(it.qty)),
		})
	}
	return out
}

// render refreshes the transaction's pre-rendered JSON; call it after every
// change.
func (t *txnRec) render() {
	t.chargeJSON, t.methodJSON = t.chargeSnapshot(), t.paymentMethod()
}

func (t *txnRec) paymentMethod() json.RawMessage {
	var v any
	switch {
	case t.last4 != "":
		v = map[string]any{"card": map[string]string{"brand": t.cardBrand, "last4": t.last4}}
	case t.manualMode != "":
		v = map[string]any{"type": t.manualMode}
	default:
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

func (t *txnRec) chargeSnapshot() json.RawMessage {
	if t.chargeID == "" {
		return nil
	}
	b, _ := json.Marshal(map[string]any{
		"id": t.chargeID, "amount": t.amount, "amount_refunded": t.refunded,
		"currency": strings.ToLower(t.currency), "status": string(t.status), "livemode": t.live,
	})
	return b
}

func (l *location) txnItem(t *txnRec) ghl.Transaction {
	return ghl.Transaction{
		ID: t.id, AltID: l.id, AltType: "location",
		ContactID: t.contact.id, ContactName: t.contact.name(), ContactEmail: t.contact.email,
		Currency: t.currency, Amount: money(t.amount), AmountRefunded: money(t.refunded),
		Status: t.status, LiveMode: t.live, EntityType: t.entityType, EntityID: t.entityID,
		EntitySourceType: string(t.src.typ), EntitySourceSubType: t.src.subType,
		EntitySourceName: t.src.name, EntitySourceID: t.src.id, EntitySourceMeta: t.src.meta,
		SubscriptionID: t.subID, ChargeID: t.chargeID, ChargeSnapshot: t.chargeJSON,
		PaymentProviderType: t.provider, PaymentProviderConnectedAccount: t.account,
		PaymentMethod: t.methodJSON, IPAddress: t.ip,
		CreatedAt: ghl.NewTime(t.createdAt), UpdatedAt: ghl.NewTime(t.updatedAt), FulfilledAt: ghl.NewTime(t.fulfilledAt),
	}
}

func (l *location) txnDetail(t *txnRec) ghl.TransactionDetail {
	d := ghl.TransactionDetail{
		ID: t.id, AltID: l.id, AltType: "location",
		ContactID: t.contact.id, ContactSnapshot: t.contact.snapshot(l.id),
		Currency: t.currency, Amount: money(t.amount), AmountRefunded: money(t.refunded),
		Status: t.status, LiveMode: t.live, EntityType: t.entityType, EntityID: t.entityID,
		EntitySource: renderSource(t.src), ChargeID: t.chargeID, ChargeSnapshot: t.chargeJSON,
		InvoiceID: t.invoiceID, SubscriptionID: t.subID, ReceiptID: t.receiptID,
		IPAddress: t.ip, MarkAsTest: !t.live,
		CreatedAt: ghl.NewTime(t.createdAt), UpdatedAt: ghl.NewTime(t.updatedAt),
	}
	if t.provider != "" {
		acct, _ := json.Marshal(map[string]string{"_id": t.account})
		d.PaymentProvider = &ghl.PaymentProvider{Type: t.provider, ConnectedAccount: acct}
	}
	return d
}

func (s *subRec) snapshot() json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"id": s.providerSubID, "status": strings.ToUpper(string(s.status)), "quantity": 1,
		"start_time": s.startDate.UTC().Format(time.RFC3339),
	})
	return b
}

func (l *location) subItem(s *subRec) ghl.Subscription {
	return ghl.Subscription{
		ID: s.id, AltID: l.id, AltType: "location",
		ContactID: s.contact.id, ContactName: s.contact.name(), ContactEmail: s.contact.email,
		Currency: s.currency, Amount: money(s.amount), Status: s.status, LiveMode: s.live,
		EntityType: "order", EntityID: s.orderID,
		EntitySourceType: string(s.src.typ), EntitySourceName: s.src.name, EntitySourceID: s.src.id,
		EntitySourceMeta: s.src.meta, SubscriptionID: s.providerSubID, SubscriptionSnapshot: s.snapshot(),
		PaymentProviderType: s.provider, PaymentProviderConnectedAccount: s.account,
		CreatedAt: ghl.NewTime(s.createdAt), UpdatedAt: ghl.NewTime(s.updatedAt),
	}
}

func (l *location) subDetail(s *subRec) ghl.SubscriptionDetail {
	acct, _ := json.Marshal(map[string]string{"_id": s.account})
	recurring, _ := json.Marshal(map[string]any{"locationId": l.id, "priceId": s.price.p.ID, "productId": s.price.product.p.ID})
	d := ghl.SubscriptionDetail{
		ID: s.id, AltID: l.id, AltType: "location",
		ContactID: s.contact.id, ContactSnapshot: s.contact.snapshot(l.id),
		Currency: s.currency, Amount: money(s.amount), Status: s.status, LiveMode: s.live,
		EntityType: "order", EntityID: s.orderID, EntitySource: renderSource(s.src),
		SubscriptionID: s.providerSubID, SubscriptionSnapshot: s.snapshot(),
		PaymentProvider:  &ghl.PaymentProvider{Type: s.provider, ConnectedAccount: acct},
		MarkAsTest:       !s.live,
		RecurringProduct: recurring,
		Schedule: &ghl.Schedule{
			RRule: &ghl.RRule{IntervalType: s.intervalType, Interval: s.interval,
				StartDate: s.startDate.UTC().Format(ghl.DateLayout), StartTime: s.startDate.UTC().Format("15:04:05")},
		},
		CanceledBy: s.canceledBy,
		CreatedAt:  ghl.NewTime(s.createdAt), UpdatedAt: ghl.NewTime(s.updatedAt),
	}
	if s.status != ghl.SubCanceled {
		d.Schedule.ExecuteAt = ghl.NewTime(s.nextRun)
	}
	if !s.canceledAt.IsZero() {
		d.CanceledAt = ghl.NewTime(s.canceledAt)
	}
	return d
}
