package sandbox

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// The invoice lifecycle: create, update, send, pay, void, delete, and the
// reads around them. GHL validates bodies with class-validator, so field
// problems are 422 lists; state conflicts (voiding a paid invoice) are 400.

// invoiceIn is the union of CreateInvoiceDto, UpdateInvoiceDto and
// Text2PayDto.
type invoiceIn struct {
	ID                    string                     `json:"id"`
	Name                  string                     `json:"name"`
	Title                 string                     `json:"title"`
	Description           string                     `json:"description"`
	Currency              string                     `json:"currency"`
	Items                 []ghl.InvoiceItem          `json:"items"`
	InvoiceItems          []ghl.InvoiceItem          `json:"invoiceItems"`
	Discount              *ghl.InvoiceDiscount       `json:"discount"`
	BusinessDetails       json.RawMessage            `json:"businessDetails"`
	ContactID             string                     `json:"contactId"`
	ContactDetails        *ghl.InvoiceContact        `json:"contactDetails"`
	TermsNotes            string                     `json:"termsNotes"`
	InvoiceNumber         string                     `json:"invoiceNumber"`
	InvoiceNumberPrefix   string                     `json:"invoiceNumberPrefix"`
	IssueDate             string                     `json:"issueDate"`
	DueDate               string                     `json:"dueDate"`
	SentTo                *ghl.InvoiceRecipients     `json:"sentTo"`
	LiveMode              *bool                      `json:"liveMode"`
	AutomaticTaxesEnabled bool                       `json:"automaticTaxesEnabled"`
	LateFeesConfiguration *ghl.LateFeesConfiguration `json:"lateFeesConfiguration"`
	PaymentMethods        *ghl.InvoicePaymentMethods `json:"paymentMethods"`
	Action                string                     `json:"action"`
	UserID                string                     `json:"userId"`
}

// invoiceForm says which DTO a body is.
type invoiceForm int

const (
	formCreate invoiceForm = iota
	formUpdate
	formText2Pay
	formSchedule // CreateInvoiceScheduleDto and UpdateInvoiceScheduleDto
	formTemplate // CreateInvoiceTemplateDto and UpdateInvoiceTemplateDto
	formEstimate // CreateEstimatesDto and UpdateEstimateDto
)

// parsedInvoice is a validated invoiceIn, ready to apply.
type parsedInvoice struct {
	in         invoiceIn
	lines      []invoiceLine
	issue, due time.Time
	number     int // 0: the next one
}

// parse validates b the way GHL's DTOs do.
func (b invoiceIn) parse(l *location, d dice, now time.Time, form invoiceForm) (*parsedInvoice, *apiError) {
	var msgs []string
	need := func(ok bool, msg string) {
		if !ok {
			msgs = append(msgs, msg)
		}
	}
	items, itemsKey := b.Items, "items"
	if form == formUpdate {
		items, itemsKey = b.InvoiceItems, "invoiceItems"
	}
	need(b.Name != "", "name should not be empty")
	need(b.Currency != "", "currency should not be empty")
	need(items != nil, itemsKey+" must be an array")
	dated := form != formSchedule && form != formTemplate && form != formEstimate
	if dated {
		need(b.IssueDate != "", "issueDate should not be empty")
	}
	if form == formUpdate {
		need(b.DueDate != "", "dueDate should not be empty")
	} else if form == formEstimate {
		need(b.ContactDetails != nil, "contactDetails should not be empty")
	} else if form != formTemplate {
		need(b.ContactDetails != nil, "contactDetails should not be empty")
		need(b.LiveMode != nil, "liveMode must be a boolean value")
	}
	if form == formTemplate || form == formEstimate {
		need(b.BusinessDetails != nil, "businessDetails should not be empty")
	}
	if form == formEstimate {
		need(b.Discount != nil, "discount should not be empty")
	}
	if form == formCreate || form == formText2Pay {
		need(b.SentTo != nil, "sentTo should not be empty")
	}
	if form == formCreate || form == formSchedule {
		need(b.Discount != nil, "discount should not be empty")
		need(b.BusinessDetails != nil, "businessDetails should not be empty")
	}
	if form == formText2Pay {
		need(b.Action == "draft" || b.Action == "send", "action must be one of the following values: draft, send")
		need(b.UserID != "", "userId should not be empty")
	}
	if c := b.ContactDetails; c != nil {
		need(c.ID != "", "contactDetails.id should not be empty")
		need(c.Name != "", "contactDetails.name should not be empty")
	}
	if b.SentTo != nil {
		need(b.SentTo.Email != nil, "sentTo.email must be an array")
	}
	if dc := b.Discount; dc != nil {
		need(dc.Type == "percentage" || dc.Type == "fixed", "discount.type must be one of the following values: percentage, fixed")
		v, ok := dc.Value.Float64()
		need(dc.Value == "" || (ok && v >= 0 && (dc.Type != "percentage" || v <= 100)),
			"discount.value must be a positive number (at most 100 for a percentage)")
	}
	if b.LateFeesConfiguration != nil {
		msgs = append(msgs, lateFeesProblems(*b.LateFeesConfiguration, "lateFeesConfiguration.")...)
	}
	p := &parsedInvoice{in: b}
	for i, it := range items {
		at := fmt.Sprintf("%s.%d.", itemsKey, i)
		need(it.Name != "", at+"name should not be empty")
		need(it.Currency != "", at+"currency should not be empty")
		need(it.Currency == "" || it.Currency == b.Currency, at+"currency must be the invoice's currency")
		need(it.Type == "" || it.Type == "one_time" || it.Type == "recurring", at+"type must be one of the following values: one_time, recurring")
		amount, err := it.Amount.Scaled(2)
		need(err == nil && amount >= 0, at+"amount must be a positive number with at most 2 decimals")
		qty, ok := it.Qty.Int()
		need(ok && qty > 0, at+"qty must be a positive whole number")
		p.lines = append(p.lines, invoiceLine{id: d.objectID(now), qty: qty, amount: amount, name: it.Name,
			description: it.Description, productID: it.ProductID, priceID: it.PriceID, itemType: it.Type})
	}
	var err error
	if b.IssueDate != "" {
		if p.issue, err = parseDay(b.IssueDate); err != nil {
			msgs = append(msgs, "issueDate must be a valid date (YYYY-MM-DD)")
		}
	}
	p.due = p.issue
	if b.DueDate != "" {
		if p.due, err = parseDay(b.DueDate); err != nil {
			msgs = append(msgs, "dueDate must be a valid date (YYYY-MM-DD)")
		}
	}
	if b.InvoiceNumber != "" {
		n, err := strconv.Atoi(b.InvoiceNumber)
		need(err == nil && n > 0, "invoiceNumber must be a number string")
		p.number = n
	}
	if len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}
	if b.Currency != l.currency {
		return nil, badRequest(fmt.Sprintf("Currency %s is not the location's currency (%s)", b.Currency, l.currency))
	}
	if p.due.Before(p.issue) {
		return nil, badRequest("dueDate cannot be before issueDate")
	}
	return p, nil
}

// parseDay reads a YYYY-MM-DD day or an ISO timestamp.
func parseDay(s string) (time.Time, error) {
	if t, err := time.Parse(ghl.DateLayout, s); err == nil {
		return t, nil
	}
	t, err := ghl.ParseTime(s)
	if err != nil || t.IsZero() {
		return time.Time{}, fmt.Errorf("not a date: %q", s)
	}
	return t.UTC(), nil
}

var lateFeeIntervals = []string{"minute", "hour", "day", "week", "month", "one_time"}

// lateFeesProblems checks a LateFeesConfigurationDto.
func lateFeesProblems(c ghl.LateFeesConfiguration, at string) []string {
	var msgs []string
	v, ok := c.Value.Float64()
	if !ok || v < 0 || (c.Type == "percentage" && v > 100) {
		msgs = append(msgs, at+"value must be a positive number (at most 100 for a percentage)")
	}
	if c.Type != "fixed" && c.Type != "percentage" {
		msgs = append(msgs, at+"type must be one of the following values: fixed, percentage")
	}
	if !slices.Contains(lateFeeIntervals, c.Frequency.Interval) {
		msgs = append(msgs, at+"frequency.interval must be one of the following values: "+strings.Join(lateFeeIntervals, ", "))
	}
	if c.Frequency.IntervalCount < 0 {
		msgs = append(msgs, at+"frequency.intervalCount must not be less than 0")
	}
	if g := c.Grace; g != nil && (g.Interval != "day" || g.IntervalCount < 0) {
		msgs = append(msgs, at+"grace.interval must be one of the following values: day")
	}
	if m := c.MaxLateFees; m != nil {
		if _, ok := m.Value.Float64(); m.Type != "fixed" || !ok {
			msgs = append(msgs, at+"maxLateFees must be {type: fixed, value: number}")
		}
	}
	return msgs
}

// lateFeesBody reads the {lateFeesConfiguration} body that an invoice's
// and a template's late-fee updates share.
func (req *apiRequest) lateFeesBody() (*ghl.LateFeesConfiguration, *apiError) {
	var b struct {
		LateFeesConfiguration *ghl.LateFeesConfiguration `json:"lateFeesConfiguration"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if b.LateFeesConfiguration == nil {
		return nil, unprocessable("lateFeesConfiguration should not be empty")
	}
	if msgs := lateFeesProblems(*b.LateFeesConfiguration, "lateFeesConfiguration."); len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}
	return b.LateFeesConfiguration, nil
}

// apply writes a parsed body to inv. The caller holds the location lock.
func (p *parsedInvoice) apply(l *location, inv *invoiceRec) {
	b := p.in
	inv.name, inv.currency, inv.lines = b.Name, b.Currency, p.lines
	inv.issueDate, inv.dueDate = p.issue, p.due
	if b.Title != "" {
		inv.title = b.Title
	}
	if b.Description != "" {
		inv.description = b.Description
	}
	if b.TermsNotes != "" {
		inv.termsNotes = b.TermsNotes
	}
	if b.InvoiceNumberPrefix != "" {
		inv.prefix = b.InvoiceNumberPrefix
	}
	if b.BusinessDetails != nil && string(b.BusinessDetails) != "null" {
		inv.business = b.BusinessDetails
	}
	if c := b.ContactDetails; c != nil {
		inv.contact = l.invoiceContact(*c)
		inv.companyName = c.CompanyName
	}
	if b.SentTo != nil {
		inv.sentTo = b.SentTo
	}
	if b.LiveMode != nil {
		inv.live = *b.LiveMode
	}
	inv.autoTaxes = b.AutomaticTaxesEnabled
	if b.LateFeesConfiguration != nil {
		inv.lateFees = b.LateFeesConfiguration
	}
	if b.PaymentMethods != nil {
		inv.payMethods = b.PaymentMethods
	}
	if b.Discount != nil {
		dc := *b.Discount
		if dc.Value == "" {
			dc.Value = ghl.NumberFromInt(0)
		}
		inv.discountSpec = &dc
	}
	inv.discount = 0
	inv.reprice()
}

// invoiceContact is the location's contact with c's id, or a contact made of
// c when the sandbox does not know it (GHL keeps what the invoice says).
func (l *location) invoiceContact(c ghl.InvoiceContact) *contact {
	for _, k := range l.contacts {
		if k.id == c.ID && (c.Name == "" || c.Name == k.name()) {
			return k
		}
	}
	return &contact{id: c.ID, full: c.Name, email: c.Email, phone: c.PhoneNo}
}

// numberTaken reports whether a live invoice other than self has number n.
func (l *location) numberTaken(n int, self *invoiceRec) bool {
	for _, inv := range l.invoices {
		if inv != self && !inv.deleted && inv.number == n {
			return true
		}
	}
	return false
}

// numberFree refuses an invoice number that another live invoice holds.
// self is the invoice being edited, which may keep its own; nil for a new
// one. 0 asks for the next number, which is always free.
func (l *location) numberFree(n int, self *invoiceRec) *apiError {
	if n != 0 && (self == nil || n != self.number) && l.numberTaken(n, self) {
		return badRequest(fmt.Sprintf("Invoice number %d already exists", n))
	}
	return nil
}

// reviseInvoice writes a parsed update or text2pay body, whose number
// numberFree has passed, over an invoice and announces the change.
func (l *location) reviseInvoice(inv *invoiceRec, p *parsedInvoice, now time.Time) {
	p.apply(l, inv)
	if p.number != 0 {
		inv.number = p.number
		l.nextInvNo = max(l.nextInvNo, p.number)
	}
	touch(&inv.updatedAt, now)
	l.emitInvoice(ghl.EventInvoiceUpdate, inv)
}

// newInvoice creates an invoice from a parsed create or text2pay body.
func (l *location) newInvoice(d dice, now time.Time, p *parsedInvoice) (*invoiceRec, *apiError) {
	if e := l.numberFree(p.number, nil); e != nil {
		return nil, e
	}
	at := now.UTC().Truncate(time.Millisecond)
	inv := &invoiceRec{id: d.objectID(at), number: p.number, status: ghl.InvoiceDraft, title: "INVOICE", createdAt: at, updatedAt: at}
	p.apply(l, inv)
	l.fileInvoice(inv)
	return inv, nil
}

// liveInvoice is the invoice with id, unless it is missing or deleted.
func (l *location) liveInvoice(id string) (*invoiceRec, *apiError) {
	inv := l.invByID[id]
	if inv == nil || inv.deleted {
		return nil, notFound("Invoice not found")
	}
	return inv, nil
}

func (s *Server) createInvoice(req *apiRequest) (any, *apiError) {
	var b invoiceIn
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	d := dice{l.rng}
	p, e := b.parse(l, d, req.now, formCreate)
	if e != nil {
		return nil, e
	}
	inv, e := l.newInvoice(d, req.now, p)
	if e != nil {
		return nil, e
	}
	return l.invoice(inv), nil
}

func (s *Server) updateInvoice(req *apiRequest) (any, *apiError) {
	var b invoiceIn
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	inv, e := l.liveInvoice(req.r.PathValue("invoiceId"))
	if e != nil {
		return nil, e
	}
	p, e := b.parse(l, dice{l.rng}, req.now, formUpdate)
	if e != nil {
		return nil, e
	}
	if inv.status != ghl.InvoiceDraft && inv.status != ghl.InvoiceSent {
		return nil, badRequest(fmt.Sprintf("A %s invoice cannot be edited", inv.status))
	}
	if e := l.numberFree(p.number, inv); e != nil {
		return nil, e
	}
	if b.ContactID != "" && b.ContactDetails == nil {
		for _, c := range l.contacts {
			if c.id == b.ContactID {
				inv.contact = c
			}
		}
	}
	l.reviseInvoice(inv, p, req.now)
	return l.invoice(inv), nil
}

func (s *Server) deleteInvoiceAPI(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	inv, e := l.liveInvoice(req.r.PathValue("invoiceId"))
	if e != nil {
		return nil, e
	}
	if inv.status != ghl.InvoiceDraft && inv.status != ghl.InvoiceVoid {
		return nil, badRequest("Only draft or void invoices can be deleted; void it first")
	}
	out := l.invoice(inv)
	l.deleteInvoice(inv, req.now)
	return out, nil
}

func (s *Server) voidInvoiceAPI(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	inv, e := l.liveInvoice(req.r.PathValue("invoiceId"))
	if e != nil {
		return nil, e
	}
	switch inv.status {
	case ghl.InvoiceVoid:
		return nil, badRequest("Invoice is already void")
	case ghl.InvoicePaid, ghl.InvoicePartiallyPaid, ghl.InvoicePaymentProcessing:
		return nil, badRequest(fmt.Sprintf("A %s invoice cannot be voided", inv.status))
	}
	l.voidInvoice(inv, req.now)
	return l.invoice(inv), nil
}

var sendActions = []string{"sms_and_email", "send_manually", "email", "sms"}

func (s *Server) sendInvoiceAPI(req *apiRequest) (any, *apiError) {
	var b struct {
		UserID   string             `json:"userId"`
		Action   string             `json:"action"`
		LiveMode *bool              `json:"liveMode"`
		SentFrom *ghl.InvoiceSender `json:"sentFrom"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	var msgs []string
	if b.UserID == "" {
		msgs = append(msgs, "userId should not be empty")
	}
	if !slices.Contains(sendActions, b.Action) {
		msgs = append(msgs, "action must be one of the following values: "+strings.Join(sendActions, ", "))
	}
	if b.LiveMode == nil {
		msgs = append(msgs, "liveMode must be a boolean value")
	}
	if len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	inv, e := l.liveInvoice(req.r.PathValue("invoiceId"))
	if e != nil {
		return nil, e
	}
	if inv.status == ghl.InvoicePaid || inv.status == ghl.InvoiceVoid {
		return nil, badRequest(fmt.Sprintf("A %s invoice cannot be sent", inv.status))
	}
	if inv.status == ghl.InvoiceDraft {
		inv.live = *b.LiveMode
		l.sendInvoice(inv, req.now)
	} else {
		touch(&inv.updatedAt, req.now) // a reminder: the status stays
	}
	from := l.invoiceSender()
	if b.SentFrom != nil && b.SentFrom.FromEmail != "" {
		from = *b.SentFrom
	}
	email, sms := map[string]any{}, map[string]any{}
	if b.Action == "email" || b.Action == "sms_and_email" {
		to := []string{inv.contact.email}
		if inv.sentTo != nil && len(inv.sentTo.Email) > 0 {
			to = inv.sentTo.Email
		}
		email = map[string]any{"to": to, "from": from.FromEmail, "fromName": from.FromName, "status": "queued"}
	}
	if b.Action == "sms" || b.Action == "sms_and_email" {
		sms = map[string]any{"to": inv.contact.phone, "status": "queued"}
	}
	return map[string]any{"invoice": l.invoice(inv), "smsData": sms, "emailData": email}, nil
}

var last4 = regexp.MustCompile(`^[0-9]{4}$`)

func (s *Server) recordInvoicePayment(req *apiRequest) (any, *apiError) {
	var b struct {
		Mode        string             `json:"mode"`
		Card        *ghl.InvoiceCard   `json:"card"`
		Cheque      *ghl.ChequeDetails `json:"cheque"`
		Notes       *string            `json:"notes"`
		Amount      ghl.Number         `json:"amount"`
		Meta        json.RawMessage    `json:"meta"`
		FulfilledAt string             `json:"fulfilledAt"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	var msgs []string
	modes := []string{"cash", "card", "cheque", "bank_transfer", "other"}
	if !slices.Contains(modes, b.Mode) {
		msgs = append(msgs, "mode must be one of the following values: "+strings.Join(modes, ", "))
	}
	if b.Card == nil {
		msgs = append(msgs, "card should not be empty")
	} else if b.Mode == "card" && (b.Card.Brand == "" || !last4.MatchString(b.Card.Last4)) {
		msgs = append(msgs, "card.brand should not be empty", "card.last4 must be 4 digits")
	}
	if b.Cheque == nil {
		msgs = append(msgs, "cheque should not be empty")
	} else if b.Mode == "cheque" && b.Cheque.Number == "" {
		msgs = append(msgs, "cheque.number should not be empty")
	}
	if b.Notes == nil {
		msgs = append(msgs, "notes must be a string")
	}
	var amount int64
	if b.Amount != "" {
		v, err := b.Amount.Scaled(2)
		if err != nil || v <= 0 {
			msgs = append(msgs, "amount must be a positive number with at most 2 decimals")
		}
		amount = v
	}
	if b.FulfilledAt != "" {
		if _, err := ghl.ParseTime(b.FulfilledAt); err != nil {
			msgs = append(msgs, "fulfilledAt must be a valid ISO 8601 date string")
		}
	}
	if len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	inv, e := l.liveInvoice(req.r.PathValue("invoiceId"))
	if e != nil {
		return nil, e
	}
	switch inv.status {
	case ghl.InvoicePaid:
		return nil, badRequest("Invoice is already paid")
	case ghl.InvoiceVoid:
		return nil, badRequest("A payment cannot be recorded on a void invoice")
	case ghl.InvoicePaymentProcessing:
		return nil, badRequest("A payment of this invoice is being processed")
	}
	due := inv.total() - inv.paid
	if amount == 0 {
		amount = due
	}
	if amount > due {
		return nil, badRequest(fmt.Sprintf("Amount %s is more than the amount due (%s)", money(amount), money(due)))
	}
	pay := payment{provider: "manual", mode: b.Mode}
	if b.Mode == "card" {
		pay.cardBrand, pay.last4 = b.Card.Brand, b.Card.Last4
	}
	l.collectInvoice(dice{l.rng}, inv, amount, req.now, pay)
	return map[string]any{"success": true, "invoice": l.invoice(inv)}, nil
}

// collectInvoice records a payment on an invoice. An invoice that bills an
// order is paid through the order, so that the order, its transaction and
// the invoice agree, as they do in GHL.
func (l *location) collectInvoice(d dice, inv *invoiceRec, amount int64, at time.Time, pay payment) *txnRec {
	for _, o := range l.orders {
		if o.deleted || o.src.typ != ghl.SourceInvoice || o.src.id != inv.id {
			continue
		}
		t := l.charge(d, o, amount, at, ghl.TxnSucceeded, pay)
		if inv.status != ghl.InvoicePaid { // settle marks only a full payment
			inv.paid = min(inv.paid+amount, inv.total())
			inv.status = ghl.InvoicePartiallyPaid
			touch(&inv.updatedAt, at)
			l.emitInvoice(ghl.EventInvoicePartiallyPaid, inv)
		}
		return t
	}
	return l.payInvoice(d, inv, amount, at, pay)
}

func (s *Server) generateInvoiceNumber(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	// The next number, not reserved: GHL hands it out again until an
	// invoice takes it.
	return map[string]any{"invoiceNumber": l.nextInvNo + 1}, nil
}

// invoiceSender is the location's default invoice email sender.
func (l *location) invoiceSender() ghl.InvoiceSender {
	return ghl.InvoiceSender{FromName: l.name, FromEmail: "billing@" + strings.ToLower(l.id) + ".example.com"}
}

func (s *Server) getInvoiceSettings(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	sender := l.invoiceSender()
	return ghl.InvoiceSettings{
		AltID: l.id, AltType: "location",
		TermsNote: "Payment is due within 30 days.", EstimatesTermsNote: "This estimate is valid for 30 days.",
		Title: "INVOICE", EstimatesTitle: "ESTIMATE", InvoiceNumberPrefix: "INV-", EstimateNumberPrefix: "EST-",
		DueAfterXDays: 30, EstimatesExpireAfterXDays: 30, MinimumPercentagePartialPayment: ghl.NumberFromInt(0),
		CustomFields:        []string{},
		BusinessDetails:     &ghl.InvoiceBusiness{Name: l.name, Website: "https://example.com"},
		SenderConfiguration: &sender,
		PaymentMethods:      &ghl.InvoicePaymentMethods{},
	}, nil
}

func (s *Server) text2PayInvoice(req *apiRequest) (any, *apiError) {
	var b invoiceIn
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	d := dice{l.rng}
	p, e := b.parse(l, d, req.now, formText2Pay)
	if e != nil {
		return nil, e
	}
	var inv *invoiceRec
	if b.ID != "" {
		// An existing draft, replaced with the body.
		if inv, e = l.liveInvoice(b.ID); e != nil {
			return nil, e
		}
		if inv.status != ghl.InvoiceDraft {
			return nil, badRequest(fmt.Sprintf("A %s invoice cannot be edited", inv.status))
		}
		if e := l.numberFree(p.number, inv); e != nil {
			return nil, e
		}
		l.reviseInvoice(inv, p, req.now)
	} else if inv, e = l.newInvoice(d, req.now, p); e != nil {
		return nil, e
	}
	if b.Action == "send" {
		l.sendInvoice(inv, req.now)
	}
	return map[string]any{"invoice": l.invoice(inv), "invoiceUrl": invoiceURL(inv)}, nil
}

// invoiceURL is where the contact pays an invoice.
func invoiceURL(inv *invoiceRec) string { return "https://link.example.com/invoice/" + inv.id }

func (s *Server) updateInvoiceLateFees(req *apiRequest) (any, *apiError) {
	cfg, e := req.lateFeesBody()
	if e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	inv, e := l.liveInvoice(req.r.PathValue("invoiceId"))
	if e != nil {
		return nil, e
	}
	inv.lateFees = cfg
	touch(&inv.updatedAt, req.now)
	l.emitInvoice(ghl.EventInvoiceUpdate, inv)
	return l.invoice(inv), nil
}

func (s *Server) updateInvoiceLastVisitedAt(req *apiRequest) (any, *apiError) {
	id, e := req.param("body", "invoiceId")
	if e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	inv, e := l.liveInvoice(id)
	if e != nil {
		return nil, e
	}
	// A view is no edit: updatedAt stays.
	inv.lastVisitedAt = req.now.UTC().Truncate(time.Millisecond)
	return map[string]any{"success": true}, nil
}

// recordOwner finds the location, among those grant reaches, that holds
// the record an "owner" route names: key is a path wildcard or a body field.
func (s *Server) recordOwner(req *apiRequest, key string, grant *tokenGrant) (*location, *apiError) {
	id := req.r.PathValue(key)
	if id == "" {
		var e *apiError
		if id, e = req.param("body", key); e != nil {
			return nil, e
		}
	}
	for _, l := range s.allLocations() {
		if grant.locations != nil && !grant.locations[l.id] {
			continue
		}
		l.mu.RLock()
		var found bool
		switch key {
		case "invoiceId":
			inv := l.invByID[id]
			found = inv != nil && !inv.deleted
		case "scheduleId":
			found = l.liveSchedule(id) != nil
		case "estimateId":
			found = l.liveEstimate(id) != nil
		}
		l.mu.RUnlock()
		if found {
			return l, nil
		}
	}
	switch key {
	case "scheduleId":
		return nil, notFound("Invoice schedule not found")
	case "estimateId":
		return nil, notFound("Estimate not found")
	}
	return nil, notFound("Invoice not found")
}
