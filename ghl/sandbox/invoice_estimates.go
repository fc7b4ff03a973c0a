package sandbox

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// estimateRec is a quote to a contact; sending it, the contact's answer and
// turning it into an invoice move its status.
type estimateRec struct {
	id          string
	number      int
	status      ghl.EstimateStatus
	live        bool
	name, title string
	termsNotes  string
	prefix      string
	contact     *contact
	companyName string
	business    json.RawMessage
	currency    string
	lines       []invoiceLine
	discount    *ghl.InvoiceDiscount
	issue       time.Time
	expiry      time.Time
	sentTo      *ghl.InvoiceRecipients
	sentBy      string
	autoTaxes   bool
	meta        json.RawMessage
	history     []ghl.EstimateAction
	frequency   ghl.FrequencySettings
	autoInvoice *ghl.EstimateAutoInvoice
	invoiceID   string
	version     int
	visitedAt   time.Time
	createdAt   time.Time
	updatedAt   time.Time
	deleted     bool
}

// estimateIn is CreateEstimatesDto and UpdateEstimateDto.
type estimateIn struct {
	invoiceIn
	EstimateNumber    ghl.Number               `json:"estimateNumber"`
	ExpiryDate        string                   `json:"expiryDate"`
	Meta              json.RawMessage          `json:"meta"`
	FrequencySettings *ghl.FrequencySettings   `json:"frequencySettings"`
	AutoInvoice       *ghl.EstimateAutoInvoice `json:"autoInvoice"`
	EstimateStatus    string                   `json:"estimateStatus"`
	Prefix            string                   `json:"estimateNumberPrefix"`
}

var estimateStatuses = []string{"draft", "sent", "accepted", "declined", "invoiced", "viewed"}

func (b estimateIn) parse(l *location, d dice, now time.Time) (*parsedInvoice, time.Time, int, *apiError) {
	in := b.invoiceIn
	if in.IssueDate == "" {
		in.IssueDate = now.UTC().Format(ghl.DateLayout)
	}
	var msgs []string
	if b.FrequencySettings == nil {
		msgs = append(msgs, "frequencySettings should not be empty")
	} else if b.FrequencySettings.Enabled {
		msgs = append(msgs, scheduleProblems(&b.FrequencySettings.Schedule)...)
	}
	if b.EstimateStatus != "" && !slices.Contains(estimateStatuses, b.EstimateStatus) {
		msgs = append(msgs, "estimateStatus must be one of the following values: "+strings.Join(estimateStatuses, ", "))
	}
	number := 0
	if b.EstimateNumber != "" {
		n, ok := b.EstimateNumber.Int()
		if !ok || n <= 0 {
			msgs = append(msgs, "estimateNumber must be a positive whole number")
		}
		number = n
	}
	if len(msgs) > 0 {
		return nil, time.Time{}, 0, unprocessable(msgs...)
	}
	p, e := in.parse(l, d, now, formEstimate)
	if e != nil {
		return nil, time.Time{}, 0, e
	}
	expiry := p.issue.AddDate(0, 0, 30)
	if b.ExpiryDate != "" {
		t, err := parseDay(b.ExpiryDate)
		if err != nil {
			return nil, time.Time{}, 0, unprocessable("expiryDate must be a valid date (YYYY-MM-DD)")
		}
		if t.Before(p.issue) {
			return nil, time.Time{}, 0, badRequest("expiryDate cannot be before issueDate")
		}
		expiry = t
	}
	return p, expiry, number, nil
}

func (e *estimateRec) apply(l *location, b estimateIn, p *parsedInvoice, expiry time.Time, now time.Time) {
	var tmp invoiceRec
	p.apply(l, &tmp)
	e.name, e.currency, e.lines, e.live = tmp.name, tmp.currency, tmp.lines, tmp.live
	e.contact, e.companyName, e.business, e.discount = tmp.contact, tmp.companyName, tmp.business, tmp.discountSpec
	e.issue, e.expiry, e.autoTaxes = p.issue, expiry, b.AutomaticTaxesEnabled
	if b.Title != "" {
		e.title = b.Title
	}
	if b.Prefix != "" {
		e.prefix = b.Prefix
	}
	if b.TermsNotes != "" {
		e.termsNotes = b.TermsNotes
	}
	if b.SentTo != nil {
		e.sentTo = b.SentTo
	}
	if b.Meta != nil && string(b.Meta) != "null" {
		e.meta = b.Meta
	}
	if b.FrequencySettings != nil {
		e.frequency = *b.FrequencySettings
	}
	if b.AutoInvoice != nil {
		e.autoInvoice = b.AutoInvoice
	}
	if b.EstimateStatus != "" && b.EstimateStatus != string(e.status) {
		e.mark(ghl.EstimateStatus(b.EstimateStatus), now)
	}
}

// mark moves the estimate to status and records it in its history.
func (e *estimateRec) mark(status ghl.EstimateStatus, now time.Time) {
	e.status = status
	e.history = append(e.history, ghl.EstimateAction{Action: string(status), Timestamp: ghl.NewTime(now)})
}

func (l *location) liveEstimate(id string) *estimateRec {
	return find(l.book.estimates, func(e *estimateRec) bool { return e.id == id && !e.deleted })
}

func (l *location) estimateByPath(req *apiRequest) (*estimateRec, *apiError) {
	return found(l.liveEstimate(req.r.PathValue("estimateId")), "Estimate not found")
}

func (l *location) estimateOf(e *estimateRec, trace string) ghl.Estimate {
	total := money(linesTotal(e.lines, e.discount))
	meta := e.meta
	if meta == nil {
		meta = json.RawMessage("{}")
	}
	// lastVisitedAt is required: an estimate nobody opened since has
	// last been seen by its creator.
	visited := e.visitedAt
	if visited.IsZero() {
		visited = e.createdAt
	}
	sentTo := e.sentTo
	if sentTo == nil {
		sentTo = &ghl.InvoiceRecipients{Email: []string{e.contact.email}}
	}
	return ghl.Estimate{
		AltID: l.id, AltType: "location", ID: e.id, LiveMode: e.live, Deleted: e.deleted, Name: e.name,
		Currency: e.currency, BusinessDetails: e.business, Items: renderLines(e.currency, e.lines),
		Discount: discountOrNone(e.discount), Title: e.title, EstimateNumber: ghl.InvoiceNumber(fmt.Sprint(e.number)),
		EstimateNumberPrefix: e.prefix, Total: total,
		CreatedAt: ghl.NewTime(e.createdAt), UpdatedAt: ghl.NewTime(e.updatedAt), Version: e.version,
		AutomaticTaxesEnabled: e.autoTaxes, TermsNotes: e.termsNotes, CompanyID: l.companyID,
		ContactDetails: &ghl.InvoiceContact{ID: e.contact.id, Name: e.contact.name(), Email: e.contact.email,
			PhoneNo: e.contact.phone, CompanyName: e.companyName},
		IssueDate: ghl.NewTime(e.issue), ExpiryDate: ghl.NewTime(e.expiry), SentBy: e.sentBy,
		AutomaticTaxesCalculated: e.autoTaxes, Meta: meta, EstimateActionHistory: slices.Clone(e.history),
		SentTo: sentTo, FrequencySettings: &e.frequency, LastVisitedAt: ghl.NewTime(visited),
		// The sandbox has no exchange rates: the total stands in.
		TotalAmountInUSD: total, AutoInvoice: e.autoInvoice, TraceID: trace,
		EstimateStatus: e.status, InvoiceID: e.invoiceID,
	}
}

// estimateNumberFree refuses an estimate number that another live estimate
// holds, as numberFree does for invoices: self is the estimate being edited
// (nil for a new one), which may keep its own, and 0 asks for the next.
func (l *location) estimateNumberFree(n int, self *estimateRec) *apiError {
	if n != 0 && (self == nil || n != self.number) &&
		slices.ContainsFunc(l.book.estimates, func(x *estimateRec) bool { return !x.deleted && x.number == n }) {
		return badRequest(fmt.Sprintf("Estimate number %d already exists", n))
	}
	return nil
}

// nextEstimateNumber is one more than the highest estimate number.
func (l *location) nextEstimateNumber() int {
	n := 1000
	for _, e := range l.book.estimates {
		n = max(n, e.number)
	}
	return n + 1
}

func (s *Server) createEstimate(req *apiRequest) (any, *apiError) {
	var b estimateIn
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	d := dice{l.rng}
	p, expiry, number, e := b.parse(l, d, req.now)
	if e != nil {
		return nil, e
	}
	if e := l.estimateNumberFree(number, nil); e != nil {
		return nil, e
	}
	if number == 0 {
		number = l.nextEstimateNumber()
	}
	at := req.now.UTC().Truncate(time.Millisecond)
	est := &estimateRec{id: d.objectID(at), number: number, status: ghl.EstimateDraft, title: "ESTIMATE", prefix: "EST-",
		createdAt: at, updatedAt: at}
	est.apply(l, b, p, expiry, req.now)
	est.history = []ghl.EstimateAction{{Action: "created", Timestamp: ghl.NewTime(at)}}
	l.book.estimates = append(l.book.estimates, est)
	return l.estimateOf(est, s.traceID()), nil
}

func (s *Server) updateEstimate(req *apiRequest) (any, *apiError) {
	var b estimateIn
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	est, e := l.estimateByPath(req)
	if e != nil {
		return nil, e
	}
	p, expiry, number, e := b.parse(l, dice{l.rng}, req.now)
	if e != nil {
		return nil, e
	}
	if est.status == ghl.EstimateInvoiced {
		return nil, badRequest("An invoiced estimate cannot be edited")
	}
	if e := l.estimateNumberFree(number, est); e != nil {
		return nil, e
	}
	if number != 0 {
		est.number = number
	}
	est.apply(l, b, p, expiry, req.now)
	est.version++
	touch(&est.updatedAt, req.now)
	return l.estimateOf(est, s.traceID()), nil
}

func (s *Server) deleteEstimate(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	est, e := l.estimateByPath(req)
	if e != nil {
		return nil, e
	}
	est.deleted = true
	touch(&est.updatedAt, req.now)
	return l.estimateOf(est, s.traceID()), nil
}

func (s *Server) generateEstimateNumber(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	return map[string]any{"estimateNumber": l.nextEstimateNumber(), "traceId": s.traceID()}, nil
}

func (s *Server) sendEstimate(req *apiRequest) (any, *apiError) {
	var b struct {
		Action   string `json:"action"`
		LiveMode *bool  `json:"liveMode"`
		UserID   string `json:"userId"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	var msgs []string
	if !slices.Contains(sendActions, b.Action) {
		msgs = append(msgs, "action must be one of the following values: "+strings.Join(sendActions, ", "))
	}
	if b.LiveMode == nil {
		msgs = append(msgs, "liveMode must be a boolean value")
	}
	if b.UserID == "" {
		msgs = append(msgs, "userId should not be empty")
	}
	if len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	est, e := l.estimateByPath(req)
	if e != nil {
		return nil, e
	}
	switch est.status {
	case ghl.EstimateInvoiced, ghl.EstimateDeclined, ghl.EstimateAccepted:
		return nil, badRequest(fmt.Sprintf("An %s estimate cannot be sent", est.status))
	}
	if est.status == ghl.EstimateDraft {
		est.live = *b.LiveMode
	}
	est.sentBy = b.UserID
	est.mark(ghl.EstimateSent, req.now)
	touch(&est.updatedAt, req.now)
	return l.estimateOf(est, s.traceID()), nil
}

func (s *Server) createInvoiceFromEstimate(req *apiRequest) (any, *apiError) {
	var b struct {
		MarkAsInvoiced *bool  `json:"markAsInvoiced"`
		Version        string `json:"version"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if b.MarkAsInvoiced == nil {
		return nil, unprocessable("markAsInvoiced must be a boolean value")
	}
	if b.Version != "" && b.Version != "v1" && b.Version != "v2" {
		return nil, unprocessable("version must be one of the following values: v1, v2")
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	est, e := l.estimateByPath(req)
	if e != nil {
		return nil, e
	}
	switch est.status {
	case ghl.EstimateInvoiced:
		return nil, badRequest("The estimate is already invoiced")
	case ghl.EstimateDeclined:
		return nil, badRequest("A declined estimate cannot be invoiced")
	}
	d := dice{l.rng}
	at := req.now.UTC().Truncate(time.Millisecond)
	inv := &invoiceRec{
		id: d.objectID(at), status: ghl.InvoiceDraft, title: "INVOICE", name: est.name, currency: est.currency,
		live: est.live, contact: est.contact, companyName: est.companyName, business: est.business,
		termsNotes: est.termsNotes, sentTo: est.sentTo, autoTaxes: est.autoTaxes,
		issueDate: at.Truncate(24 * time.Hour), dueDate: at.Truncate(24*time.Hour).AddDate(0, 0, 30),
		createdAt: at, updatedAt: at,
	}
	inv.copyContent(d, at, est.lines, est.discount)
	l.fileInvoice(inv)
	est.invoiceID = inv.id
	if *b.MarkAsInvoiced {
		est.mark(ghl.EstimateInvoiced, req.now)
	}
	touch(&est.updatedAt, req.now)
	return map[string]any{"estimate": l.estimateOf(est, s.traceID()), "invoice": l.invoice(inv)}, nil
}

func (s *Server) listEstimates(req *apiRequest) (any, *apiError) {
	limit, offset, win, e := req.pageInWindow()
	if e != nil {
		return nil, e
	}
	q := req.query
	status, search, contactID := q.Get("status"), q.Get("search"), q.Get("contactId")
	if status != "" && status != "all" && !slices.Contains(estimateStatuses, status) {
		return nil, unprocessable("status must be one of the following values: all, " + strings.Join(estimateStatuses, ", "))
	}
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	match := func(x *estimateRec) bool {
		return !x.deleted && win.contains(x.issue) &&
			(status == "" || status == "all" || string(x.status) == status) &&
			(contactID == "" || x.contact.id == contactID) &&
			(search == "" || containsFold(search, x.name))
	}
	trace := s.traceID()
	items, total := collect(l.book.estimates, limit, offset, match, func(x *estimateRec) ghl.Estimate { return l.estimateOf(x, "") })
	return struct {
		Estimates []ghl.Estimate `json:"estimates"`
		Total     int            `json:"total"`
		TraceID   string         `json:"traceId"`
	}{items, total, trace}, nil
}

func (s *Server) updateEstimateLastVisitedAt(req *apiRequest) (any, *apiError) {
	id, e := req.param("body", "estimateId")
	if e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	est, e := found(l.liveEstimate(id), "Estimate not found")
	if e != nil {
		return nil, e
	}
	est.visitedAt = req.now.UTC().Truncate(time.Millisecond)
	return map[string]any{"success": true}, nil
}

// estimateTemplateRec is a reusable estimate.
type estimateTemplateRec struct {
	id          string
	live        bool
	name, title string
	termsNotes  string
	prefix      string
	business    json.RawMessage
	currency    string
	lines       []invoiceLine
	discount    *ghl.InvoiceDiscount
	autoTaxes   bool
	meta        json.RawMessage
	version     int
	createdAt   time.Time
	updatedAt   time.Time
	deleted     bool
}

// estimateTemplateIn is EstimateTemplatesDto.
type estimateTemplateIn struct {
	invoiceIn
	Meta   json.RawMessage `json:"meta"`
	Prefix string          `json:"estimateNumberPrefix"`
}

func (t *estimateTemplateRec) apply(l *location, b estimateTemplateIn, p *parsedInvoice) {
	var tmp invoiceRec
	p.apply(l, &tmp)
	t.name, t.currency, t.lines, t.business, t.discount = tmp.name, tmp.currency, tmp.lines, tmp.business, tmp.discountSpec
	t.autoTaxes = b.AutomaticTaxesEnabled
	if b.LiveMode != nil {
		t.live = *b.LiveMode
	}
	if b.Title != "" {
		t.title = b.Title
	}
	if b.TermsNotes != "" {
		t.termsNotes = b.TermsNotes
	}
	if b.Prefix != "" {
		t.prefix = b.Prefix
	}
	if b.Meta != nil && string(b.Meta) != "null" {
		t.meta = b.Meta
	}
}

func (l *location) estimateTemplateOf(t *estimateTemplateRec) ghl.EstimateTemplate {
	return ghl.EstimateTemplate{
		AltID: l.id, AltType: "location", ID: t.id, LiveMode: t.live, Deleted: t.deleted, Name: t.name,
		Currency: t.currency, BusinessDetails: t.business, Items: renderLines(t.currency, t.lines),
		Discount: discountOrNone(t.discount), Title: t.title, EstimateNumberPrefix: t.prefix, Total: money(linesTotal(t.lines, t.discount)),
		CreatedAt: ghl.NewTime(t.createdAt), UpdatedAt: ghl.NewTime(t.updatedAt), Version: t.version,
		AutomaticTaxesEnabled: t.autoTaxes, TermsNotes: t.termsNotes, Meta: t.meta,
	}
}

func (l *location) liveEstimateTemplate(id string) (*estimateTemplateRec, *apiError) {
	return found(find(l.book.estimateTemplates, func(t *estimateTemplateRec) bool { return t.id == id && !t.deleted }),
		"Estimate template not found")
}

func (s *Server) createEstimateTemplate(req *apiRequest) (any, *apiError) {
	var b estimateTemplateIn
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	d := dice{l.rng}
	p, e := b.parse(l, d, req.now, formTemplate)
	if e != nil {
		return nil, e
	}
	if b.Discount == nil {
		return nil, unprocessable("discount should not be empty")
	}
	at := req.now.UTC().Truncate(time.Millisecond)
	t := &estimateTemplateRec{id: d.objectID(at), title: "ESTIMATE", prefix: "EST-", createdAt: at, updatedAt: at}
	t.apply(l, b, p)
	l.book.estimateTemplates = append(l.book.estimateTemplates, t)
	return l.estimateTemplateOf(t), nil
}

func (s *Server) updateEstimateTemplate(req *apiRequest) (any, *apiError) {
	var b estimateTemplateIn
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	t, e := l.liveEstimateTemplate(req.r.PathValue("templateId"))
	if e != nil {
		return nil, e
	}
	p, e := b.parse(l, dice{l.rng}, req.now, formTemplate)
	if e != nil {
		return nil, e
	}
	if b.Discount == nil {
		return nil, unprocessable("discount should not be empty")
	}
	t.apply(l, b, p)
	t.version++
	touch(&t.updatedAt, req.now)
	return l.estimateTemplateOf(t), nil
}

func (s *Server) deleteEstimateTemplate(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	t, e := l.liveEstimateTemplate(req.r.PathValue("templateId"))
	if e != nil {
		return nil, e
	}
	t.deleted = true
	touch(&t.updatedAt, req.now)
	return l.estimateTemplateOf(t), nil
}

func (s *Server) previewEstimateTemplate(req *apiRequest) (any, *apiError) {
	id := req.query.Get("templateId")
	if id == "" {
		return nil, unprocessable("templateId should not be empty", "templateId must be a string")
	}
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	t, e := l.liveEstimateTemplate(id)
	if e != nil {
		return nil, e
	}
	return l.estimateTemplateOf(t), nil
}

func (s *Server) listEstimateTemplates(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(0, true)
	if e != nil {
		return nil, e
	}
	search := req.query.Get("search")
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	match := func(t *estimateTemplateRec) bool {
		return !t.deleted && (search == "" || containsFold(search, t.id, t.name))
	}
	items, total := collect(l.book.estimateTemplates, limit, offset, match, l.estimateTemplateOf)
	return listBody[ghl.EstimateTemplate]{Data: items, TotalCount: total, TraceID: s.traceID()}, nil
}

// discountOrNone is d, or no discount in GHL's words: estimates always
// carry one.
func discountOrNone(d *ghl.InvoiceDiscount) *ghl.InvoiceDiscount {
	if d == nil {
		return &ghl.InvoiceDiscount{Type: "percentage", Value: ghl.NumberFromInt(0)}
	}
	return d
}
