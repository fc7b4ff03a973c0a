package sandbox

import (
	"encoding/json"
	"time"

	"github.com/rankr/rankr/ghl"
)

// templateRec is an invoice template: an invoice's content without a
// contact or dates.
type templateRec struct {
	id          string
	internal    bool
	name, title string
	termsNotes  string
	prefix      string
	business    json.RawMessage
	currency    string
	lines       []invoiceLine
	discount    *ghl.InvoiceDiscount
	autoTaxes   bool
	lateFees    *ghl.LateFeesConfiguration
	payMethods  *ghl.InvoicePaymentMethods
	createdAt   time.Time
	updatedAt   time.Time
	deleted     bool
}

// templateIn is CreateInvoiceTemplateDto and UpdateInvoiceTemplateDto.
type templateIn struct {
	invoiceIn
	Internal bool `json:"internal"`
}

func (l *location) templateByPath(req *apiRequest) (*templateRec, *apiError) {
	id := req.r.PathValue("templateId")
	return found(find(l.book.templates, func(t *templateRec) bool { return t.id == id && !t.deleted }), "Invoice template not found")
}

// apply writes a parsed body to t. The caller holds the location lock.
func (t *templateRec) apply(l *location, b templateIn, p *parsedInvoice) {
	var tmp invoiceRec
	p.apply(l, &tmp)
	t.name, t.currency, t.lines, t.business, t.discount = tmp.name, tmp.currency, tmp.lines, tmp.business, tmp.discountSpec
	t.internal, t.autoTaxes = b.Internal, b.AutomaticTaxesEnabled
	if b.Title != "" {
		t.title = b.Title
	}
	if b.TermsNotes != "" {
		t.termsNotes = b.TermsNotes
	}
	if b.InvoiceNumberPrefix != "" {
		t.prefix = b.InvoiceNumberPrefix
	}
	if b.LateFeesConfiguration != nil {
		t.lateFees = b.LateFeesConfiguration
	}
	if b.PaymentMethods != nil {
		t.payMethods = b.PaymentMethods
	}
}

func (l *location) templateOf(t *templateRec) ghl.InvoiceTemplate {
	return ghl.InvoiceTemplate{
		ID: t.id, AltID: l.id, AltType: "location", Name: t.name, BusinessDetails: t.business,
		Currency: t.currency, Discount: t.discount, Items: renderLines(t.currency, t.lines),
		InvoiceNumberPrefix: t.prefix, Total: money(linesTotal(t.lines, t.discount)),
		CreatedAt: ghl.NewTime(t.createdAt), UpdatedAt: ghl.NewTime(t.updatedAt),
		Title: t.title, TermsNotes: t.termsNotes, Internal: t.internal, AutomaticTaxesEnabled: t.autoTaxes,
		LateFeesConfiguration: t.lateFees, PaymentMethods: t.payMethods,
	}
}

func (s *Server) createInvoiceTemplate(req *apiRequest) (any, *apiError) {
	var b templateIn
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
	at := req.now.UTC().Truncate(time.Millisecond)
	t := &templateRec{id: d.objectID(at), title: "INVOICE", createdAt: at, updatedAt: at}
	t.apply(l, b, p)
	l.book.templates = append(l.book.templates, t)
	return l.templateOf(t), nil
}

func (s *Server) listInvoiceTemplates(req *apiRequest) (any, *apiError) {
	limit, offset, win, e := req.pageInWindow()
	if e != nil {
		return nil, e
	}
	search := req.query.Get("search")
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	match := func(t *templateRec) bool {
		return !t.deleted && win.contains(t.createdAt) && (search == "" || containsFold(search, t.id, t.name, t.title))
	}
	items, total := collect(l.book.templates, limit, offset, match, l.templateOf)
	return listBody[ghl.InvoiceTemplate]{Data: items, TotalCount: total}, nil
}

func (s *Server) getInvoiceTemplate(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	t, e := l.templateByPath(req)
	if e != nil {
		return nil, e
	}
	return l.templateOf(t), nil
}

func (s *Server) updateInvoiceTemplate(req *apiRequest) (any, *apiError) {
	var b templateIn
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	t, e := l.templateByPath(req)
	if e != nil {
		return nil, e
	}
	p, e := b.parse(l, dice{l.rng}, req.now, formTemplate)
	if e != nil {
		return nil, e
	}
	t.apply(l, b, p)
	touch(&t.updatedAt, req.now)
	return l.templateOf(t), nil
}

func (s *Server) deleteInvoiceTemplate(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	t, e := l.templateByPath(req)
	if e != nil {
		return nil, e
	}
	t.deleted = true
	touch(&t.updatedAt, req.now)
	return map[string]any{"success": true}, nil
}

func (s *Server) updateInvoiceTemplateLateFees(req *apiRequest) (any, *apiError) {
	cfg, e := req.lateFeesBody()
	if e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	t, e := l.templateByPath(req)
	if e != nil {
		return nil, e
	}
	t.lateFees = cfg
	touch(&t.updatedAt, req.now)
	return l.templateOf(t), nil
}

func (s *Server) updateInvoiceTemplatePaymentMethods(req *apiRequest) (any, *apiError) {
	var b struct {
		PaymentMethods *ghl.InvoicePaymentMethods `json:"paymentMethods"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	t, e := l.templateByPath(req)
	if e != nil {
		return nil, e
	}
	// The spec makes paymentMethods optional: none clears the restriction.
	t.payMethods = b.PaymentMethods
	touch(&t.updatedAt, req.now)
	return l.templateOf(t), nil
}
