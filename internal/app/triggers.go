package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/rankr"
)

// TriggerEvent is the change-feed event a trigger fired from, as its
// payload carries it. D is the event's data: what changed ({"changes":
// {"paymentStatus": ["unpaid", "paid"]}, ...}) or what a new record
// started as, as the store wrote it.
type TriggerEvent[D any] struct {
	Seq        int64     `json:"seq"`
	Kind       string    `json:"kind"`
	At         time.Time `json:"at"`
	LocationID string    `json:"locationId"`
	RecordType string    `json:"recordType"`
	RecordID   string    `json:"recordId"`
	Data       D         `json:"data"`
}

// The payloads of the triggers: the event and, where rankr keeps one, the
// record's view as rankr holds it when the firing is made. The record may
// have moved on since the event (a firing made late reads the record as it
// is then); event.data says what the change itself was. A record deleted in
// GHL since still fires, with its view's deletedAt set: rankr never
// hard-deletes, so the record is always there to read.
type (
	orderFiring struct {
		Event TriggerEvent[map[string]any] `json:"event"`
		Order Order                        `json:"order"`
	}
	fulfillmentFiring struct {
		Event       TriggerEvent[map[string]any] `json:"event"`
		Fulfillment Fulfillment                  `json:"fulfillment"`
	}
	transactionFiring struct {
		Event       TriggerEvent[map[string]any] `json:"event"`
		Transaction Transaction                  `json:"transaction"`
	}
	subscriptionFiring struct {
		Event        TriggerEvent[map[string]any] `json:"event"`
		Subscription Subscription                 `json:"subscription"`
	}
	invoiceFiring struct {
		Event   TriggerEvent[map[string]any] `json:"event"`
		Invoice Invoice                      `json:"invoice"`
	}
	// The exception is as the event says it was when it opened or
	// resolved: the figures an alert is about.
	exceptionFiring struct {
		Event     TriggerEvent[map[string]any] `json:"event"`
		Exception Exception                    `json:"exception"`
	}
	pushFiring struct {
		Event TriggerEvent[map[string]any] `json:"event"`
		Push  rankr.FulfillmentPush        `json:"push"`
	}
	noticeFiring struct {
		Event  TriggerEvent[map[string]any] `json:"event"`
		Notice rankr.Notice                 `json:"notice"`
	}
	invoicedFiring struct {
		Event        TriggerEvent[map[string]any] `json:"event"`
		Subscription Subscription                 `json:"subscription"`
		// Renewal is the renewal recorded, with its invoicing record's id.
		Renewal rankr.Renewal `json:"renewal"`
	}
	deadLetterFiring struct {
		Event    TriggerEvent[map[string]any] `json:"event"`
		Delivery rankr.WebhookDelivery        `json:"delivery"`
	}
	authFailedFiring struct {
		Event TriggerEvent[authFailedData] `json:"event"`
	}
	keyExpiringFiring struct {
		Event TriggerEvent[keyExpiringData] `json:"event"`
	}
)

// authFailedData is the data of a connection.oauth_reauth_required event.
type authFailedData struct {
	Token   string `json:"token" jsonschema:"description=the OAuth install (location:ID or company:ID)"`
	From    string `json:"from" jsonschema:"description=the token's state before"`
	To      string `json:"to" jsonschema:"description=reauth_required"`
	Message string `json:"message" jsonschema:"description=what GHL said and what to do: reinstall the app"`
}

// keyExpiringData is the data of a key.expiring event.
type keyExpiringData struct {
	KeyID     string    `json:"keyId"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expiresAt"`
	Days      int       `json:"days" jsonschema:"enum=7,enum=1,description=the warning: its last week (7) or its last day (1)"`
}

// TriggerSpecs are the catalog entries of the triggers rankr derives from
// what it syncs and of its own flows' events, one per key of
// rankr.TriggerKeys.
func TriggerSpecs() []catalog.Spec {
	s := sampleRecords()
	at := s.at.Add(2 * time.Hour)
	ev := func(seq int64, kind, recordType, id string, data map[string]any) TriggerEvent[map[string]any] {
		return TriggerEvent[map[string]any]{Seq: seq, Kind: kind, At: at, LocationID: s.order.LocationID, RecordType: recordType,
			RecordID: id, Data: data}
	}
	changes := func(field string, from, to any, more ...any) map[string]any {
		c := map[string]any{field: []any{from, to}}
		for i := 0; i+2 < len(more); i += 3 {
			c[more[i].(string)] = []any{more[i+1], more[i+2]}
		}
		return map[string]any{"changes": c, "updatedAt": s.at.Add(time.Minute)}
	}
	order := func(kind string, data map[string]any, o Order) orderFiring {
		return orderFiring{Event: ev(1201, kind, rankr.RecordOrder, o.ID, data), Order: o}
	}
	paid := s.order
	paid.RankrStatus = rankr.DeriveOrderStatus(paid.Status, paid.PaymentStatus, paid.FulfillmentStatus)
	partly := s.order
	partly.PaymentStatus, partly.RankrStatus, partly.Status = rankr.PaymentPartiallyPaid, rankr.StatusPartiallyPaid, "pending"
	refunded := s.order
	refunded.PaymentStatus, refunded.RankrStatus, refunded.Status = rankr.PaymentRefunded, rankr.StatusRefunded, "refunded"
	fulfilled := s.order
	fulfilled.FulfillmentStatus, fulfilled.RankrStatus = "fulfilled", rankr.StatusFulfilled
	created := s.order
	created.Status, created.PaymentStatus, created.RankrStatus = "pending", rankr.PaymentUnpaid, rankr.StatusAwaitingPayment

	txn := func(kind string, data map[string]any, status string) transactionFiring {
		x := s.transaction
		x.Status = status
		if status == "refunded" {
			x.AmountRefunded = x.Amount
		}
		return transactionFiring{Event: ev(1301, kind, rankr.RecordTransaction, x.ID, data), Transaction: x}
	}
	txnCreated := map[string]any{"status": "succeeded", "amount": 4900, "currency": "USD", "entityType": "order",
		"entityId": s.order.ID, "subscriptionId": "", "updatedAt": s.at}
	sub := func(kind string, data map[string]any, status string) subscriptionFiring {
		x := s.subscription
		x.Status = status
		if status == "canceled" {
			x.CanceledAt = at
		}
		return subscriptionFiring{Event: ev(1401, kind, rankr.RecordSubscription, x.ID, data), Subscription: x}
	}
	renewal := rankr.Renewal{LocationID: s.order.LocationID, TransactionID: "6578278e879ad2646715baa4", SubscriptionID: s.subscription.ID,
		ContactID: s.subscription.ContactID, Amount: 1900, Currency: "USD", LiveMode: true, PeriodStart: s.at.AddDate(0, 1, 0),
		PeriodEnd: s.at.AddDate(0, 2, 0), PaidAt: s.at.AddDate(0, 1, 0), InvoicingID: rankr.InvoicingIDOf("6578278e879ad2646715baa4"), CreatedAt: at}
	renewed := s.subscription
	renewed.NextRunAt = s.at.AddDate(0, 2, 0)
	exc := func(kind string, resolved bool) exceptionFiring {
		e := s.exception
		data := map[string]any{"exceptionId": e.ID, "kind": e.Kind, "recordType": e.RecordType, "recordId": e.RecordID,
			"amount": 1000, "currency": "USD", "message": e.Message, "recordCreatedAt": s.at, "openedAt": e.OpenedAt}
		if resolved {
			e.ResolvedAt = at
			data["resolvedAt"] = at
		}
		return exceptionFiring{Event: ev(1501, kind, rankr.RecordException, fmt.Sprint(e.ID), data), Exception: e}
	}
	pushed := s.push
	pushed.State, pushed.FulfillmentID, pushed.Attempts = rankr.PushDone, s.fulfillment.ID, 1
	failedPush := s.push
	failedPush.State, failedPush.Attempts, failedPush.LastError = rankr.PushFailed, 1,
		"GHL refused the fulfillment: GHL 404 Not Found: Order not found"
	sent := s.notice
	sent.State, sent.Attempts, sent.MessageID, sent.SentAt = rankr.NoticeSent, 1, sent.ID+"@shop.example", at
	failedNotice := s.notice
	failedNotice.State, failedNotice.Attempts, failedNotice.LastError = rankr.NoticeFailed, 1,
		"the mail server refused it: 550 5.1.1 no such user here"
	noticeData := func(n rankr.Notice) map[string]any {
		d := map[string]any{"kind": n.Kind, "dedupeKey": n.DedupeKey, "messageId": n.MessageID, "attempts": n.Attempts}
		if n.LastError != "" {
			d["error"] = n.LastError
		}
		return d
	}
	delivery := rankr.WebhookDelivery{ID: "msg_2Qk1sample", EndpointID: "we_1sample", EventSeq: 1201, LocationID: s.order.LocationID,
		Kind: rankr.OrderCreated, State: rankr.DeliveryDead, Attempts: 8, LastAttemptAt: at, LastStatus: 503,
		LastResponse: "Service Unavailable", LastError: "answered 503", CreatedAt: s.at, UpdatedAt: at}

	ordersRead := []string{ghl.ScopeOrdersRead}
	ordersPaid := []string{ghl.ScopeOrdersRead, ghl.ScopeTransactionsRead}
	txnsRead := []string{ghl.ScopeTransactionsRead}
	subsRead := []string{ghl.ScopeSubscriptionsRead}
	noWebhook := " GHL sends no webhook for it."
	spec := func(key string, source catalog.Source, title, summary string, scopes, fires []string, schema json.RawMessage, sample any) catalog.Spec {
		return catalog.Spec{Key: key, Version: 1, Kind: catalog.KindTrigger, Source: source, Title: title, Summary: summary,
			Output: withKinds(schema, fires), Sample: mustMarshal(sample), Scopes: scopes, Fires: fires}
	}
	derived := func(key, title, summary string, scopes, fires []string, schema json.RawMessage, sample any) catalog.Spec {
		return spec(key, catalog.SourceDerived, title, summary, scopes, fires, schema, sample)
	}
	own := func(key, title, summary string, fires []string, schema json.RawMessage, sample any) catalog.Spec {
		return spec(key, catalog.SourceRankr, title, summary, []string{}, fires, schema, sample)
	}
	orderSchema, txnSchema, subSchema := schemaOf[orderFiring](), schemaOf[transactionFiring](), schemaOf[subscriptionFiring]()
	excSchema, pushSchema, noticeSchema := schemaOf[exceptionFiring](), schemaOf[pushFiring](), schemaOf[noticeFiring]()
	return []catalog.Spec{
		derived(rankr.TriggerOrderCreated, "Order created",
			"Fires when rankr first syncs an order, with the order and its items (once GHL's detail is synced). GHL's OrderCreate "+
				"webhook says the same for the orders it announces; this one fires for every order however it arrived (webhook, poll "+
				"or walk), once.", ordersRead, []string{rankr.OrderCreated}, orderSchema,
			order(rankr.OrderCreated, map[string]any{"amount": 4900, "currency": "USD", "fulfillmentStatus": "unfulfilled",
				"paymentStatus": "unpaid", "rankrStatus": "awaiting_payment", "status": "pending", "updatedAt": s.at}, created)),
		derived(rankr.TriggerOrderStatusChanged, "Order status changed",
			"Fires when an order's GHL status or its Rankr status (rankrStatus: where it stands from payment and fulfillment) changes; "+
				"event.data.changes holds each changed field as [old, new]. GHL's OrderStatusUpdate webhook covers GHL's status only; "+
				"GHL sends no webhook when payments or fulfillments move rankrStatus.", ordersPaid,
			[]string{rankr.OrderStatusChanged, rankr.OrderFulfillmentStatusChanged, rankr.OrderPaymentStatusChanged}, orderSchema,
			order(rankr.OrderPaymentStatusChanged, map[string]any{"changes": map[string]any{"paymentStatus": []any{"unpaid", "paid"},
				"rankrStatus": []any{"awaiting_payment", "paid"}}, "paid": 4900, "refunded": 0}, paid)),
		derived(rankr.TriggerOrderPaid, "Order paid",
			"Fires when an order's payment status, derived by rankr from its transactions, becomes paid (paid in full), or when an "+
				"order is first synced already paid."+noWebhook, ordersPaid,
			[]string{rankr.OrderCreated, rankr.OrderPaymentStatusChanged}, orderSchema,
			order(rankr.OrderPaymentStatusChanged, map[string]any{"changes": map[string]any{"paymentStatus": []any{"unpaid", "paid"},
				"rankrStatus": []any{"awaiting_payment", "paid"}}, "paid": 4900, "refunded": 0}, paid)),
		derived(rankr.TriggerOrderPartiallyPaid, "Order partially paid",
			"Fires when an order's payment status becomes partially_paid: some of it collected, not all (a deposit, an instalment), "+
				"or when an order is first synced so."+noWebhook, ordersPaid,
			[]string{rankr.OrderCreated, rankr.OrderPaymentStatusChanged}, orderSchema,
			order(rankr.OrderPaymentStatusChanged, map[string]any{"changes": map[string]any{"paymentStatus": []any{"unpaid", "partially_paid"},
				"rankrStatus": []any{"awaiting_payment", "partially_paid"}}, "paid": 2450, "refunded": 0}, partly)),
		derived(rankr.TriggerOrderRefunded, "Order refunded",
			"Fires when an order's payment status becomes refunded or partially_refunded (event.data.changes.paymentStatus says which), "+
				"or when an order is first synced so."+noWebhook, ordersPaid,
			[]string{rankr.OrderCreated, rankr.OrderPaymentStatusChanged}, orderSchema,
			order(rankr.OrderPaymentStatusChanged, map[string]any{"changes": map[string]any{"paymentStatus": []any{"paid", "refunded"},
				"rankrStatus": []any{"paid", "refunded"}}, "paid": 4900, "refunded": 4900}, refunded)),
		derived(rankr.TriggerOrderFulfilled, "Order fulfilled",
			"Fires when GHL's fulfillment status of an order becomes fulfilled (everything shipped), or when an order is first synced "+
				"fulfilled. GHL documents no webhook for fulfillments: OrderStatusUpdate is for the order's own status.", ordersRead,
			[]string{rankr.OrderCreated, rankr.OrderFulfillmentStatusChanged, rankr.OrderStatusChanged}, orderSchema,
			order(rankr.OrderFulfillmentStatusChanged, changes("fulfillmentStatus", "unfulfilled", "fulfilled", "rankrStatus", "paid", "fulfilled"), fulfilled)),
		derived(rankr.TriggerFulfillmentCreated, "Fulfillment created",
			"Fires when rankr syncs a new fulfillment of an order (a shipment with its trackings and items), made in GHL or pushed by "+
				"rankr."+noWebhook, ordersRead, []string{rankr.FulfillmentCreated}, schemaOf[fulfillmentFiring](),
			fulfillmentFiring{Event: ev(1251, rankr.FulfillmentCreated, rankr.RecordFulfillment, s.fulfillment.ID,
				map[string]any{"orderId": s.order.ID, "trackingNumbers": []string{"1Z999AA10123456784"}, "items": 1}), Fulfillment: s.fulfillment}),
		derived(rankr.TriggerTransactionCreated, "Transaction created",
			"Fires when rankr first syncs a transaction (a payment, or a failed attempt at one), whatever its status."+noWebhook,
			txnsRead, []string{rankr.TransactionCreated}, txnSchema, txn(rankr.TransactionCreated, txnCreated, "succeeded")),
		derived(rankr.TriggerTransactionSucceeded, "Transaction succeeded",
			"Fires when a transaction's status becomes succeeded, or when one is first synced succeeded."+noWebhook, txnsRead,
			[]string{rankr.TransactionCreated, rankr.TransactionStatusChanged}, txnSchema, txn(rankr.TransactionCreated, txnCreated, "succeeded")),
		derived(rankr.TriggerTransactionFailed, "Transaction failed",
			"Fires when a transaction's status becomes failed (a declined card, a failed renewal), or when one is first synced failed."+
				noWebhook, txnsRead, []string{rankr.TransactionCreated, rankr.TransactionStatusChanged}, txnSchema,
			txn(rankr.TransactionStatusChanged, changes("status", "pending", "failed"), "failed")),
		derived(rankr.TriggerTransactionRefunded, "Transaction refunded",
			"Fires when a refund is recorded on a transaction: its status becomes refunded or partially_refunded, or the amount "+
				"refunded grows (a second partial refund), or when one is first synced refunded."+noWebhook, txnsRead,
			[]string{rankr.TransactionCreated, rankr.TransactionStatusChanged, rankr.TransactionUpdated}, txnSchema,
			txn(rankr.TransactionStatusChanged, changes("status", "succeeded", "refunded", "amountRefunded", 0, 4900), "refunded")),
		derived(rankr.TriggerSubscriptionCreated, "Subscription created",
			"Fires when rankr first syncs a subscription."+noWebhook, subsRead, []string{rankr.SubscriptionCreated}, subSchema,
			sub(rankr.SubscriptionCreated, map[string]any{"status": "active", "amount": 1900, "currency": "USD", "orderId": s.order.ID,
				"updatedAt": s.at}, "active")),
		derived(rankr.TriggerSubscriptionStatusChanged, "Subscription status changed",
			"Fires when a subscription's status changes (active, trialing, past_due, canceled, or any value GHL sends); "+
				"event.data.changes.status is [old, new]."+noWebhook, subsRead, []string{rankr.SubscriptionStatusChanged}, subSchema,
			sub(rankr.SubscriptionStatusChanged, changes("status", "active", "past_due"), "past_due")),
		derived(rankr.TriggerSubscriptionRenewed, "Subscription renewed",
			"Fires when rankr syncs a successful charge of a subscription for another period (a renewal: not the first charge, which "+
				"is its order's); event.data names the transaction."+noWebhook, []string{ghl.ScopeTransactionsRead, ghl.ScopeSubscriptionsRead},
			[]string{rankr.SubscriptionRenewed}, subSchema,
			subscriptionFiring{Event: ev(1402, rankr.SubscriptionRenewed, rankr.RecordSubscription, s.subscription.ID,
				map[string]any{"transactionId": renewal.TransactionID, "amount": 1900, "currency": "USD", "paidAt": renewal.PaidAt}), Subscription: renewed}),
		derived(rankr.TriggerSubscriptionCancelled, "Subscription cancelled",
			"Fires when a subscription's status becomes canceled (either spelling), or when one is first synced canceled."+noWebhook,
			subsRead, []string{rankr.SubscriptionCreated, rankr.SubscriptionStatusChanged}, subSchema,
			sub(rankr.SubscriptionStatusChanged, changes("status", "active", "canceled"), "canceled")),
		derived(rankr.TriggerSubscriptionPastDue, "Subscription past due",
			"Fires when a subscription's status becomes past_due (a renewal charge failed), or when one is first synced past due."+
				noWebhook, subsRead, []string{rankr.SubscriptionCreated, rankr.SubscriptionStatusChanged}, subSchema,
			sub(rankr.SubscriptionStatusChanged, changes("status", "active", "past_due"), "past_due")),
		derived(rankr.TriggerInvoiceStatusChanged, "Invoice status changed",
			"Fires when an invoice's status changes (draft, sent, partially_paid, paid, void...), once per change however rankr "+
				"learnt it: GHL's invoice webhooks (InvoiceSent, InvoicePaid, InvoiceVoid...) announce most of these, but are lost "+
				"when a delivery fails, and this one also fires for changes found by polling.", []string{ghl.ScopeInvoicesRead},
			[]string{rankr.InvoiceStatusChanged}, schemaOf[invoiceFiring](),
			invoiceFiring{Event: ev(1601, rankr.InvoiceStatusChanged, rankr.RecordInvoice, s.invoice.ID,
				changes("status", "sent", "paid", "amountPaid", 0, 120000)), Invoice: s.invoice}),

		own(rankr.TriggerReconcileExceptionOpened, "Reconciliation exception opened",
			"Fires when reconciliation opens an exception: money that does not match its order or invoice (underpaid, overpaid, "+
				"orphan, live/test or currency mismatch, invoice mismatch) or a paid order left unfulfilled. Once per exception; new "+
				"figures on an open one fire nothing.", []string{rankr.ExceptionOpened}, excSchema, exc(rankr.ExceptionOpened, false)),
		own(rankr.TriggerReconcileExceptionResolved, "Reconciliation exception resolved",
			"Fires when an open exception resolves itself: later data (a payment, a refund, a fulfillment) no longer shows it.",
			[]string{rankr.ExceptionResolved}, excSchema, exc(rankr.ExceptionResolved, true)),
		own(rankr.TriggerFulfillmentPushed, "Fulfillment pushed to GHL",
			"Fires when a fulfillment push rankr made is done: GHL has the fulfillment (push.fulfillmentId), sent once.",
			[]string{rankr.FulfillmentPushed}, pushSchema,
			pushFiring{Event: ev(1701, rankr.FulfillmentPushed, rankr.RecordFulfillmentPush, pushed.ID,
				map[string]any{"orderId": s.order.ID, "fulfillmentId": s.fulfillment.ID}), Push: pushed}),
		own(rankr.TriggerFulfillmentPushFailed, "Fulfillment push failed",
			"Fires when GHL refuses a fulfillment push for good (the order is gone, or GHL finds the request invalid): "+
				"push.lastError says why. Retryable failures (rate limits, 5xx, timeouts) do not fire it: the push is retried.",
			[]string{rankr.FulfillmentPushFailed}, pushSchema,
			pushFiring{Event: ev(1702, rankr.FulfillmentPushFailed, rankr.RecordFulfillmentPush, failedPush.ID,
				map[string]any{"orderId": s.order.ID, "error": failedPush.LastError}), Push: failedPush}),
		own(rankr.TriggerNoticeSent, "Notice sent",
			"Fires when the mail server accepts a mail rankr sends itself (a customer's fulfillment notice, an operator's alert).",
			[]string{rankr.EventNoticeSent}, noticeSchema,
			noticeFiring{Event: ev(1801, rankr.EventNoticeSent, rankr.RecordNotice, sent.ID, noticeData(sent)), Notice: sent}),
		own(rankr.TriggerNoticeFailed, "Notice failed",
			"Fires when the mail server refuses a notice for good (a bad recipient...): notice.lastError says why.",
			[]string{rankr.EventNoticeFailed}, noticeSchema,
			noticeFiring{Event: ev(1802, rankr.EventNoticeFailed, rankr.RecordNotice, failedNotice.ID, noticeData(failedNotice)), Notice: failedNotice}),
		own(rankr.TriggerSubscriptionInvoiced, "Subscription renewal invoiced",
			"Fires when reconciliation records a subscription's renewal and creates Rankr's invoicing record for it "+
				"(renewal.invoicingId), once per renewal charge.", []string{rankr.SubscriptionInvoiced}, schemaOf[invoicedFiring](),
			invoicedFiring{Event: ev(1403, rankr.SubscriptionInvoiced, rankr.RecordSubscription, s.subscription.ID,
				map[string]any{"locationId": renewal.LocationID, "transactionId": renewal.TransactionID, "subscriptionId": renewal.SubscriptionID,
					"amount": 1900, "currency": "USD", "invoicingId": renewal.InvoicingID}), Subscription: renewed, Renewal: renewal}),
		own(rankr.TriggerWebhookDeadLettered, "Outbound webhook dead-lettered",
			"Fires when an outbound webhook delivery to a subscriber's endpoint exhausts its attempts (or is refused for good) and "+
				"is dead-lettered; it can be replayed.", []string{rankr.WebhookDeadLettered}, schemaOf[deadLetterFiring](),
			deadLetterFiring{Event: ev(1901, rankr.WebhookDeadLettered, rankr.RecordWebhookDelivery, delivery.ID,
				map[string]any{"endpointId": delivery.EndpointID, "eventSeq": delivery.EventSeq, "eventKind": delivery.Kind,
					"attempts": delivery.Attempts, "status": delivery.LastStatus, "error": delivery.LastError}), Delivery: delivery}),
		own(rankr.TriggerConnectionAuthFailed, "Connection lost its GHL authorization",
			"Fires when GHL refuses an OAuth install's refresh token: the location syncs no more until the app is reinstalled. "+
				"(A Private Integration Token GHL refuses stops the sync too, but is recorded in the connection's state and the "+
				"audit log only, and fires nothing.)", []string{rankr.EventOAuthReauthRequired}, schemaOf[authFailedFiring](),
			authFailedFiring{Event: TriggerEvent[authFailedData]{Seq: 2001, Kind: rankr.EventOAuthReauthRequired, At: at,
				LocationID: s.order.LocationID, RecordType: "oauth_token", RecordID: rankr.LocationTokenID(s.order.LocationID),
				Data: authFailedData{Token: rankr.LocationTokenID(s.order.LocationID), From: rankr.TokenActive, To: rankr.TokenReauthRequired,
					Message: "GHL refused the refresh token (invalid_grant): reinstall the app on this location"}}}),
		own(rankr.TriggerKeyExpiring, "API key expiring",
			"Fires when one of rankr's API keys enters its last week, then again its last day, before it expires.",
			[]string{rankr.EventKeyExpiring}, schemaOf[keyExpiringFiring](),
			keyExpiringFiring{Event: TriggerEvent[keyExpiringData]{Seq: 2101, Kind: rankr.EventKeyExpiring, At: at, RecordType: "api_key",
				RecordID: "key_4f3e2d1c", Data: keyExpiringData{KeyID: "key_4f3e2d1c", Name: "warehouse sync", ExpiresAt: at.AddDate(0, 0, 7), Days: 7}}}),
	}
}

// withKinds narrows a payload schema's event.kind to the kinds that fire
// the trigger, so that an automation's filter on it is checked at save.
func withKinds(schema json.RawMessage, kinds []string) json.RawMessage {
	var doc map[string]any
	if err := json.Unmarshal(schema, &doc); err != nil {
		panic(err)
	}
	props, _ := doc["properties"].(map[string]any)
	event, _ := props["event"].(map[string]any)
	eventProps, _ := event["properties"].(map[string]any)
	kind, ok := eventProps["kind"].(map[string]any)
	if !ok {
		panic("a trigger payload schema without event.kind")
	}
	kind["enum"] = kinds
	return mustMarshal(doc)
}

// Firing is one trigger fired by one event, with its payload.
type Firing struct {
	Key     string          `json:"key"`
	Payload json.RawMessage `json:"payload"`
}

// TriggerFirings returns the triggers an event fires, each with its
// payload (see TriggerSpecs for their schemas). Every trigger of one event
// shares its payload: they are about the same record.
func (a *App) TriggerFirings(ctx context.Context, ev rankr.Event) ([]Firing, error) {
	keys := rankr.Triggers(ev)
	if len(keys) == 0 {
		return nil, nil
	}
	payload, err := a.triggerPayload(ctx, ev)
	if err != nil {
		return nil, fmt.Errorf("the payload of event %d (%s %s %s): %w", ev.Seq, ev.Kind, ev.RecordType, ev.RecordID, err)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	out := make([]Firing, len(keys))
	for i, k := range keys {
		out[i] = Firing{Key: k, Payload: b}
	}
	return out, nil
}

func (a *App) triggerPayload(ctx context.Context, ev rankr.Event) (any, error) {
	e, err := triggerEvent[map[string]any](ev)
	if err != nil {
		return nil, err
	}
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	st, loc, id := a.d.Store, ev.LocationID, ev.RecordID
	switch ev.Kind {
	case rankr.SubscriptionInvoiced:
		var r rankr.Renewal
		if err := json.Unmarshal(ev.Data, &r); err != nil {
			return nil, err
		}
		x, err := st.SubscriptionGet(ctx, loc, id)
		if err != nil {
			return nil, err
		}
		return invoicedFiring{Event: e, Subscription: NewSubscription(x), Renewal: r}, nil
	case rankr.EventOAuthReauthRequired:
		e, err := triggerEvent[authFailedData](ev)
		return authFailedFiring{Event: e}, err
	case rankr.EventKeyExpiring:
		e, err := triggerEvent[keyExpiringData](ev)
		return keyExpiringFiring{Event: e}, err
	}
	switch ev.RecordType {
	case rankr.RecordOrder:
		o, err := st.OrderGet(ctx, loc, id)
		return orderFiring{Event: e, Order: NewOrder(o)}, err
	case rankr.RecordFulfillment:
		f, err := st.FulfillmentGet(ctx, loc, id)
		v := NewFulfillment(f)
		v.Trackings, v.Items = nonNil(v.Trackings), nonNil(v.Items)
		return fulfillmentFiring{Event: e, Fulfillment: v}, err
	case rankr.RecordTransaction:
		x, err := st.TransactionGet(ctx, loc, id)
		return transactionFiring{Event: e, Transaction: NewTransaction(x)}, err
	case rankr.RecordSubscription:
		x, err := st.SubscriptionGet(ctx, loc, id)
		return subscriptionFiring{Event: e, Subscription: NewSubscription(x)}, err
	case rankr.RecordInvoice:
		x, err := st.InvoiceGet(ctx, loc, id)
		return invoiceFiring{Event: e, Invoice: NewInvoice(x)}, err
	case rankr.RecordException:
		// No exception is read back: the event holds it as it opened or
		// resolved, which is what the trigger is about.
		var x rankr.ExceptionEvent
		if err := json.Unmarshal(ev.Data, &x); err != nil {
			return nil, err
		}
		return exceptionFiring{Event: e, Exception: NewException(rankr.Exception{ID: x.ExceptionID, Finding: x.Finding,
			OpenedAt: x.OpenedAt, ResolvedAt: x.ResolvedAt})}, nil
	case rankr.RecordFulfillmentPush:
		p, err := st.PushGet(ctx, id)
		p.Trackings, p.Items = nonNil(p.Trackings), nonNil(p.Items)
		return pushFiring{Event: e, Push: p}, err
	case rankr.RecordNotice:
		n, err := st.NoticeGet(ctx, id)
		return noticeFiring{Event: e, Notice: n}, err
	case rankr.RecordWebhookDelivery:
		d, err := st.WebhookDeliveryGet(ctx, id)
		return deadLetterFiring{Event: e, Delivery: d}, err
	}
	return nil, fmt.Errorf("no trigger payload for records of type %q: %w", ev.RecordType, rankr.ErrInvalid)
}

// triggerEvent is the event as a payload carries it, its data read as D.
func triggerEvent[D any](ev rankr.Event) (TriggerEvent[D], error) {
	e := TriggerEvent[D]{Seq: ev.Seq, Kind: ev.Kind, At: ev.At, LocationID: ev.LocationID, RecordType: ev.RecordType, RecordID: ev.RecordID}
	if len(ev.Data) > 0 {
		if err := json.Unmarshal(ev.Data, &e.Data); err != nil {
			return e, fmt.Errorf("reading the event's data: %w", err)
		}
	}
	return e, nil
}

// nonNil makes a list the views always write an empty one rather than
// null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
