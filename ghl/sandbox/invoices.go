package sandbox

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/rankr/rankr/ghl"
)

// invoiceRoutes serve the invoices API.
func (s *Server) invoiceRoutes() []route {
	q, b := "query", "body"
	return []route{
		{ghl.OpListInvoices, q, "altId", true, 200, s.listInvoices},
		{ghl.OpGetInvoice, q, "altId", true, 200, s.getInvoice},
		{ghl.OpCreateInvoice, b, "altId", true, 200, s.createInvoice},
		{ghl.OpUpdateInvoice, b, "altId", true, 200, s.updateInvoice},
		{ghl.OpDeleteInvoice, q, "altId", true, 200, s.deleteInvoiceAPI},
		{ghl.OpVoidInvoice, b, "altId", true, 200, s.voidInvoiceAPI},
		{ghl.OpSendInvoice, b, "altId", true, 200, s.sendInvoiceAPI},
		{ghl.OpRecordInvoicePayment, b, "altId", true, 200, s.recordInvoicePayment},
		{ghl.OpGenerateInvoiceNumber, q, "altId", true, 200, s.generateInvoiceNumber},
		{ghl.OpGetInvoiceSettings, q, "altId", true, 200, s.getInvoiceSettings},
		{ghl.OpText2PayInvoice, b, "altId", true, 200, s.text2PayInvoice},
		{ghl.OpUpdateInvoiceLateFees, b, "altId", true, 200, s.updateInvoiceLateFees},
		// The body names only the invoice; its location is the token's.
		{ghl.OpUpdateInvoiceLastVisitedAt, "owner", "invoiceId", false, 200, s.updateInvoiceLastVisitedAt},

		{ghl.OpCreateInvoiceSchedule, b, "altId", true, 200, s.createInvoiceSchedule},
		{ghl.OpListInvoiceSchedules, q, "altId", true, 200, s.listInvoiceSchedules},
		{ghl.OpGetInvoiceSchedule, q, "altId", true, 200, s.getInvoiceSchedule},
		{ghl.OpUpdateInvoiceSchedule, b, "altId", true, 200, s.updateInvoiceSchedule},
		{ghl.OpDeleteInvoiceSchedule, q, "altId", true, 200, s.deleteInvoiceSchedule},
		// No body and no location: the schedule's is the token's.
		{ghl.OpUpdateAndScheduleInvoice, "owner", "scheduleId", false, 200, s.updateAndScheduleInvoiceSchedule},
		{ghl.OpScheduleInvoiceSchedule, b, "altId", true, 200, s.scheduleInvoiceSchedule},
		{ghl.OpAutoPaymentInvoiceSchedule, b, "altId", true, 200, s.autoPaymentInvoiceSchedule},
		{ghl.OpCancelInvoiceSchedule, b, "altId", true, 200, s.cancelInvoiceSchedule},

		{ghl.OpCreateInvoiceTemplate, b, "altId", true, 200, s.createInvoiceTemplate},
		{ghl.OpListInvoiceTemplates, q, "altId", true, 200, s.listInvoiceTemplates},
		{ghl.OpGetInvoiceTemplate, q, "altId", true, 200, s.getInvoiceTemplate},
		{ghl.OpUpdateInvoiceTemplate, b, "altId", true, 200, s.updateInvoiceTemplate},
		{ghl.OpDeleteInvoiceTemplate, q, "altId", true, 200, s.deleteInvoiceTemplate},
		{ghl.OpUpdateInvoiceTemplateLateFees, b, "altId", true, 200, s.updateInvoiceTemplateLateFees},
		{ghl.OpUpdateInvoiceTemplatePaymentMethods, b, "altId", true, 200, s.updateInvoiceTemplatePaymentMethods},

		{ghl.OpCreateEstimate, b, "altId", true, 201, s.createEstimate},
		{ghl.OpUpdateEstimate, b, "altId", true, 200, s.updateEstimate},
		{ghl.OpDeleteEstimate, b, "altId", true, 200, s.deleteEstimate},
		{ghl.OpGenerateEstimateNumber, q, "altId", true, 200, s.generateEstimateNumber},
		{ghl.OpSendEstimate, b, "altId", true, 201, s.sendEstimate},
		{ghl.OpCreateInvoiceFromEstimate, b, "altId", true, 200, s.createInvoiceFromEstimate},
		{ghl.OpListEstimates, q, "altId", true, 200, s.listEstimates},
		{ghl.OpUpdateEstimateLastVisitedAt, "owner", "estimateId", false, 200, s.updateEstimateLastVisitedAt},

		{ghl.OpListEstimateTemplates, q, "altId", true, 200, s.listEstimateTemplates},
		{ghl.OpCreateEstimateTemplate, b, "altId", true, 201, s.createEstimateTemplate},
		{ghl.OpUpdateEstimateTemplate, b, "altId", true, 200, s.updateEstimateTemplate},
		{ghl.OpDeleteEstimateTemplate, b, "altId", true, 200, s.deleteEstimateTemplate},
		{ghl.OpPreviewEstimateTemplate, q, "altId", true, 200, s.previewEstimateTemplate},
	}
}

var invoiceSortOrders = []string{"ascend", "descend"}

// pageInWindow reads what the lists of the invoices API take: a required
// limit and offset, and a startAt/endAt window.
func (req *apiRequest) pageInWindow() (limit, offset int, win window, e *apiError) {
	if limit, offset, e = req.page(0, true); e != nil {
		return 0, 0, window{}, e
	}
	win, e = req.window()
	return limit, offset, win, e
}

func (s *Server) listInvoices(req *apiRequest) (any, *apiError) {
	limit, offset, win, e := req.pageInWindow()
	if e != nil {
		return nil, e
	}
	q := req.query
	status, search, contactID := q.Get("status"), q.Get("search"), q.Get("contactId")
	if v := q.Get("sortField"); v != "" && v != "issueDate" {
		return nil, unprocessable("sortField must be one of the following values: issueDate")
	}
	order := q.Get("sortOrder")
	if order != "" && !slices.Contains(invoiceSortOrders, order) {
		return nil, unprocessable("sortOrder must be one of the following values: ascend, descend")
	}
	live := req.liveFilter()

	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	match := func(inv *invoiceRec) bool {
		return !inv.deleted && live(inv.live) && win.contains(inv.issueDate) &&
			(status == "" || string(inv.status) == status) &&
			(contactID == "" || inv.contact.id == contactID) &&
			(search == "" || containsFold(search, inv.id, inv.name, inv.contact.name(), strconv.Itoa(inv.number)))
	}
	recs := l.invoices
	if order == "ascend" {
		recs = slices.Clone(recs)
		slices.Reverse(recs)
	}
	items, total := collect(recs, limit, offset, match, l.invoice)
	return struct {
		Invoices []ghl.Invoice `json:"invoices"`
		Total    int           `json:"total"`
	}{items, total}, nil
}

func (s *Server) getInvoice(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	inv := l.invByID[req.r.PathValue("invoiceId")]
	if inv == nil || inv.deleted {
		return nil, notFound("Invoice not found")
	}
	return l.invoice(inv), nil
}

type invoiceRec struct {
	id        string
	number    int
	contact   *contact
	currency  string
	live      bool
	status    ghl.InvoiceStatus
	lines     []invoiceLine
	discount  int64 // in minor units, derived from discountSpec when that is set
	paid      int64
	name      string
	title     string
	issueDate time.Time
	dueDate   time.Time
	createdAt time.Time
	updatedAt time.Time
	deleted   bool

	// What the API set; the generator leaves these empty and the renderer
	// falls back to the location's defaults.
	business      json.RawMessage
	companyName   string
	discountSpec  *ghl.InvoiceDiscount
	description   string
	termsNotes    string
	prefix        string
	sentTo        *ghl.InvoiceRecipients
	autoTaxes     bool
	lateFees      *ghl.LateFeesConfiguration
	payMethods    *ghl.InvoicePaymentMethods
	lastVisitedAt time.Time
}

// invoiceLine is a line of a catalog price (price set), or a free line the
// API gave (name and amount set).
type invoiceLine struct {
	id    string
	price *priceRec
	qty   int

	name, description  string
	productID, priceID string
	itemType           string
	amount             int64 // unit amount in minor units, when price is nil
}

func (ln invoiceLine) unit() int64 {
	if ln.price != nil {
		return ln.price.minor
	}
	return ln.amount
}

func (inv *invoiceRec) subtotal() int64 {
	var s int64
	for _, l := range inv.lines {
		s += l.unit() * int64(l.qty)
	}
	return s
}

func (inv *invoiceRec) total() int64 { return inv.subtotal() - inv.discount }

// linesTotal is what an invoice of lines with discount bills: templates,
// schedules and estimates carry no discount amount of their own, only the
// spec an invoice would derive it from.
func linesTotal(lines []invoiceLine, discount *ghl.InvoiceDiscount) int64 {
	tmp := invoiceRec{lines: lines, discountSpec: discount}
	tmp.reprice()
	return tmp.total()
}

// reprice derives the discount from its spec once lines or spec change.
func (inv *invoiceRec) reprice() {
	d := inv.discountSpec
	if d == nil {
		return
	}
	v, _ := d.Value.Scaled(2)
	if d.Type == "percentage" {
		inv.discount = inv.subtotal() * v / 10000
	} else {
		inv.discount = min(v, inv.subtotal())
	}
}

func (l *location) invoice(inv *invoiceRec) ghl.Invoice {
	business := inv.business
	if business == nil {
		business, _ = json.Marshal(map[string]any{"name": l.name, "address": "1 Market Street, Springfield", "website": "https://example.com"})
	}
	contact := &ghl.InvoiceContact{ID: inv.contact.id, Name: inv.contact.name(), Email: inv.contact.email,
		PhoneNo: inv.contact.phone, CompanyName: inv.companyName}
	out := ghl.Invoice{
		ID: inv.id, Status: inv.status, LiveMode: inv.live, AmountPaid: money(inv.paid),
		AltID: l.id, AltType: "location", Name: inv.name, BusinessDetails: business,
		InvoiceNumber: ghl.InvoiceNumber(strconv.Itoa(inv.number)), Currency: inv.currency,
		ContactDetails: contact,
		IssueDate:      inv.issueDate.UTC().Format(ghl.DateLayout), DueDate: inv.dueDate.UTC().Format(ghl.DateLayout),
		Total: money(inv.total()), Title: inv.title, AmountDue: money(max(inv.total()-inv.paid, 0)),
		TotalSummary: &ghl.TotalSummary{SubTotal: money(inv.subtotal()), Discount: money(inv.discount), Tax: money(0)},
		CreatedAt:    ghl.NewTime(inv.createdAt), UpdatedAt: ghl.NewTime(inv.updatedAt),
		Description: inv.description, TermsNotes: inv.termsNotes, SentTo: inv.sentTo,
		AutomaticTaxesEnabled: inv.autoTaxes, InvoiceNumberPrefix: inv.prefix,
		LateFeesConfiguration: inv.lateFees, PaymentMethods: inv.payMethods,
	}
	switch {
	case inv.discountSpec != nil:
		out.Discount = rawJSON(inv.discountSpec)
	case inv.discount > 0:
		out.Discount, _ = json.Marshal(map[string]any{"type": "fixed", "value": money(inv.discount)})
	}
	out.InvoiceItems = renderLines(inv.currency, inv.lines)
	return out
}

// renderLines renders invoice lines as GHL's invoice items.
func renderLines(currency string, lines []invoiceLine) []ghl.InvoiceItem {
	out := make([]ghl.InvoiceItem, 0, len(lines))
	for _, ln := range lines {
		it := ghl.InvoiceItem{ID: ln.id, Currency: currency, Qty: ghl.NumberFromInt(int64(ln.qty)),
			Amount: money(ln.unit()), Taxes: json.RawMessage("[]")}
		if ln.price != nil {
			it.ProductID, it.PriceID, it.Name = ln.price.product.p.ID, ln.price.p.ID, ln.price.product.p.Name
		} else {
			it.ProductID, it.PriceID, it.Name = ln.productID, ln.priceID, ln.name
			it.Description, it.Type = ln.description, ln.itemType
		}
		out = append(out, it)
	}
	return out
}

func (l *location) emitInvoice(typ string, inv *invoiceRec) {
	if l.emit == nil {
		return
	}
	l.emit(typ, l.id, l.invoice(inv))
}

func (l *location) createInvoice(d dice, at time.Time, c *contact, lines []invoiceLine, live bool) *invoiceRec {
	at = at.UTC().Truncate(time.Millisecond)
	inv := &invoiceRec{
		id: d.objectID(at), contact: c, currency: l.currency, live: live,
		status: ghl.InvoiceDraft, lines: lines, name: "Invoice for " + c.name(), title: "INVOICE",
		issueDate: at, dueDate: at.AddDate(0, 0, pick(d, []int{7, 14, 30})), createdAt: at, updatedAt: at,
	}
	l.fileInvoice(inv)
	return inv
}

// fileInvoice adds a new invoice to the location and announces it. An
// invoice without a number takes the next one; one the API numbered moves
// the next one past it, as GHL's counter does.
func (l *location) fileInvoice(inv *invoiceRec) {
	if inv.number == 0 {
		l.nextInvNo++
		inv.number = l.nextInvNo
	} else {
		l.nextInvNo = max(l.nextInvNo, inv.number)
	}
	l.invoices = append(l.invoices, inv)
	l.invByID[inv.id] = inv
	l.emitInvoice(ghl.EventInvoiceCreate, inv)
}

// copyContent gives an invoice made from a schedule or an estimate copies of
// their lines, each with an id of its own, and of their discount, so that
// editing the source later leaves the invoice as it was issued.
func (inv *invoiceRec) copyContent(d dice, at time.Time, lines []invoiceLine, discount *ghl.InvoiceDiscount) {
	for _, ln := range lines {
		ln.id = d.objectID(at)
		inv.lines = append(inv.lines, ln)
	}
	if discount != nil {
		dc := *discount
		inv.discountSpec = &dc
		inv.reprice()
	}
}

func (l *location) sendInvoice(inv *invoiceRec, at time.Time) {
	if inv.status != ghl.InvoiceDraft {
		return
	}
	inv.status = ghl.InvoiceSent
	touch(&inv.updatedAt, at)
	l.emitInvoice(ghl.EventInvoiceSent, inv)
}

// payInvoice records a payment of amount against an invoice.
func (l *location) payInvoice(d dice, inv *invoiceRec, amount int64, at time.Time, pay payment) *txnRec {
	amount = min(amount, inv.total()-inv.paid)
	if amount <= 0 {
		return nil
	}
	t := l.newTxn(d, at, inv.contact, inv.live, amount, ghl.TxnSucceeded, pay)
	t.entityType, t.entityID, t.invoiceID = "invoice", inv.id, inv.id
	t.src = source{typ: ghl.SourceInvoice, id: inv.id, name: inv.name}
	inv.paid += amount
	typ := ghl.EventInvoicePartiallyPaid
	inv.status = ghl.InvoicePartiallyPaid
	if inv.paid >= inv.total() {
		inv.status, typ = ghl.InvoicePaid, ghl.EventInvoicePaid
	}
	touch(&inv.updatedAt, at)
	l.emitInvoice(typ, inv)
	return t
}

func (l *location) voidInvoice(inv *invoiceRec, at time.Time) {
	if inv.status == ghl.InvoicePaid || inv.status == ghl.InvoiceVoid {
		return
	}
	inv.status = ghl.InvoiceVoid
	touch(&inv.updatedAt, at)
	l.emitInvoice(ghl.EventInvoiceVoid, inv)
}

// deleteInvoice removes a draft. GHL's InvoiceDelete payload carries the
// status "delete"; lists stop showing the invoice.
func (l *location) deleteInvoice(inv *invoiceRec, at time.Time) {
	inv.deleted = true
	l.deleted++
	touch(&inv.updatedAt, at)
	if l.emit != nil {
		body := l.invoice(inv)
		body.Status = "delete"
		l.emit(ghl.EventInvoiceDelete, l.id, body)
	}
}
