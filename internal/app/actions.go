package app

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// rankrAction is one of rankr's own actions: a use case of this package
// with typed input and output, whose schemas are made from those types.
type rankrAction[I, O any] struct {
	spec catalog.Spec
	// run does it, as the caller the run acts for (bound to the run's
	// location).
	run func(ctx context.Context, c Caller, rc *catalog.RunCtx, in I) (O, error)
	// preview says what a dry run of a write would do.
	preview func(rc *catalog.RunCtx, in I) *catalog.Request
}

func (x *rankrAction[I, O]) Spec() catalog.Spec { return x.spec }

func (x *rankrAction[I, O]) Run(ctx context.Context, rc *catalog.RunCtx, raw json.RawMessage) (catalog.Result, error) {
	var in I
	if err := json.Unmarshal(raw, &in); err != nil {
		return catalog.Result{}, &catalog.InputError{ID: x.spec.ID(), Reason: err.Error()}
	}
	var req *catalog.Request
	if x.preview != nil {
		req = x.preview(rc, in)
	}
	if rc.DryRun && x.spec.Effect != catalog.EffectRead {
		return catalog.Result{Output: x.spec.Sample, DryRun: true, Request: req,
			Summary: "dry run: would " + strings.ToLower(x.spec.Title[:1]) + x.spec.Title[1:]}, nil
	}
	c := Caller{Locations: []string{rc.Location}, Actor: rc.Actor}
	out, err := x.run(ctx, c, rc, in)
	if err != nil {
		return catalog.Result{Request: req}, fmt.Errorf("%s: %w", x.spec.ID(), err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return catalog.Result{}, err
	}
	return catalog.Result{Output: b, Request: req, Summary: x.spec.Title}, nil
}

// action makes a rankr action; its schemas come from I and O, its samples
// are sampleIn and sample.
func action[I, O any](key, title, summary string, effect catalog.Effect, idem catalog.Idempotency, scopes []string,
	sampleIn I, sample O, run func(context.Context, Caller, *catalog.RunCtx, I) (O, error)) *rankrAction[I, O] {
	if scopes == nil {
		scopes = []string{}
	}
	return &rankrAction[I, O]{run: run, spec: catalog.Spec{Key: key, Version: 1, Kind: catalog.KindAction,
		Source: catalog.SourceRankr, Title: title, Summary: summary, Input: schemaOf[I](), Output: schemaOf[O](),
		SampleInput: mustMarshal(sampleIn), Sample: mustMarshal(sample), Scopes: scopes, Effect: effect, Idempotency: idem}}
}

func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// rankrPreview is the request of a dry run of one of rankr's own use cases.
func rankrPreview(useCase string, body any) *catalog.Request {
	return &catalog.Request{Method: "RANKR", Target: useCase, Body: catalog.Redact(mustMarshal(body))}
}

// The inputs and outputs of rankr's actions.
type (
	pushInput struct {
		OrderID   string           `json:"orderId" jsonschema:"minLength=1,description=the GHL order to fulfill"`
		Trackings []rankr.Tracking `json:"trackings" jsonschema:"minItems=1"`
		// Items to ship; none: every physical item still unshipped.
		Items          []rankr.PushItem `json:"items,omitempty"`
		NotifyCustomer bool             `json:"notifyCustomer,omitempty" jsonschema:"description=GHL mails the customer (else Rankr's own notice does when configured)"`
	}
	pushOutput struct {
		Push rankr.FulfillmentPush `json:"push"`
		// Created is false when the same push was asked for before: it is
		// that push, not a second one.
		Created bool `json:"created"`
	}
	emailInput struct {
		To      string `json:"to" jsonschema:"format=email"`
		Subject string `json:"subject" jsonschema:"minLength=1,maxLength=200"`
		Text    string `json:"text" jsonschema:"minLength=1,maxLength=20000"`
		// DedupeKey makes the mail once per key; default: the run's step.
		DedupeKey string `json:"dedupeKey,omitempty" jsonschema:"maxLength=200"`
	}
	alertInput struct {
		Severity  string `json:"severity" jsonschema:"enum=info,enum=warning,enum=critical"`
		Subject   string `json:"subject,omitempty" jsonschema:"maxLength=200"`
		Text      string `json:"text" jsonschema:"minLength=1,maxLength=20000"`
		DedupeKey string `json:"dedupeKey,omitempty" jsonschema:"maxLength=200"`
	}
	noticeOutput struct {
		Notices []rankr.Notice `json:"notices"`
		// Created counts the notices this run queued; 0 when each was
		// queued before under the same key.
		Created int `json:"created"`
	}
	orderInput struct {
		OrderID string `json:"orderId" jsonschema:"minLength=1"`
	}
	transactionInput struct {
		TransactionID string `json:"transactionId" jsonschema:"minLength=1"`
	}
	subscriptionInput struct {
		SubscriptionID string `json:"subscriptionId" jsonschema:"minLength=1"`
	}
	invoiceInput struct {
		InvoiceID string `json:"invoiceId" jsonschema:"minLength=1"`
	}
	fulfillmentInput struct {
		FulfillmentID string `json:"fulfillmentId" jsonschema:"minLength=1"`
	}
	noInput        struct{}
	reconcileInput struct {
		Full bool `json:"full,omitempty" jsonschema:"description=every record, not only what changed since the last run"`
	}
	reportInput struct {
		Since          time.Time `json:"since,omitzero" jsonschema:"description=records created since (RFC 3339)"`
		ExceptionsOnly bool      `json:"exceptionsOnly,omitempty"`
	}
	renewalsInput struct {
		WithinHours int `json:"withinHours,omitempty" jsonschema:"minimum=0,maximum=8784,description=how far ahead to look (default 168: a week); overdue renewals are always in"`
	}
	resyncOrderInput struct {
		OrderID string `json:"orderId" jsonschema:"minLength=1,description=the GHL order to fetch again"`
	}
	sendInput struct {
		// Type names the event: receivers get "automation.<type>".
		Type string         `json:"type" jsonschema:"pattern=^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$,maxLength=60,description=the event's type after automation. (e.g. shipment.notified)"`
		Data map[string]any `json:"data" jsonschema:"description=the event's data: any JSON object"`
		// DedupeKey sends it once per key; default: the run's step.
		DedupeKey string `json:"dedupeKey,omitempty" jsonschema:"maxLength=200"`
	}
	sendOutput struct {
		Event rankr.Event `json:"event"`
		// Created is false when the same event was sent before (same
		// type and dedupe key): it is that event, delivered once.
		Created bool `json:"created"`
	}
	renewalsOutput struct {
		Subscriptions []Subscription `json:"subscriptions"`
	}
	exceptionsInput struct {
		Kind     string `json:"kind,omitempty"`
		Resolved bool   `json:"resolved,omitempty" jsonschema:"description=include resolved exceptions"`
		Limit    int    `json:"limit,omitempty" jsonschema:"minimum=1,maximum=500"`
	}
)

// rankrActions are rankr's own actions: its flows, as steps.
func (a *App) rankrActions() []catalog.Action {
	ordersRead, ordersWrite := []string{ghl.ScopeOrdersRead}, []string{ghl.ScopeOrdersRead, ghl.ScopeOrdersWrite}
	s := sampleRecords()
	push := action("rankr.fulfillment.push", "Push a fulfillment to GHL, exactly once",
		"Records the fulfillment (tracking numbers, items) in Rankr's outbox and pushes it to GHL's order: asking again for the same order, "+
			"tracking and items answers the first push, and the pusher checks GHL's fulfillments before creating one, so GHL never gets it twice.",
		catalog.EffectWrite, catalog.IdemCheckBeforeCreate, ordersWrite,
		pushInput{OrderID: s.order.ID, Trackings: []rankr.Tracking{{Number: "1Z999AA10123456784", Carrier: "UPS"}}, NotifyCustomer: true},
		pushOutput{Push: s.push, Created: true},
		func(ctx context.Context, c Caller, rc *catalog.RunCtx, in pushInput) (pushOutput, error) {
			p, created, err := a.RequestPush(ctx, c, PushRequest{Location: rc.Location, Order: in.OrderID, Trackings: in.Trackings,
				Items: in.Items, Notify: in.NotifyCustomer})
			return pushOutput{Push: p, Created: created}, err
		})
	push.preview = func(rc *catalog.RunCtx, in pushInput) *catalog.Request {
		return &catalog.Request{Method: ghl.OpCreateFulfillment.Method, Target: strings.Replace(ghl.OpCreateFulfillment.Path, "{orderId}", in.OrderID, 1),
			Body: mustMarshal(map[string]any{"altId": rc.Location, "altType": "location", "trackings": in.Trackings,
				"items": in.Items, "notifyCustomer": in.NotifyCustomer})}
	}

	email := action("rankr.notify.email", "Email someone, once",
		"Queues a mail in Rankr's outbox (sent through the configured SMTP server, retried, never twice): once per dedupe key, "+
			"which defaults to the automation step that sends it.",
		catalog.EffectNotify, catalog.IdemKey, nil,
		emailInput{To: "ops@example.com", Subject: "Order 6578278e879ad2646715ba9c shipped", Text: "Tracking 1Z999AA10123456784 (UPS)."},
		noticeOutput{Notices: []rankr.Notice{s.notice}, Created: 1},
		func(ctx context.Context, c Caller, rc *catalog.RunCtx, in emailInput) (noticeOutput, error) {
			if _, err := mail.ParseAddress(in.To); err != nil {
				return noticeOutput{}, fieldErr("to", "not a mail address: %v", err)
			}
			return a.queueMessages(ctx, rc, []string{in.To}, cmp.Or(in.DedupeKey, rc.IdemKey), rankr.MessageNotice{Subject: in.Subject, Text: in.Text})
		})
	email.preview = func(rc *catalog.RunCtx, in emailInput) *catalog.Request { return rankrPreview("notice.create", in) }

	alert := action("rankr.alert.raise", "Raise an alert",
		"Mails an alert to the operators (serve's --alert-email), once per dedupe key, which defaults to the automation step that raises it.",
		catalog.EffectNotify, catalog.IdemKey, nil,
		alertInput{Severity: "warning", Text: "Fulfillment push failed for order 6578278e879ad2646715ba9c"},
		noticeOutput{Notices: []rankr.Notice{s.notice}, Created: 1},
		func(ctx context.Context, c Caller, rc *catalog.RunCtx, in alertInput) (noticeOutput, error) {
			if len(a.d.AlertTo) == 0 {
				return noticeOutput{}, unavailable("alerts", "give rankr serve --alert-email and an SMTP server")
			}
			subject := cmp.Or(in.Subject, firstLine(in.Text, 120))
			return a.queueMessages(ctx, rc, a.d.AlertTo, cmp.Or(in.DedupeKey, rc.IdemKey),
				rankr.MessageNotice{Subject: subject, Text: in.Text, Severity: in.Severity})
		})
	alert.preview = func(rc *catalog.RunCtx, in alertInput) *catalog.Request { return rankrPreview("notice.create", in) }

	resync := action("rankr.location.resync", "Resync the location",
		"Queues a full walk of the location's orders, payments, subscriptions, invoices and products from GHL (a job; rankr serve runs it).",
		catalog.EffectWrite, catalog.IdemNatural, []string{ghl.ScopeOrdersRead}, noInput{}, s.job("resync"),
		func(ctx context.Context, c Caller, rc *catalog.RunCtx, _ noInput) (Job, error) {
			return a.StartResync(ctx, c, rc.Location)
		})
	resync.preview = func(rc *catalog.RunCtx, in noInput) *catalog.Request { return rankrPreview("job.resync", in) }

	reconcile := action("rankr.reconcile.run", "Run reconciliation",
		"Queues a reconciliation run of the location: payments matched with orders and invoices, exceptions opened and resolved (a job; rankr serve runs it).",
		catalog.EffectWrite, catalog.IdemNatural, []string{}, reconcileInput{}, s.job("reconcile"),
		func(ctx context.Context, c Caller, rc *catalog.RunCtx, in reconcileInput) (Job, error) {
			return a.StartReconcile(ctx, c, in.Full, rc.Location)
		})
	reconcile.preview = func(rc *catalog.RunCtx, in reconcileInput) *catalog.Request { return rankrPreview("job.reconcile", in) }

	resyncOrder := action("rankr.order.resync", "Resync an order",
		"Fetches the order again from GHL now (its detail, items, payments and fulfillments) and answers it as Rankr then holds it.",
		catalog.EffectWrite, catalog.IdemNatural, ordersRead, resyncOrderInput{OrderID: s.order.ID}, s.orderDetail(),
		func(ctx context.Context, c Caller, rc *catalog.RunCtx, in resyncOrderInput) (OrderDetail, error) {
			if a.d.Refresh == nil {
				return OrderDetail{}, unavailable("resyncing an order", "the master key opens GHL tokens: run with it")
			}
			if err := a.d.Refresh(ctx, rc.Location, rankr.RecordOrder, in.OrderID); err != nil {
				return OrderDetail{}, err
			}
			return a.OrderShow(ctx, c, rc.Location, in.OrderID)
		})
	resyncOrder.preview = func(rc *catalog.RunCtx, in resyncOrderInput) *catalog.Request {
		return &catalog.Request{Method: ghl.OpGetOrder.Method, Target: strings.Replace(ghl.OpGetOrder.Path, "{orderId}", in.OrderID, 1)}
	}

	send := action("rankr.webhook.send", "Send an event to your endpoints",
		"Adds an event of type automation.<type> with the given data to Rankr's change feed, from which the outbound webhooks deliver it, "+
			"signed and retried, to every endpoint subscribed to it; once per dedupe key, which defaults to the automation step that sends it.",
		catalog.EffectNotify, catalog.IdemKey, nil,
		sendInput{Type: "shipment.notified", Data: map[string]any{"orderId": s.order.ID, "tracking": "1Z999AA10123456784"}},
		sendOutput{Event: rankr.Event{Seq: 4242, LocationID: s.order.LocationID, Kind: "automation.shipment.notified",
			RecordType: rankr.RecordMessage, RecordID: "automation:ship-notify:run:42:send", At: s.at,
			Data: mustMarshal(map[string]any{"orderId": s.order.ID, "tracking": "1Z999AA10123456784"})}, Created: true},
		func(ctx context.Context, c Caller, rc *catalog.RunCtx, in sendInput) (sendOutput, error) {
			key := cmp.Or(in.DedupeKey, rc.IdemKey)
			if key == "" {
				return sendOutput{}, fieldErr("dedupeKey", "give a dedupe key: without one a retry could send twice")
			}
			if in.Data == nil {
				in.Data = map[string]any{}
			}
			ev, created, err := a.d.Store.AutomationEventAppend(ctx, store.AutomationEventParams{LocationID: rc.Location,
				Kind: rankr.AutomationEventPrefix + in.Type, RecordID: key, Data: mustMarshal(in.Data)})
			return sendOutput{Event: ev, Created: created}, err
		})
	send.preview = func(rc *catalog.RunCtx, in sendInput) *catalog.Request { return rankrPreview("event.append", in) }

	return []catalog.Action{
		push, email, alert, resync, resyncOrder, reconcile, send,
		action("rankr.order.get", "Get an order as Rankr holds it",
			"The order with its items, fulfillments, payments, Rankr's pushes and notices about it, and its events; from Rankr's store, no GHL call.",
			catalog.EffectRead, catalog.IdemNatural, ordersRead, orderInput{OrderID: s.order.ID}, s.orderDetail(),
			func(ctx context.Context, c Caller, rc *catalog.RunCtx, in orderInput) (OrderDetail, error) {
				return a.OrderShow(ctx, c, rc.Location, in.OrderID)
			}),
		action("rankr.fulfillment.get", "Get a fulfillment as Rankr holds it", "A fulfillment GHL recorded for an order, from Rankr's store.",
			catalog.EffectRead, catalog.IdemNatural, ordersRead, fulfillmentInput{FulfillmentID: s.fulfillment.ID}, s.fulfillment,
			func(ctx context.Context, c Caller, rc *catalog.RunCtx, in fulfillmentInput) (Fulfillment, error) {
				return a.Fulfillment(ctx, c, rc.Location, in.FulfillmentID)
			}),
		action("rankr.transaction.get", "Get a payment as Rankr holds it", "A transaction (a payment and its refunds), from Rankr's store.",
			catalog.EffectRead, catalog.IdemNatural, []string{ghl.ScopeTransactionsRead}, transactionInput{TransactionID: s.transaction.ID}, s.transaction,
			func(ctx context.Context, c Caller, rc *catalog.RunCtx, in transactionInput) (Transaction, error) {
				return a.Transaction(ctx, c, rc.Location, in.TransactionID)
			}),
		action("rankr.subscription.get", "Get a subscription as Rankr holds it", "A recurring payment plan, from Rankr's store.",
			catalog.EffectRead, catalog.IdemNatural, []string{ghl.ScopeSubscriptionsRead}, subscriptionInput{SubscriptionID: s.subscription.ID}, s.subscription,
			func(ctx context.Context, c Caller, rc *catalog.RunCtx, in subscriptionInput) (Subscription, error) {
				return a.Subscription(ctx, c, rc.Location, in.SubscriptionID)
			}),
		action("rankr.invoice.get", "Get an invoice as Rankr holds it", "A GHL invoice, as synced for reconciliation, from Rankr's store.",
			catalog.EffectRead, catalog.IdemNatural, []string{ghl.ScopeInvoicesRead}, invoiceInput{InvoiceID: s.invoice.ID}, s.invoice,
			func(ctx context.Context, c Caller, rc *catalog.RunCtx, in invoiceInput) (Invoice, error) {
				return a.Invoice(ctx, c, rc.Location, in.InvoiceID)
			}),
		action("rankr.reconcile.report", "Get the reconciliation report",
			"Every order and invoice with what was paid against it, the totals per currency and the open exceptions, for the location.",
			catalog.EffectRead, catalog.IdemNatural, []string{}, reportInput{ExceptionsOnly: true}, s.report(),
			func(ctx context.Context, c Caller, rc *catalog.RunCtx, in reportInput) (Report, error) {
				return a.ReconcileReport(ctx, c, ReportQuery{Location: rc.Location, Since: in.Since, ExceptionsOnly: in.ExceptionsOnly})
			}),
		action("rankr.reconcile.exceptions", "List reconciliation exceptions",
			"The location's reconciliation exceptions, newest first: what does not add up, and what to do about it.",
			catalog.EffectRead, catalog.IdemNatural, []string{}, exceptionsInput{Limit: 50}, Page[Exception]{Items: []Exception{s.exception}},
			func(ctx context.Context, c Caller, rc *catalog.RunCtx, in exceptionsInput) (Page[Exception], error) {
				return a.Exceptions(ctx, c, ExceptionQuery{Location: rc.Location, Kind: in.Kind, Resolved: in.Resolved, Limit: in.Limit})
			}),
		action("rankr.subscription.renewals_due", "List the renewals due",
			"The subscriptions due to renew within the given hours (and the overdue ones), soonest first.",
			catalog.EffectRead, catalog.IdemNatural, []string{ghl.ScopeSubscriptionsRead}, renewalsInput{WithinHours: 72},
			renewalsOutput{Subscriptions: []Subscription{s.subscription}},
			func(ctx context.Context, c Caller, rc *catalog.RunCtx, in renewalsInput) (renewalsOutput, error) {
				within := time.Duration(in.WithinHours) * time.Hour
				if in.WithinHours == 0 {
					within = 7 * 24 * time.Hour
				}
				subs, err := a.UpcomingRenewals(ctx, c, RenewalQuery{Location: rc.Location, Within: within})
				if subs == nil {
					subs = []Subscription{}
				}
				return renewalsOutput{Subscriptions: subs}, err
			}),
	}
}

// queueMessages queues one composed mail per recipient, each once per
// dedupe key.
func (a *App) queueMessages(ctx context.Context, rc *catalog.RunCtx, to []string, dedupe string, m rankr.MessageNotice) (noticeOutput, error) {
	if dedupe == "" {
		return noticeOutput{}, fieldErr("dedupeKey", "give a dedupe key: without one a retry could mail twice")
	}
	if m.Origin == "" {
		m.Origin = rc.Actor.Type + " " + rc.Actor.ID
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return noticeOutput{}, err
	}
	out := noticeOutput{Notices: []rankr.Notice{}}
	for _, r := range to {
		// The key holds the recipient, hashed with the caller's key so
		// that it stays short whatever the caller chose.
		sum := sha256.Sum256([]byte(dedupe + "\x00" + r))
		key := rc.Location + "/" + hex.EncodeToString(sum[:12])
		n := rankr.Notice{ID: rankr.NoticeID(rankr.NoticeMessage, key), LocationID: rc.Location, Kind: rankr.NoticeMessage,
			DedupeKey: key, Recipient: r, Payload: payload, State: rankr.NoticePending}
		created, err := a.d.Store.NoticeCreate(ctx, n)
		if err != nil {
			return out, err
		}
		if created {
			out.Created++
		}
		got, err := a.d.Store.NoticeGet(ctx, n.ID)
		if err != nil {
			return out, err
		}
		out.Notices = append(out.Notices, got)
	}
	return out, nil
}

// firstLine is the start of text's first line, at most n bytes.
func firstLine(text string, n int) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	return truncateText(line, n)
}
