package rankr

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Triggers are the named changes automations start from. GHL sends
// webhooks for orders, invoices, products and prices only; the derived
// triggers are what rankr sees change in what it syncs (transactions,
// subscriptions and fulfillments have no webhook at all), and rankr's own
// are what its flows do. Each is read off one change-feed event, so a
// trigger fires exactly once per effective change, whichever way (poll,
// webhook, walk) the change arrived.
//
// A record created with a status already set fires that status's trigger
// with its creation (a transaction first seen succeeded fires
// transaction.created and transaction.succeeded): for a consumer, being
// created paid is becoming paid. The generic status_changed triggers fire
// on changes only, never on creation: created already says what the
// record started as. Statuses rankr does not know fire only the generic
// triggers.

// Derived triggers (catalog source "derived").
const (
	TriggerOrderCreated               = "derived.order.created"
	TriggerOrderStatusChanged         = "derived.order.status_changed"
	TriggerOrderPaid                  = "derived.order.paid"
	TriggerOrderPartiallyPaid         = "derived.order.partially_paid"
	TriggerOrderRefunded              = "derived.order.refunded"
	TriggerOrderFulfilled             = "derived.order.fulfilled"
	TriggerFulfillmentCreated         = "derived.fulfillment.created"
	TriggerTransactionCreated         = "derived.transaction.created"
	TriggerTransactionSucceeded       = "derived.transaction.succeeded"
	TriggerTransactionFailed          = "derived.transaction.failed"
	TriggerTransactionRefunded        = "derived.transaction.refunded"
	TriggerSubscriptionCreated        = "derived.subscription.created"
	TriggerSubscriptionStatusChanged  = "derived.subscription.status_changed"
	TriggerSubscriptionRenewed        = "derived.subscription.renewed"
	TriggerSubscriptionCancelled      = "derived.subscription.cancelled"
	TriggerSubscriptionPastDue        = "derived.subscription.past_due"
	TriggerInvoiceStatusChanged       = "derived.invoice.status_changed"
	TriggerReconcileExceptionOpened   = "rankr.reconcile.exception_opened"
	TriggerReconcileExceptionResolved = "rankr.reconcile.exception_resolved"
	TriggerFulfillmentPushed          = "rankr.fulfillment.pushed"
	TriggerFulfillmentPushFailed      = "rankr.fulfillment.push_failed"
	TriggerNoticeSent                 = "rankr.notice.sent"
	TriggerNoticeFailed               = "rankr.notice.failed"
	TriggerSubscriptionInvoiced       = "rankr.subscription.invoiced"
	TriggerWebhookDeadLettered        = "rankr.webhook.dead_lettered"
	TriggerConnectionAuthFailed       = "rankr.connection.auth_failed"
	TriggerKeyExpiring                = "rankr.key.expiring"
)

// Event kinds the store writes without a constant of their own elsewhere.
const (
	// EventKeyExpiring: an API key entered its last week or day.
	EventKeyExpiring = "key.expiring"
	// EventOAuthReauthRequired: GHL refused an OAuth install's refresh
	// token; the location syncs no more until the app is reinstalled. (A
	// Private Integration Token GHL refuses changes the connection's state
	// and the audit log, but appends no event, so it fires nothing.)
	EventOAuthReauthRequired = "connection.oauth_" + TokenReauthRequired
)

// TriggerKeys lists every trigger Triggers can return, derived ones first.
func TriggerKeys() []string {
	return []string{
		TriggerOrderCreated, TriggerOrderStatusChanged, TriggerOrderPaid, TriggerOrderPartiallyPaid, TriggerOrderRefunded,
		TriggerOrderFulfilled, TriggerFulfillmentCreated, TriggerTransactionCreated, TriggerTransactionSucceeded,
		TriggerTransactionFailed, TriggerTransactionRefunded, TriggerSubscriptionCreated, TriggerSubscriptionStatusChanged,
		TriggerSubscriptionRenewed, TriggerSubscriptionCancelled, TriggerSubscriptionPastDue, TriggerInvoiceStatusChanged,
		TriggerReconcileExceptionOpened, TriggerReconcileExceptionResolved, TriggerFulfillmentPushed, TriggerFulfillmentPushFailed,
		TriggerNoticeSent, TriggerNoticeFailed, TriggerSubscriptionInvoiced, TriggerWebhookDeadLettered,
		TriggerConnectionAuthFailed, TriggerKeyExpiring,
	}
}

// rankrTriggers are rankr's own triggers, one per event kind.
var rankrTriggers = map[string]string{
	ExceptionOpened:          TriggerReconcileExceptionOpened,
	ExceptionResolved:        TriggerReconcileExceptionResolved,
	FulfillmentPushed:        TriggerFulfillmentPushed,
	FulfillmentPushFailed:    TriggerFulfillmentPushFailed,
	EventNoticeSent:          TriggerNoticeSent,
	EventNoticeFailed:        TriggerNoticeFailed,
	SubscriptionInvoiced:     TriggerSubscriptionInvoiced,
	WebhookDeadLettered:      TriggerWebhookDeadLettered,
	EventOAuthReauthRequired: TriggerConnectionAuthFailed,
	EventKeyExpiring:         TriggerKeyExpiring,
}

// triggerData is what the triggers read of an event's data: a creation's
// fields, or an update's changes ({"status": [old, new], ...}).
type triggerData struct {
	// UpdatedAt is GHL's version of a record a creation event first
	// stores (see HistoryAge).
	UpdatedAt         time.Time         `json:"updatedAt"`
	Status            string            `json:"status"`
	PaymentStatus     string            `json:"paymentStatus"`
	FulfillmentStatus string            `json:"fulfillmentStatus"`
	Changes           map[string][2]any `json:"changes"`
}

// to returns the new value of a changed field and whether it changed.
func (d triggerData) to(field string) (string, bool) {
	c, ok := d.Changes[field]
	if !ok {
		return "", false
	}
	s, _ := c[1].(string)
	return s, true
}

// grew reports whether a changed number field grew.
func (d triggerData) grew(field string) bool {
	c, ok := d.Changes[field]
	if !ok {
		return false
	}
	from, _ := c[0].(float64)
	to, _ := c[1].(float64)
	return to > from
}

// HistoryAge is how old GHL's version of a record may be when rankr first
// stores it and its creation still fires triggers. An older one is history
// that a backfill (or a walk) brings in, not news: connecting a location
// with years of orders must not run "each paid order" automations on
// every one of them, nor mail their customers.
const HistoryAge = 48 * time.Hour

// creations are the event kinds that first store a record.
var creations = map[string]bool{OrderCreated: true, TransactionCreated: true, SubscriptionCreated: true, InvoiceCreated: true,
	ProductCreated: true, PriceCreated: true}

// Triggers returns the keys of the triggers an event fires, in a stable
// order, each once; none for an event no trigger follows (products and
// prices, whose changes GHL's own webhooks announce; deletions; rankr's
// bookkeeping).
func Triggers(ev Event) []string {
	if key, ok := rankrTriggers[ev.Kind]; ok {
		return []string{key}
	}
	var d triggerData
	if len(ev.Data) > 0 {
		// Data rankr wrote itself; unreadable data fires only what the
		// kind alone says.
		_ = json.Unmarshal(ev.Data, &d)
	}
	if creations[ev.Kind] && !d.UpdatedAt.IsZero() && ev.At.Sub(d.UpdatedAt) > HistoryAge {
		return nil
	}
	var out []string
	add := func(keys ...string) {
		for _, k := range keys {
			if k != "" && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	switch ev.Kind {
	case OrderCreated:
		add(TriggerOrderCreated, orderPayment(d.PaymentStatus), orderFulfillment(d.FulfillmentStatus))
	case OrderUpdated, OrderStatusChanged, OrderFulfillmentStatusChanged, OrderPaymentStatusChanged:
		// One update is one event of its most specific kind, and may
		// change several statuses at once: read them all off its changes.
		_, status := d.to("status")
		_, rankrStatus := d.to("rankrStatus")
		if status || rankrStatus {
			add(TriggerOrderStatusChanged)
		}
		if s, ok := d.to("paymentStatus"); ok {
			add(orderPayment(s))
		}
		if s, ok := d.to("fulfillmentStatus"); ok {
			add(orderFulfillment(s))
		}
	case FulfillmentCreated:
		add(TriggerFulfillmentCreated)
	case TransactionCreated:
		add(TriggerTransactionCreated, transactionStatus(d.Status))
	case TransactionUpdated, TransactionStatusChanged:
		if s, ok := d.to("status"); ok {
			add(transactionStatus(s))
		}
		// A second partial refund leaves the status partially_refunded:
		// the refunded amount growing is the refund.
		if d.grew("amountRefunded") {
			add(TriggerTransactionRefunded)
		}
	case SubscriptionCreated:
		add(TriggerSubscriptionCreated, subscriptionStatus(d.Status))
	case SubscriptionUpdated, SubscriptionStatusChanged:
		if s, ok := d.to("status"); ok {
			add(TriggerSubscriptionStatusChanged, subscriptionStatus(s))
		}
	case SubscriptionRenewed:
		add(TriggerSubscriptionRenewed)
	case InvoiceUpdated, InvoiceStatusChanged:
		if _, ok := d.to("status"); ok {
			add(TriggerInvoiceStatusChanged)
		}
	}
	return out
}

// orderPayment is the trigger of an order's payment status (the values
// DerivePaymentStatus produces); unpaid has none.
func orderPayment(s string) string {
	switch s {
	case PaymentPaid:
		return TriggerOrderPaid
	case PaymentPartiallyPaid:
		return TriggerOrderPartiallyPaid
	case PaymentRefunded, PaymentPartiallyRefunded:
		return TriggerOrderRefunded
	}
	return ""
}

// orderFulfillment is the trigger of GHL's fulfillment status of an order.
func orderFulfillment(s string) string {
	if strings.EqualFold(s, "fulfilled") {
		return TriggerOrderFulfilled
	}
	return ""
}

// transactionStatus is the trigger of a GHL transaction status: succeeded
// (and paid, which CollectedStatus takes as the same), failed, refunded in
// full or in part. pending and unknown values have none.
func transactionStatus(s string) string {
	switch strings.ToLower(s) {
	case "succeeded", "paid":
		return TriggerTransactionSucceeded
	case "failed":
		return TriggerTransactionFailed
	case "refunded", "partially_refunded":
		return TriggerTransactionRefunded
	}
	return ""
}

// subscriptionStatus is the trigger of a GHL subscription status: both
// spellings of cancelled, and past_due. active, trialing, incomplete and
// unknown values have none.
func subscriptionStatus(s string) string {
	switch strings.ToLower(s) {
	case "canceled", "cancelled":
		return TriggerSubscriptionCancelled
	case "past_due":
		return TriggerSubscriptionPastDue
	}
	return ""
}

// webhookTriggers are GHL's commerce webhook types.
var webhookTriggers = map[string]string{
	"OrderCreate":          "ghl.webhook.order_create",
	"OrderStatusUpdate":    "ghl.webhook.order_status_update",
	"InvoiceCreate":        "ghl.webhook.invoice_create",
	"InvoiceUpdate":        "ghl.webhook.invoice_update",
	"InvoiceSent":          "ghl.webhook.invoice_sent",
	"InvoicePaid":          "ghl.webhook.invoice_paid",
	"InvoicePartiallyPaid": "ghl.webhook.invoice_partially_paid",
	"InvoiceVoid":          "ghl.webhook.invoice_void",
	"InvoiceDelete":        "ghl.webhook.invoice_delete",
	"ProductCreate":        "ghl.webhook.product_create",
	"ProductUpdate":        "ghl.webhook.product_update",
	"ProductDelete":        "ghl.webhook.product_delete",
	"PriceCreate":          "ghl.webhook.price_create",
	"PriceUpdate":          "ghl.webhook.price_update",
	"PriceDelete":          "ghl.webhook.price_delete",
}

// WebhookTrigger is the trigger key of one of GHL's 15 commerce webhook
// types (OrderCreate: ghl.webhook.order_create), or "" for any other type
// (app installs, contacts...), which no trigger follows.
func WebhookTrigger(webhookType string) string { return webhookTriggers[webhookType] }
