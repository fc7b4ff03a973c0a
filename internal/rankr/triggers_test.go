package rankr

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTriggers(t *testing.T) {
	t.Parallel()
	// The data is what the store writes for each kind (see
	// internal/store/sqlstore: insertOrder, changed, settleOrder...).
	tests := []struct {
		name, kind, data string
		want             []string
	}{
		{"order created unpaid", OrderCreated, `{"amount":4200,"currency":"USD","fulfillmentStatus":"unfulfilled","paymentStatus":"unpaid","rankrStatus":"awaiting_payment","status":"pending","updatedAt":"2026-01-02T03:04:05Z"}`,
			[]string{TriggerOrderCreated}},
		{"order created paid", OrderCreated, `{"amount":4200,"currency":"USD","fulfillmentStatus":"unfulfilled","paymentStatus":"paid","rankrStatus":"paid","status":"completed","updatedAt":"2026-01-02T03:04:05Z"}`,
			[]string{TriggerOrderCreated, TriggerOrderPaid}},
		{"order created paid and shipped", OrderCreated, `{"fulfillmentStatus":"fulfilled","paymentStatus":"paid","status":"completed"}`,
			[]string{TriggerOrderCreated, TriggerOrderPaid, TriggerOrderFulfilled}},
		{"order created partly refunded", OrderCreated, `{"fulfillmentStatus":"unfulfilled","paymentStatus":"partially_refunded","status":"partially_refunded"}`,
			[]string{TriggerOrderCreated, TriggerOrderRefunded}},
		{"order paid", OrderPaymentStatusChanged, `{"changes":{"paymentStatus":["unpaid","paid"],"rankrStatus":["awaiting_payment","paid"]},"paid":4200,"refunded":0}`,
			[]string{TriggerOrderStatusChanged, TriggerOrderPaid}},
		{"order paid in part", OrderPaymentStatusChanged, `{"changes":{"paymentStatus":["unpaid","partially_paid"],"rankrStatus":["awaiting_payment","partially_paid"]},"paid":2100,"refunded":0}`,
			[]string{TriggerOrderStatusChanged, TriggerOrderPartiallyPaid}},
		{"order paid, GHL completed it first", OrderPaymentStatusChanged, `{"changes":{"paymentStatus":["unpaid","paid"]},"paid":4200,"refunded":0}`,
			[]string{TriggerOrderPaid}},
		{"order refunded", OrderPaymentStatusChanged, `{"changes":{"paymentStatus":["paid","refunded"],"rankrStatus":["fulfilled","refunded"]},"paid":4200,"refunded":4200}`,
			[]string{TriggerOrderStatusChanged, TriggerOrderRefunded}},
		{"order refunded in part", OrderPaymentStatusChanged, `{"changes":{"paymentStatus":["paid","partially_refunded"],"rankrStatus":["paid","partially_refunded"]},"paid":4200,"refunded":1000}`,
			[]string{TriggerOrderStatusChanged, TriggerOrderRefunded}},
		{"order unpaid again", OrderPaymentStatusChanged, `{"changes":{"paymentStatus":["paid","unpaid"],"rankrStatus":["paid","awaiting_payment"]},"paid":0,"refunded":0}`,
			[]string{TriggerOrderStatusChanged}},
		{"order completed by GHL", OrderStatusChanged, `{"changes":{"rankrStatus":["awaiting_payment","paid"],"status":["pending","completed"]},"updatedAt":"2026-01-02T03:04:05Z"}`,
			[]string{TriggerOrderStatusChanged}},
		{"order fulfilled", OrderFulfillmentStatusChanged, `{"changes":{"fulfillmentStatus":["unfulfilled","fulfilled"],"rankrStatus":["paid","fulfilled"]},"updatedAt":"2026-01-02T03:04:05Z"}`,
			[]string{TriggerOrderStatusChanged, TriggerOrderFulfilled}},
		{"order fulfilled in part", OrderFulfillmentStatusChanged, `{"changes":{"fulfillmentStatus":["unfulfilled","partially_fulfilled"],"rankrStatus":["paid","partially_fulfilled"]}}`,
			[]string{TriggerOrderStatusChanged}},
		// The most specific kind is status_changed; the fulfillment status
		// changed in the same update.
		{"order completed and fulfilled at once", OrderStatusChanged, `{"changes":{"fulfillmentStatus":["unfulfilled","fulfilled"],"status":["pending","completed"]}}`,
			[]string{TriggerOrderStatusChanged, TriggerOrderFulfilled}},
		{"order amount only", OrderUpdated, `{"changes":{"amount":[4200,4300]},"updatedAt":"2026-01-02T03:04:05Z"}`, nil},
		{"order restored", OrderUpdated, `{"changes":{"deleted":[true,false]}}`, nil},
		{"order deleted", OrderDeleted, `{}`, nil},
		{"order in a status rankr does not know", OrderStatusChanged, `{"changes":{"status":["pending","on_hold"],"rankrStatus":["awaiting_payment","unknown"]}}`,
			[]string{TriggerOrderStatusChanged}},

		{"fulfillment", FulfillmentCreated, `{"items":2,"orderId":"o1","trackingNumbers":["1Z999"]}`, []string{TriggerFulfillmentCreated}},

		{"transaction created succeeded", TransactionCreated, `{"amount":4200,"currency":"USD","entityId":"o1","entityType":"order","status":"succeeded","subscriptionId":"","updatedAt":"2026-01-02T03:04:05Z"}`,
			[]string{TriggerTransactionCreated, TriggerTransactionSucceeded}},
		{"transaction created failed", TransactionCreated, `{"amount":4200,"currency":"USD","entityId":"o1","entityType":"order","status":"failed"}`,
			[]string{TriggerTransactionCreated, TriggerTransactionFailed}},
		{"transaction created refunded", TransactionCreated, `{"status":"partially_refunded"}`,
			[]string{TriggerTransactionCreated, TriggerTransactionRefunded}},
		{"transaction created pending", TransactionCreated, `{"status":"pending"}`, []string{TriggerTransactionCreated}},
		{"transaction created in an unknown status", TransactionCreated, `{"status":"disputed"}`, []string{TriggerTransactionCreated}},
		{"transaction succeeded", TransactionStatusChanged, `{"changes":{"status":["pending","succeeded"]},"updatedAt":"2026-01-02T03:04:05Z"}`,
			[]string{TriggerTransactionSucceeded}},
		{"transaction failed", TransactionStatusChanged, `{"changes":{"status":["pending","failed"]}}`, []string{TriggerTransactionFailed}},
		{"transaction refunded", TransactionStatusChanged, `{"changes":{"amountRefunded":[0,4200],"status":["succeeded","refunded"]}}`,
			[]string{TriggerTransactionRefunded}},
		{"transaction refunded again in part", TransactionUpdated, `{"changes":{"amountRefunded":[1000,2000]}}`,
			[]string{TriggerTransactionRefunded}},
		{"transaction refund undone", TransactionUpdated, `{"changes":{"amountRefunded":[2000,0]}}`, nil},
		{"transaction amount", TransactionUpdated, `{"changes":{"amount":[4200,4300]}}`, nil},

		{"subscription created active", SubscriptionCreated, `{"amount":1900,"currency":"USD","orderId":"o1","status":"active","updatedAt":"2026-01-02T03:04:05Z"}`,
			[]string{TriggerSubscriptionCreated}},
		{"subscription created canceled", SubscriptionCreated, `{"status":"canceled"}`,
			[]string{TriggerSubscriptionCreated, TriggerSubscriptionCancelled}},
		{"subscription created past due", SubscriptionCreated, `{"status":"past_due"}`,
			[]string{TriggerSubscriptionCreated, TriggerSubscriptionPastDue}},
		{"subscription cancelled", SubscriptionStatusChanged, `{"changes":{"status":["active","canceled"]}}`,
			[]string{TriggerSubscriptionStatusChanged, TriggerSubscriptionCancelled}},
		{"subscription past due", SubscriptionStatusChanged, `{"changes":{"status":["active","past_due"]}}`,
			[]string{TriggerSubscriptionStatusChanged, TriggerSubscriptionPastDue}},
		{"subscription active again", SubscriptionStatusChanged, `{"changes":{"status":["past_due","active"]}}`,
			[]string{TriggerSubscriptionStatusChanged}},
		{"subscription amount", SubscriptionUpdated, `{"changes":{"amount":[1900,2900]}}`, nil},
		{"subscription renewed", SubscriptionRenewed, `{"amount":1900,"currency":"USD","paidAt":"2026-01-02T03:04:05Z","transactionId":"t1"}`,
			[]string{TriggerSubscriptionRenewed}},

		{"invoice paid", InvoiceStatusChanged, `{"changes":{"amountPaid":[0,4200],"status":["sent","paid"]}}`, []string{TriggerInvoiceStatusChanged}},
		{"invoice paid amount only", InvoiceUpdated, `{"changes":{"amountPaid":[0,2100]}}`, nil},
		{"invoice created", InvoiceCreated, `{"status":"draft"}`, nil},

		{"exception opened", ExceptionOpened, `{"exceptionId":1,"kind":"overpaid"}`, []string{TriggerReconcileExceptionOpened}},
		{"exception resolved", ExceptionResolved, `{"exceptionId":1,"kind":"overpaid"}`, []string{TriggerReconcileExceptionResolved}},
		{"pushed", FulfillmentPushed, `{"fulfillmentId":"f1","orderId":"o1"}`, []string{TriggerFulfillmentPushed}},
		{"push failed", FulfillmentPushFailed, `{"error":"GHL refused","orderId":"o1"}`, []string{TriggerFulfillmentPushFailed}},
		{"push requested", FulfillmentPushRequested, `{}`, nil},
		{"notice sent", EventNoticeSent, `{"attempts":1,"dedupeKey":"f1","kind":"fulfillment","messageId":"m"}`, []string{TriggerNoticeSent}},
		{"notice failed", EventNoticeFailed, `{"attempts":1,"error":"550"}`, []string{TriggerNoticeFailed}},
		{"notice unknown", EventNoticeUnknown, `{}`, nil},
		{"renewal invoiced", SubscriptionInvoiced, `{"transactionId":"t1","subscriptionId":"s1"}`, []string{TriggerSubscriptionInvoiced}},
		{"dead letter", WebhookDeadLettered, `{"attempts":8,"endpointId":"we_1"}`, []string{TriggerWebhookDeadLettered}},
		{"refresh token refused", "connection.oauth_reauth_required", `{"from":"active","to":"reauth_required"}`, []string{TriggerConnectionAuthFailed}},
		{"token active again", "connection.oauth_active", `{"from":"reauth_required","to":"active"}`, nil},
		{"key expiring", "key.expiring", `{"days":7,"keyId":"k1"}`, []string{TriggerKeyExpiring}},
		{"product", ProductUpdated, `{"changes":{"name":["a","b"]}}`, nil},
		{"bad data", TransactionCreated, `not json`, []string{TriggerTransactionCreated}},
	}
	for _, tt := range tests {
		got := Triggers(Event{Kind: tt.kind, Data: []byte(tt.data)})
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Triggers(%s %s) = %q, want %q", tt.name, tt.kind, tt.data, got, tt.want)
		}
	}
}

func TestTriggerKeys(t *testing.T) {
	t.Parallel()
	keys := TriggerKeys()
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Errorf("%s listed twice", k)
		}
		seen[k] = true
		if !strings.HasPrefix(k, "derived.") && !strings.HasPrefix(k, "rankr.") {
			t.Errorf("%s: want derived. or rankr.", k)
		}
	}
	for kind, key := range rankrTriggers {
		if !seen[key] {
			t.Errorf("%s (from %s) is not in TriggerKeys", key, kind)
		}
	}
	if len(keys) != 27 {
		t.Errorf("%d keys, want 27", len(keys))
	}
}

func TestWebhookTrigger(t *testing.T) {
	t.Parallel()
	types := []string{"OrderCreate", "OrderStatusUpdate", "InvoiceCreate", "InvoiceUpdate", "InvoiceSent", "InvoicePaid",
		"InvoicePartiallyPaid", "InvoiceVoid", "InvoiceDelete", "ProductCreate", "ProductUpdate", "ProductDelete",
		"PriceCreate", "PriceUpdate", "PriceDelete"}
	seen := map[string]bool{}
	for _, typ := range types {
		k := WebhookTrigger(typ)
		if !strings.HasPrefix(k, "ghl.webhook.") || seen[k] {
			t.Errorf("WebhookTrigger(%q) = %q", typ, k)
		}
		seen[k] = true
	}
	for typ, want := range map[string]string{"OrderCreate": "ghl.webhook.order_create",
		"InvoicePartiallyPaid": "ghl.webhook.invoice_partially_paid", "PriceDelete": "ghl.webhook.price_delete",
		"INSTALL": "", "ContactCreate": "", "": "", "ordercreate": ""} {
		if got := WebhookTrigger(typ); got != want {
			t.Errorf("WebhookTrigger(%q) = %q, want %q", typ, got, want)
		}
	}
}

// A record first stored long after GHL last changed it is history a
// backfill brought in: its creation fires nothing. A fresh one does, and
// so does any later change of an old one.
func TestTriggersSkipHistory(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	paid := func(updated time.Time) []byte {
		return []byte(`{"paymentStatus":"paid","status":"completed","updatedAt":"` + updated.Format(time.RFC3339) + `"}`)
	}
	if got := Triggers(Event{Kind: OrderCreated, At: now, Data: paid(now.Add(-3 * 24 * time.Hour))}); got != nil {
		t.Errorf("an order from 3 days ago, first stored now, fires %v", got)
	}
	if got := Triggers(Event{Kind: OrderCreated, At: now, Data: paid(now.Add(-time.Hour))}); !slices.Contains(got, TriggerOrderPaid) {
		t.Errorf("an order from an hour ago fires %v", got)
	}
	sub := []byte(`{"status":"active","updatedAt":"2020-01-01T00:00:00Z"}`)
	if got := Triggers(Event{Kind: SubscriptionCreated, At: now, Data: sub}); got != nil {
		t.Errorf("an old subscription fires %v", got)
	}
	change := []byte(`{"changes":{"paymentStatus":["unpaid","paid"]},"updatedAt":"2020-01-01T00:00:00Z"}`)
	if got := Triggers(Event{Kind: OrderPaymentStatusChanged, At: now, Data: change}); !slices.Contains(got, TriggerOrderPaid) {
		t.Errorf("an old order paid now fires %v", got)
	}
}
