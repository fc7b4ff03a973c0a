package sandbox_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/rankr/rankr/ghl"
)

// The invoice lifecycle answers share DefaultInvoiceResponseDto's shape,
// and each copy of it types invoiceItems as the get answer's did.
func init() {
	for _, schema := range []string{"CreateInvoiceResponseDto", "UpdateInvoiceResponseDto", "DeleteInvoiceResponseDto",
		"VoidInvoiceResponseDto", "DefaultInvoiceResponseDto"} {
		errata = append(errata, erratum{"invoices", schema + ".invoiceItems",
			"typed as an array of strings, but the spec's own example and the Invoice* webhooks carry invoice items as objects",
			retype(schema, "invoiceItems", "array of string", func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
				return withType(old, openapi3.TypeArray, openapi3.NewObjectSchema().NewRef())
			})})
	}
}

// invoiceParams is a valid one-line invoice for the spec check.
func invoiceParams(loc, currency string) ghl.InvoiceParams {
	issue := time.Now().UTC().Truncate(24 * time.Hour)
	return ghl.InvoiceParams{
		LocationID: loc, Name: "Spec Check Invoice", Title: "INVOICE", Currency: currency,
		Items: []ghl.InvoiceItem{
			{Name: "Consulting", Description: "One hour", Currency: currency, Amount: ghl.NumberFromScaled(12050, 2), Qty: ghl.NumberFromInt(2), Type: "one_time"},
			{Name: "Setup", Currency: currency, Amount: ghl.NumberFromInt(10), Qty: ghl.NumberFromInt(1)},
		},
		Discount: ghl.InvoiceDiscount{Type: "percentage", Value: ghl.NumberFromInt(10)},
		Business: ghl.InvoiceBusiness{Name: "Spec Check Ltd", PhoneNo: "+1-214-559-6993", Website: "https://example.com",
			Address: &ghl.InvoiceAddress{AddressLine1: "9931 Beechwood", City: "Houston", State: "TX", CountryCode: "US", PostalCode: "77001"}},
		Contact:    ghl.InvoiceContact{ID: "c6tZZU0rJBf30ZXx9Gli", Name: "Alex Spec", Email: "alex@example.com", PhoneNo: "+12145596993"},
		TermsNotes: "<p>Due in two weeks.</p>", IssueDate: issue, DueDate: issue.AddDate(0, 0, 14),
		SentTo:   ghl.InvoiceRecipients{Email: []string{"alex@example.com"}},
		LiveMode: true, InvoiceNumberPrefix: "INV-",
	}
}

// exerciseInvoiceLifecycle drives an invoice from draft to paid, and
// another from draft to void and deleted.
func exerciseInvoiceLifecycle(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	settings := oaMust(e.c.GetInvoiceSettings(ctx, e.loc))(t)
	if settings.AltID != e.loc || settings.InvoiceNumberPrefix == "" {
		t.Errorf("GetInvoiceSettings: altId %q, prefix %q", settings.AltID, settings.InvoiceNumberPrefix)
	}
	next := oaMust(e.c.GenerateInvoiceNumber(ctx, e.loc))(t)
	if next == "" {
		t.Fatal("GenerateInvoiceNumber returned no number")
	}
	currency := e.truth.Invoices[0].Invoice.Currency

	p := invoiceParams(e.loc, currency)
	inv := oaMust(e.c.CreateInvoice(ctx, p))(t)
	// 2 × 120.50 + 10 = 251.00, less 10 % = 225.90.
	if inv.Status != ghl.InvoiceDraft || inv.Total != "225.9" || inv.InvoiceNumber != next {
		t.Errorf("CreateInvoice: status %q, total %s, number %s; want draft, 225.9, %s", inv.Status, inv.Total, inv.InvoiceNumber, next)
	}
	// The number is taken now.
	_, err := e.c.CreateInvoice(ctx, withNumber(p, string(inv.InvoiceNumber)))
	if !hasStatus(err, http.StatusBadRequest) {
		t.Errorf("CreateInvoice with a taken number: %v, want a 400", err)
	}
	bad := p
	bad.Items = []ghl.InvoiceItem{{Name: "", Currency: currency, Amount: ghl.NumberFromInt(1), Qty: ghl.NumberFromInt(0)}}
	if _, err := e.c.CreateInvoice(ctx, bad); !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("CreateInvoice with an empty, zero-quantity item: %v, want a 422", err)
	}

	p.Name, p.Description = "Spec Check Invoice (revised)", "Revised"
	p.Items = p.Items[:1]
	up := oaMust(e.c.UpdateInvoice(ctx, inv.ID, p))(t)
	if up.Name != p.Name || len(up.InvoiceItems) != 1 || up.Total != "216.9" {
		t.Errorf("UpdateInvoice: name %q, %d items, total %s; want the revision, 1 item, 216.9", up.Name, len(up.InvoiceItems), up.Total)
	}
	fees := ghl.LateFeesConfiguration{Enable: true, Value: ghl.NumberFromInt(5), Type: "fixed",
		Frequency: ghl.LateFeesInterval{IntervalCount: 1, Interval: "week"},
		Grace:     &ghl.LateFeesGrace{IntervalCount: 3, Interval: "day"}, MaxLateFees: &ghl.MaxLateFees{Type: "fixed", Value: ghl.NumberFromInt(50)}}
	withFees := oaMust(e.c.UpdateInvoiceLateFees(ctx, e.loc, inv.ID, fees))(t)
	if lf := withFees.LateFeesConfiguration; lf == nil || !lf.Enable || lf.Frequency.Interval != "week" {
		t.Errorf("UpdateInvoiceLateFees: the answer shows %+v, want the configuration set", lf)
	}
	if err := e.c.UpdateInvoiceLastVisitedAt(ctx, e.loc, inv.ID); err != nil {
		t.Fatal(err)
	}

	sent := oaMust(e.c.SendInvoice(ctx, e.loc, inv.ID, ghl.SendInvoiceParams{UserID: "spec-user", Action: ghl.SendByEmail, LiveMode: true}))(t)
	if sent.Invoice.Status != ghl.InvoiceSent {
		t.Errorf("SendInvoice: status %q, want sent", sent.Invoice.Status)
	}
	if _, err := e.c.SendInvoice(ctx, e.loc, inv.ID, ghl.SendInvoiceParams{Action: ghl.SendBySMS}); !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("SendInvoice without a user: %v, want a 422", err)
	}

	part := oaMust(e.c.RecordInvoicePayment(ctx, e.loc, inv.ID, ghl.RecordInvoicePaymentParams{
		Mode: ghl.PayCard, Card: ghl.InvoiceCard{Brand: "visa", Last4: "4242"}, Notes: "first half",
		Amount: ghl.NumberFromScaled(10000, 2), Meta: map[string]any{"till": 2}}))(t)
	if part.Status != ghl.InvoicePartiallyPaid || part.AmountDue != "116.9" {
		t.Errorf("a partial payment: status %q, amount due %s; want partially_paid, 116.9", part.Status, part.AmountDue)
	}
	_, err = e.c.RecordInvoicePayment(ctx, e.loc, inv.ID, ghl.RecordInvoicePaymentParams{Mode: ghl.PayCash, Amount: ghl.NumberFromInt(1000)})
	if !hasStatus(err, http.StatusBadRequest) {
		t.Errorf("paying more than is due: %v, want a 400", err)
	}
	paid := oaMust(e.c.RecordInvoicePayment(ctx, e.loc, inv.ID, ghl.RecordInvoicePaymentParams{Mode: ghl.PayCash, Notes: "the rest"}))(t)
	if paid.Status != ghl.InvoicePaid || paid.AmountPaid != "216.9" {
		t.Errorf("the remaining payment: status %q, paid %s; want paid, 216.9", paid.Status, paid.AmountPaid)
	}
	// A paid invoice has its transactions.
	txns := oaMust(e.c.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: e.loc, EntityID: inv.ID}))(t)
	if len(txns.Items) != 2 {
		t.Errorf("transactions of the paid invoice: %d, want 2", len(txns.Items))
	}
	if _, err := e.c.VoidInvoice(ctx, e.loc, inv.ID); !hasStatus(err, http.StatusBadRequest) {
		t.Errorf("voiding a paid invoice: %v, want a 400", err)
	}

	// Text to pay: a second invoice, created and sent at once, then voided
	// and deleted.
	p2 := invoiceParams(e.loc, currency)
	p2.Name = "Spec Check Text2Pay"
	t2p := oaMust(e.c.Text2PayInvoice(ctx, ghl.Text2PayParams{InvoiceParams: p2, UserID: "spec-user", Send: true}))(t)
	if t2p.Invoice.Status != ghl.InvoiceSent || t2p.InvoiceURL == "" {
		t.Errorf("Text2PayInvoice: status %q, url %q; want sent and a link", t2p.Invoice.Status, t2p.InvoiceURL)
	}
	void := oaMust(e.c.VoidInvoice(ctx, e.loc, t2p.Invoice.ID))(t)
	if void.Status != ghl.InvoiceVoid {
		t.Errorf("VoidInvoice: status %q, want void", void.Status)
	}
	if err := e.c.DeleteInvoice(ctx, e.loc, t2p.Invoice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetInvoice(ctx, e.loc, t2p.Invoice.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetInvoice after DeleteInvoice: %v, want not found", err)
	}
	if err := e.c.DeleteInvoice(ctx, e.loc, inv.ID); !hasStatus(err, http.StatusBadRequest) {
		t.Errorf("deleting a paid invoice: %v, want a 400", err)
	}
	list := oaMust(e.c.ListInvoices(ctx, ghl.ListInvoicesParams{LocationID: e.loc, Search: "Spec Check", Limit: 10}))(t)
	if !slices.ContainsFunc(list.Items, func(x ghl.Invoice) bool { return x.ID == inv.ID }) ||
		slices.ContainsFunc(list.Items, func(x ghl.Invoice) bool { return x.ID == t2p.Invoice.ID }) {
		t.Errorf("ListInvoices(search Spec Check) should list the paid invoice and not the deleted one")
	}
	if err := e.c.UpdateInvoiceLastVisitedAt(ctx, e.loc, t2p.Invoice.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("UpdateInvoiceLastVisitedAt on a deleted invoice: %v, want not found", err)
	}
}

// The schedule answers type status as an object and items as strings; the
// spec's own examples are the string "draft" and item objects.
func init() {
	for _, schema := range []string{"CreateInvoiceScheduleResponseDto", "GetScheduleResponseDto",
		"UpdateInvoiceScheduleResponseDto", "UpdateAndScheduleInvoiceScheduleResponseDto",
		"ScheduleInvoiceScheduleResponseDto", "AutoPaymentInvoiceScheduleResponseDto", "CancelInvoiceScheduleResponseDto"} {
		errata = append(errata,
			erratum{"invoices", schema + ".status", `typed object, but its own example is the string "draft"`,
				retype(schema, "status", "object", asString)},
			erratum{"invoices", schema + ".items",
				"typed as an array of strings, but the spec's own example carries schedule items as objects, as invoices do",
				retype(schema, "items", "array of string", func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
					return withType(old, openapi3.TypeArray, openapi3.NewObjectSchema().NewRef())
				})})
	}
}

// exerciseInvoiceSchedules drives a monthly schedule from draft to active
// (issuing the invoices due, paid by auto-payment) to cancelled and deleted.
func exerciseInvoiceSchedules(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	currency := e.truth.Invoices[0].Invoice.Currency
	inv := invoiceParams(e.loc, currency)
	start := time.Now().UTC().AddDate(0, -2, 0)
	p := ghl.InvoiceScheduleParams{
		LocationID: e.loc, Name: "Spec Check Retainer", Title: "INVOICE", Contact: inv.Contact, LiveMode: true,
		Business: inv.Business, Currency: currency, Items: inv.Items[:1], Discount: inv.Discount,
		TermsNotes: "Monthly retainer", InvoiceNumberPrefix: "RET-",
		Schedule: ghl.Schedule{RRule: &ghl.RRule{IntervalType: "monthly", Interval: 1,
			StartDate: start.Format(ghl.DateLayout), StartTime: "00:00:00", Count: 12}},
	}
	sc := oaMust(e.c.CreateInvoiceSchedule(ctx, p))(t)
	if sc.Status != ghl.ScheduleDraft || len(sc.Invoices) != 0 || sc.Total != "216.9" {
		t.Errorf("CreateInvoiceSchedule: status %q, %d invoices, total %s; want draft, none, 216.9", sc.Status, len(sc.Invoices), sc.Total)
	}
	bad := p
	bad.Schedule = ghl.Schedule{RRule: &ghl.RRule{IntervalType: "monthly", Interval: 0, StartDate: "someday"}}
	if _, err := e.c.CreateInvoiceSchedule(ctx, bad); !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("CreateInvoiceSchedule with a bad rule: %v, want a 422", err)
	}
	p.Name = "Spec Check Retainer (revised)"
	up := oaMust(e.c.UpdateInvoiceSchedule(ctx, sc.ID, p))(t)
	if up.Name != p.Name {
		t.Errorf("UpdateInvoiceSchedule: name %q, want %q", up.Name, p.Name)
	}
	ap := ghl.AutoPayment{Enable: true, Type: "card", CustomerID: "cus_spec", Card: &ghl.InvoiceCard{Brand: "visa", Last4: "4242"}}
	withAP := oaMust(e.c.SetInvoiceScheduleAutoPayment(ctx, e.loc, sc.ID, ap))(t)
	if withAP.AutoPayment == nil || !withAP.AutoPayment.Enable {
		t.Errorf("SetInvoiceScheduleAutoPayment: the answer shows %+v, want auto-payment on", withAP.AutoPayment)
	}

	// Three months have come (two ago, one ago, this one): three invoices,
	// each paid by card.
	active := oaMust(e.c.ScheduleInvoiceSchedule(ctx, e.loc, sc.ID, true, nil))(t)
	if active.Status != ghl.ScheduleActive || len(active.Invoices) != 3 {
		t.Fatalf("ScheduleInvoiceSchedule: status %q, %d invoices; want active, 3", active.Status, len(active.Invoices))
	}
	for _, x := range active.Invoices {
		if x.Status != ghl.InvoicePaid {
			t.Errorf("scheduled invoice %s: status %q, want paid by auto-payment", x.ID, x.Status)
		}
	}
	txns := oaMust(e.c.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: e.loc, EntityID: active.Invoices[0].ID}))(t)
	if len(txns.Items) != 1 {
		t.Errorf("transactions of a scheduled invoice: %d, want 1", len(txns.Items))
	}
	if _, err := e.c.ScheduleInvoiceSchedule(ctx, e.loc, sc.ID, true, nil); !hasStatus(err, http.StatusBadRequest) {
		t.Errorf("scheduling an active schedule: %v, want a 400", err)
	}
	// Rescheduling issues nothing twice.
	again := oaMust(e.c.UpdateAndScheduleInvoiceSchedule(ctx, e.loc, sc.ID))(t)
	if len(again.Invoices) != 3 {
		t.Errorf("UpdateAndScheduleInvoiceSchedule: %d invoices, want still 3", len(again.Invoices))
	}
	got := oaMust(e.c.GetInvoiceSchedule(ctx, e.loc, sc.ID))(t)
	if got.Schedule == nil || got.Schedule.ExecuteAt.IsZero() {
		t.Errorf("GetInvoiceSchedule: an active schedule without its next executeAt")
	}
	list := oaMust(e.c.ListInvoiceSchedules(ctx, ghl.ListInvoiceSchedulesParams{LocationID: e.loc, Status: ghl.ScheduleActive,
		Search: "Retainer", PaymentMode: ghl.ModeLive, StartAt: time.Now().AddDate(0, 0, -1), EndAt: time.Now(), Limit: 10}))(t)
	if !slices.ContainsFunc(list.Items, func(x ghl.InvoiceSchedule) bool { return x.ID == sc.ID }) {
		t.Errorf("ListInvoiceSchedules(active, Retainer) lacks schedule %s", sc.ID)
	}
	cancelled := oaMust(e.c.CancelInvoiceSchedule(ctx, e.loc, sc.ID))(t)
	if cancelled.Status != ghl.ScheduleCancelled {
		t.Errorf("CancelInvoiceSchedule: status %q, want cancelled", cancelled.Status)
	}
	if _, err := e.c.CancelInvoiceSchedule(ctx, e.loc, sc.ID); !hasStatus(err, http.StatusBadRequest) {
		t.Errorf("cancelling twice: %v, want a 400", err)
	}
	if err := e.c.DeleteInvoiceSchedule(ctx, e.loc, sc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetInvoiceSchedule(ctx, e.loc, sc.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetInvoiceSchedule after delete: %v, want not found", err)
	}
	// Its invoices stay.
	oaMust(e.c.GetInvoice(ctx, e.loc, active.Invoices[0].ID))(t)
}

// The template answers type items as strings, like the invoice answers.
func init() {
	for _, schema := range []string{"CreateInvoiceTemplateResponseDto", "GetTemplateResponseDto", "UpdateInvoiceTemplateResponseDto"} {
		errata = append(errata, erratum{"invoices", schema + ".items",
			"typed as an array of strings, but the spec's own example carries template items as objects, as invoices do",
			retype(schema, "items", "array of string", func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
				return withType(old, openapi3.TypeArray, openapi3.NewObjectSchema().NewRef())
			})})
	}
}

// exerciseInvoiceTemplates creates, lists, configures and deletes a template.
func exerciseInvoiceTemplates(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	currency := e.truth.Invoices[0].Invoice.Currency
	inv := invoiceParams(e.loc, currency)
	p := ghl.InvoiceTemplateParams{LocationID: e.loc, Name: "Spec Check Template", Title: "INVOICE",
		Business: inv.Business, Currency: currency, Items: inv.Items, Discount: inv.Discount,
		TermsNotes: "Net 14", InvoiceNumberPrefix: "TPL-", AutomaticTaxesEnabled: true}
	tpl := oaMust(e.c.CreateInvoiceTemplate(ctx, p))(t)
	if tpl.Total != "225.9" || len(tpl.Items) != 2 || tpl.InvoiceNumberPrefix != "TPL-" {
		t.Errorf("CreateInvoiceTemplate: total %s, %d items, prefix %q; want 225.9, 2, TPL-", tpl.Total, len(tpl.Items), tpl.InvoiceNumberPrefix)
	}
	bad := p
	bad.Items = []ghl.InvoiceItem{{Name: "Odd", Currency: "XXX", Amount: ghl.NumberFromInt(1), Qty: ghl.NumberFromInt(1)}}
	if _, err := e.c.CreateInvoiceTemplate(ctx, bad); !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("CreateInvoiceTemplate with an item in another currency: %v, want a 422", err)
	}
	p.Name, p.Items = "Spec Check Template (revised)", inv.Items[1:]
	up := oaMust(e.c.UpdateInvoiceTemplate(ctx, tpl.ID, p))(t)
	if up.Name != p.Name || up.Total != "9" {
		t.Errorf("UpdateInvoiceTemplate: name %q, total %s; want the revision, 9", up.Name, up.Total)
	}
	fees := ghl.LateFeesConfiguration{Enable: true, Value: ghl.NumberFromInt(2), Type: "percentage",
		Frequency: ghl.LateFeesInterval{IntervalCount: 1, Interval: "month"}}
	withFees := oaMust(e.c.UpdateInvoiceTemplateLateFees(ctx, e.loc, tpl.ID, fees))(t)
	if withFees.LateFeesConfiguration == nil || withFees.LateFeesConfiguration.Type != "percentage" {
		t.Errorf("UpdateInvoiceTemplateLateFees: the answer shows %+v", withFees.LateFeesConfiguration)
	}
	withPM := oaMust(e.c.UpdateInvoiceTemplatePaymentMethods(ctx, e.loc, tpl.ID,
		ghl.InvoicePaymentMethods{Stripe: ghl.StripePaymentMethod{EnableBankDebitOnly: true}}))(t)
	if withPM.PaymentMethods == nil || !withPM.PaymentMethods.Stripe.EnableBankDebitOnly {
		t.Errorf("UpdateInvoiceTemplatePaymentMethods: the answer shows %+v", withPM.PaymentMethods)
	}
	got := oaMust(e.c.GetInvoiceTemplate(ctx, e.loc, tpl.ID))(t)
	if got.LateFeesConfiguration == nil || got.PaymentMethods == nil {
		t.Errorf("GetInvoiceTemplate lost the configuration set")
	}
	today := time.Now().UTC()
	list := oaMust(e.c.ListInvoiceTemplates(ctx, ghl.ListInvoiceTemplatesParams{LocationID: e.loc, Search: "Spec Check",
		StartAt: today.AddDate(0, 0, -1), EndAt: today, Limit: 10}))(t)
	if !slices.ContainsFunc(list.Items, func(x ghl.InvoiceTemplate) bool { return x.ID == tpl.ID }) {
		t.Errorf("ListInvoiceTemplates(Spec Check) lacks template %s", tpl.ID)
	}
	if err := e.c.DeleteInvoiceTemplate(ctx, e.loc, tpl.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.GetInvoiceTemplate(ctx, e.loc, tpl.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("GetInvoiceTemplate after delete: %v, want not found", err)
	}
}

// The estimate answers type the action history and the list as strings;
// the spec's own examples are objects.
func init() {
	errata = append(errata,
		erratum{"invoices", "EstimateResponseDto.items",
			"an array of arrays without items (which OpenAPI 3.0 requires), while the spec's own example carries estimate items as objects, as invoices do",
			retype("EstimateResponseDto", "items", "array of array of nothing", func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
				return withType(old, openapi3.TypeArray, openapi3.NewObjectSchema().NewRef())
			})},
		erratum{"invoices", "EstimateTemplatesDto.items",
			"an array of arrays without items (which OpenAPI 3.0 requires), while every other estimate and invoice body takes its lines as objects (EstimateLineItemDto)",
			retype("EstimateTemplatesDto", "items", "array of array of nothing", func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
				return withType(old, openapi3.TypeArray, openapi3.NewObjectSchema().NewRef())
			})},
		erratum{"invoices", "EstimateTemplateResponseDTO.items",
			"an array of arrays without items (which OpenAPI 3.0 requires), while the spec's own example carries template items as objects",
			retype("EstimateTemplateResponseDTO", "items", "array of array of nothing", func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
				return withType(old, openapi3.TypeArray, openapi3.NewObjectSchema().NewRef())
			})},
		erratum{"invoices", "ListEstimateTemplateResponseDTO.data",
			"typed as an array of strings, but it lists templates, which every other estimate template answer gives as EstimateTemplateResponseDTO objects",
			retype("ListEstimateTemplateResponseDTO", "data", "array of string", func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
				return withType(old, openapi3.TypeArray, openapi3.NewObjectSchema().NewRef())
			})},
		erratum{"invoices", "EstimateResponseDto.estimateActionHistory",
			`typed as an array of strings, but its own example is [{"action": "Created", "timestamp": ...}]`,
			retype("EstimateResponseDto", "estimateActionHistory", "array of string", func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
				return withType(old, openapi3.TypeArray, openapi3.NewObjectSchema().NewRef())
			})},
		erratum{"invoices", "ListEstimatesResponseDTO.estimates",
			"typed as an array of strings, but it lists estimates, which every other estimate answer gives as EstimateResponseDto objects",
			retype("ListEstimatesResponseDTO", "estimates", "array of string", func(old *openapi3.SchemaRef) *openapi3.SchemaRef {
				return withType(old, openapi3.TypeArray, openapi3.NewObjectSchema().NewRef())
			})})
}

// exerciseEstimates drives an estimate from draft to sent to invoiced, and
// another to deleted.
func exerciseEstimates(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	currency := e.truth.Invoices[0].Invoice.Currency
	inv := invoiceParams(e.loc, currency)
	next := oaMust(e.c.GenerateEstimateNumber(ctx, e.loc))(t)
	p := ghl.EstimateParams{LocationID: e.loc, Name: "Spec Check Estimate", Title: "ESTIMATE", Business: inv.Business,
		Currency: currency, Items: inv.Items, Discount: inv.Discount, Contact: inv.Contact, TermsNotes: "Valid 30 days",
		EstimateNumberPrefix: "EST-", IssueDate: inv.IssueDate, ExpiryDate: inv.IssueDate.AddDate(0, 0, 30),
		SentTo: &inv.SentTo, LiveMode: true, Meta: map[string]any{"source": "spec"},
		AutoInvoice: &ghl.EstimateAutoInvoice{Enabled: false}}
	est := oaMust(e.c.CreateEstimate(ctx, p))(t)
	if est.EstimateStatus != ghl.EstimateDraft || est.Total != "225.9" || est.EstimateNumber != next {
		t.Errorf("CreateEstimate: status %q, total %s, number %s; want draft, 225.9, %s", est.EstimateStatus, est.Total, est.EstimateNumber, next)
	}
	bad := p
	bad.ExpiryDate = inv.IssueDate.AddDate(0, 0, -1)
	if _, err := e.c.CreateEstimate(ctx, bad); !hasStatus(err, http.StatusBadRequest) {
		t.Errorf("CreateEstimate expiring before its issue: %v, want a 400", err)
	}
	p.Name, p.Items = "Spec Check Estimate (revised)", inv.Items[:1]
	up := oaMust(e.c.UpdateEstimate(ctx, est.ID, p))(t)
	if up.Name != p.Name || up.Total != "216.9" || up.Version != 1 {
		t.Errorf("UpdateEstimate: name %q, total %s, __v %d; want the revision, 216.9, 1", up.Name, up.Total, up.Version)
	}
	sent := oaMust(e.c.SendEstimate(ctx, e.loc, est.ID, ghl.SendInvoiceParams{UserID: "spec-user", Action: ghl.SendByEmail, LiveMode: true}))(t)
	if sent.EstimateStatus != ghl.EstimateSent {
		t.Errorf("SendEstimate: status %q, want sent", sent.EstimateStatus)
	}
	listed := oaMust(e.c.ListEstimates(ctx, ghl.ListEstimatesParams{LocationID: e.loc, Status: ghl.EstimateSent,
		Search: "Spec Check", ContactID: inv.Contact.ID, StartAt: inv.IssueDate, EndAt: inv.IssueDate, Limit: 10}))(t)
	if !slices.ContainsFunc(listed.Items, func(x ghl.Estimate) bool { return x.ID == est.ID }) {
		t.Errorf("ListEstimates(status sent) lacks estimate %s", est.ID)
	}
	if err := e.c.UpdateEstimateLastVisitedAt(ctx, e.loc, est.ID); err != nil {
		t.Fatal(err)
	}
	made := oaMust(e.c.CreateInvoiceFromEstimate(ctx, e.loc, est.ID, true))(t)
	if made.Estimate.EstimateStatus != ghl.EstimateInvoiced || made.Invoice.Total != "216.9" || made.Invoice.Status != ghl.InvoiceDraft {
		t.Errorf("CreateInvoiceFromEstimate: estimate %q, invoice %s %q; want invoiced, a 216.9 draft",
			made.Estimate.EstimateStatus, made.Invoice.Total, made.Invoice.Status)
	}
	oaMust(e.c.GetInvoice(ctx, e.loc, made.Invoice.ID))(t)
	if _, err := e.c.CreateInvoiceFromEstimate(ctx, e.loc, est.ID, true); !hasStatus(err, http.StatusBadRequest) {
		t.Errorf("invoicing an estimate twice: %v, want a 400", err)
	}

	p.Name = "Spec Check Estimate (to delete)"
	gone := oaMust(e.c.CreateEstimate(ctx, p))(t)
	del := oaMust(e.c.DeleteEstimate(ctx, e.loc, gone.ID))(t)
	if !del.Deleted {
		t.Errorf("DeleteEstimate: deleted %v, want true", del.Deleted)
	}
	if _, err := e.c.SendEstimate(ctx, e.loc, gone.ID, ghl.SendInvoiceParams{UserID: "spec-user", Action: ghl.SendBySMS}); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("SendEstimate on a deleted estimate: %v, want not found", err)
	}
	all := oaMust(e.c.ListEstimates(ctx, ghl.ListEstimatesParams{LocationID: e.loc, Status: "all"}))(t)
	if slices.ContainsFunc(all.Items, func(x ghl.Estimate) bool { return x.ID == gone.ID }) {
		t.Errorf("ListEstimates lists the deleted estimate %s", gone.ID)
	}
}

// exerciseEstimateTemplates creates, previews, lists, updates and deletes
// an estimate template.
func exerciseEstimateTemplates(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	currency := e.truth.Invoices[0].Invoice.Currency
	inv := invoiceParams(e.loc, currency)
	p := ghl.EstimateTemplateParams{LocationID: e.loc, Name: "Spec Check Estimate Template", Title: "ESTIMATE",
		Business: inv.Business, Currency: currency, Items: inv.Items, Discount: inv.Discount, TermsNotes: "Valid 30 days",
		LiveMode: true, Meta: map[string]any{"source": "spec"}, EstimateNumberPrefix: "EQ-"}
	tpl := oaMust(e.c.CreateEstimateTemplate(ctx, p))(t)
	if tpl.Total != "225.9" || tpl.EstimateNumberPrefix != "EQ-" || tpl.Version != 0 {
		t.Errorf("CreateEstimateTemplate: total %s, prefix %q, __v %d; want 225.9, EQ-, 0", tpl.Total, tpl.EstimateNumberPrefix, tpl.Version)
	}
	bad := p
	bad.Name = ""
	if _, err := e.c.CreateEstimateTemplate(ctx, bad); !hasStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("CreateEstimateTemplate without a name: %v, want a 422", err)
	}
	pre := oaMust(e.c.PreviewEstimateTemplate(ctx, e.loc, tpl.ID))(t)
	if pre.ID != tpl.ID || len(pre.Items) != 2 {
		t.Errorf("PreviewEstimateTemplate: %s with %d items, want %s with 2", pre.ID, len(pre.Items), tpl.ID)
	}
	p.Name, p.Items = "Spec Check Estimate Template (revised)", inv.Items[:1]
	up := oaMust(e.c.UpdateEstimateTemplate(ctx, tpl.ID, p))(t)
	if up.Total != "216.9" || up.Version != 1 {
		t.Errorf("UpdateEstimateTemplate: total %s, __v %d; want 216.9, 1", up.Total, up.Version)
	}
	list := oaMust(e.c.ListEstimateTemplates(ctx, ghl.ListEstimateTemplatesParams{LocationID: e.loc, Search: "Spec Check", Limit: 10}))(t)
	if !slices.ContainsFunc(list.Items, func(x ghl.EstimateTemplate) bool { return x.ID == tpl.ID }) {
		t.Errorf("ListEstimateTemplates(Spec Check) lacks template %s", tpl.ID)
	}
	del := oaMust(e.c.DeleteEstimateTemplate(ctx, e.loc, tpl.ID))(t)
	if !del.Deleted {
		t.Errorf("DeleteEstimateTemplate: deleted %v, want true", del.Deleted)
	}
	if _, err := e.c.PreviewEstimateTemplate(ctx, e.loc, tpl.ID); !errors.Is(err, ghl.ErrNotFound) {
		t.Errorf("PreviewEstimateTemplate after delete: %v, want not found", err)
	}
}

// exerciseInvoiceBook walks the seeded schedules, templates and estimates
// to their ends and fetches each, so that every seeded shape is validated.
func exerciseInvoiceBook(t *testing.T, e *oaEnv) {
	ctx := e.ctx(t)
	n := 0
	for sc, err := range e.c.InvoiceSchedules(ctx, ghl.ListInvoiceSchedulesParams{LocationID: e.loc, Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		oaMust(e.c.GetInvoiceSchedule(ctx, e.loc, sc.ID))(t)
		n++
	}
	for tpl, err := range e.c.InvoiceTemplates(ctx, ghl.ListInvoiceTemplatesParams{LocationID: e.loc, Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		oaMust(e.c.GetInvoiceTemplate(ctx, e.loc, tpl.ID))(t)
		n++
	}
	statuses := map[ghl.EstimateStatus]bool{}
	for est, err := range e.c.Estimates(ctx, ghl.ListEstimatesParams{LocationID: e.loc, Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		statuses[est.EstimateStatus] = true
		n++
	}
	for _, want := range []ghl.EstimateStatus{ghl.EstimateDraft, ghl.EstimateSent, ghl.EstimateAccepted, ghl.EstimateDeclined} {
		if !statuses[want] {
			t.Errorf("no seeded estimate is %s", want)
		}
	}
	for tpl, err := range e.c.EstimateTemplates(ctx, ghl.ListEstimateTemplatesParams{LocationID: e.loc, Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		oaMust(e.c.PreviewEstimateTemplate(ctx, e.loc, tpl.ID))(t)
		n++
	}
	if n < 9 {
		t.Errorf("walked %d seeded records, want at least 9 (2 schedules, 2 templates, 4 estimates, 1 estimate template)", n)
	}
}

func withNumber(p ghl.InvoiceParams, n string) ghl.InvoiceParams {
	p.InvoiceNumber = n
	return p
}
