package sandbox

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/rankr/rankr/ghl"
)

// invoiceBook holds a location's records of the invoices API other than
// invoices.
type invoiceBook struct {
	schedules []*scheduleRec // ascending by createdAt
	templates []*templateRec // ascending by createdAt
	estimates []*estimateRec // ascending by createdAt

	estimateTemplates []*estimateTemplateRec // ascending by createdAt
}

// scheduleRec is a recurring invoice. Scheduling it issues (and sends) the
// invoices whose dates have come; the sandbox issues later ones when the
// schedule is scheduled again, not by a clock of its own.
type scheduleRec struct {
	id          string
	status      ghl.InvoiceScheduleStatus
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
	schedule    ghl.Schedule
	autoTaxes   bool
	lateFees    *ghl.LateFeesConfiguration
	payMethods  *ghl.InvoicePaymentMethods
	autoPayment *ghl.AutoPayment
	invoices    []*invoiceRec
	createdAt   time.Time
	updatedAt   time.Time
	deleted     bool
}

// maxIssued bounds how many past occurrences one scheduling issues, so that
// a rule starting years ago with a short interval stays cheap.
const maxIssued = 36

func (l *location) liveSchedule(id string) *scheduleRec {
	return find(l.book.schedules, func(s *scheduleRec) bool { return s.id == id && !s.deleted })
}

func (l *location) scheduleByPath(req *apiRequest) (*scheduleRec, *apiError) {
	return found(l.liveSchedule(req.r.PathValue("scheduleId")), "Invoice schedule not found")
}

// total is what each invoice of the schedule bills.
func (s *scheduleRec) total() int64 { return linesTotal(s.lines, s.discount) }

// occurrences returns the issue times of the schedule's rule up to now, and
// the next one after (zero when the rule has ended).
func (s *scheduleRec) occurrences(now time.Time) (past []time.Time, next time.Time) {
	r := s.schedule.RRule
	if r == nil {
		if at := s.schedule.ExecuteAt.Time; !at.After(now) {
			return []time.Time{at}, time.Time{}
		}
		return nil, s.schedule.ExecuteAt.Time
	}
	start, _ := time.Parse(ghl.DateLayout, r.StartDate)
	if r.StartTime != "" {
		if hms, err := time.Parse(time.TimeOnly, r.StartTime); err == nil {
			start = start.Add(time.Duration(hms.Hour())*time.Hour + time.Duration(hms.Minute())*time.Minute + time.Duration(hms.Second())*time.Second)
		}
	}
	var end time.Time
	if r.EndDate != "" {
		end, _ = time.Parse(ghl.DateLayout, r.EndDate)
		end = end.Add(24*time.Hour - time.Millisecond)
	}
	for i := 0; ; i++ {
		at := advance(start, r.IntervalType, r.Interval*i)
		if (r.Count > 0 && i >= r.Count) || (!end.IsZero() && at.After(end)) {
			return past, time.Time{}
		}
		if at.After(now) || len(past) == maxIssued {
			return past, at
		}
		past = append(past, at)
	}
}

// advance moves t by n units of a rule's interval type.
func advance(t time.Time, unit string, n int) time.Time {
	switch unit {
	case "yearly":
		return t.AddDate(n, 0, 0)
	case "monthly":
		return t.AddDate(0, n, 0)
	case "weekly":
		return t.AddDate(0, 0, 7*n)
	case "daily":
		return t.AddDate(0, 0, n)
	case "hourly":
		return t.Add(time.Duration(n) * time.Hour)
	case "minutely":
		return t.Add(time.Duration(n) * time.Minute)
	}
	return t.Add(time.Duration(n) * time.Second)
}

var rruleTypes = []string{"yearly", "monthly", "weekly", "daily", "hourly", "minutely", "secondly"}

// scheduleProblems checks a ScheduleOptionsDto.
func scheduleProblems(s *ghl.Schedule) []string {
	if s == nil {
		return []string{"schedule should not be empty"}
	}
	r := s.RRule
	if r == nil {
		if s.ExecuteAt.IsZero() {
			return []string{"schedule.rrule or schedule.executeAt should not be empty"}
		}
		return nil
	}
	var msgs []string
	if !slices.Contains(rruleTypes, r.IntervalType) {
		msgs = append(msgs, "schedule.rrule.intervalType must be one of the following values: yearly, monthly, weekly, daily, hourly, minutely, secondly")
	}
	if r.Interval < 1 {
		msgs = append(msgs, "schedule.rrule.interval must not be less than 1")
	}
	if _, err := time.Parse(ghl.DateLayout, r.StartDate); err != nil {
		msgs = append(msgs, "schedule.rrule.startDate must be a date in YYYY-MM-DD format")
	}
	if r.EndDate != "" {
		if _, err := time.Parse(ghl.DateLayout, r.EndDate); err != nil {
			msgs = append(msgs, "schedule.rrule.endDate must be a date in YYYY-MM-DD format")
		}
	}
	if r.StartTime != "" {
		if _, err := time.Parse(time.TimeOnly, r.StartTime); err != nil {
			msgs = append(msgs, "schedule.rrule.startTime must be a time in HH:mm:ss format")
		}
	}
	return msgs
}

// scheduleIn is CreateInvoiceScheduleDto and UpdateInvoiceScheduleDto.
type scheduleIn struct {
	invoiceIn
	Schedule *ghl.Schedule `json:"schedule"`
}

func (b scheduleIn) parse(l *location, d dice, now time.Time) (*parsedInvoice, *apiError) {
	p, e := b.invoiceIn.parse(l, d, now, formSchedule)
	if e != nil {
		return nil, e
	}
	if msgs := scheduleProblems(b.Schedule); len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}
	return p, nil
}

// apply writes a parsed body to s. The caller holds the location lock.
func (s *scheduleRec) apply(l *location, b scheduleIn, p *parsedInvoice) {
	// The invoice fields are checked and applied as an invoice's are.
	var tmp invoiceRec
	p.apply(l, &tmp)
	s.name, s.currency, s.lines, s.live = tmp.name, tmp.currency, tmp.lines, tmp.live
	s.contact, s.companyName, s.business, s.discount = tmp.contact, tmp.companyName, tmp.business, tmp.discountSpec
	s.schedule = *b.Schedule
	if b.Title != "" {
		s.title = b.Title
	}
	if b.TermsNotes != "" {
		s.termsNotes = b.TermsNotes
	}
	if b.InvoiceNumberPrefix != "" {
		s.prefix = b.InvoiceNumberPrefix
	}
	s.autoTaxes = b.AutomaticTaxesEnabled
	if b.LateFeesConfiguration != nil {
		s.lateFees = b.LateFeesConfiguration
	}
	if b.PaymentMethods != nil {
		s.payMethods = b.PaymentMethods
	}
}

// issue turns the schedule active and issues the invoices whose dates have
// come and that it has not issued yet, sending each (and charging it, with
// auto-payment on). A rule with nothing left completes it.
func (l *location) issue(d dice, s *scheduleRec, now time.Time) {
	past, next := s.occurrences(now)
	for _, at := range past[min(len(s.invoices), len(past)):] {
		day := at.UTC().Truncate(24 * time.Hour)
		inv := &invoiceRec{
			id: d.objectID(now), status: ghl.InvoiceDraft, title: s.title, name: s.name, currency: s.currency,
			live: s.live, contact: s.contact, companyName: s.companyName, business: s.business,
			termsNotes: s.termsNotes, prefix: s.prefix, autoTaxes: s.autoTaxes, lateFees: s.lateFees,
			payMethods: s.payMethods, issueDate: day, dueDate: day,
			createdAt: now.UTC().Truncate(time.Millisecond), updatedAt: now.UTC().Truncate(time.Millisecond),
		}
		inv.copyContent(d, now, s.lines, s.discount)
		l.fileInvoice(inv)
		l.sendInvoice(inv, now)
		if ap := s.autoPayment; ap != nil && ap.Enable {
			pay := payment{provider: "stripe", account: "acct_" + d.alnum(16), cardBrand: "visa", last4: d.digits(4)}
			if ap.Card != nil && ap.Card.Last4 != "" {
				pay.cardBrand, pay.last4 = ap.Card.Brand, ap.Card.Last4
			}
			l.collectInvoice(d, inv, inv.total(), now, pay)
		}
		s.invoices = append(s.invoices, inv)
	}
	s.status = ghl.ScheduleActive
	if next.IsZero() {
		s.status = ghl.ScheduleCompleted
	}
	touch(&s.updatedAt, now)
}

func (l *location) scheduleOf(s *scheduleRec, now time.Time) ghl.InvoiceSchedule {
	business := s.business
	if business == nil {
		business, _ = json.Marshal(map[string]any{"name": l.name})
	}
	out := ghl.InvoiceSchedule{
		ID: s.id, Status: s.status, LiveMode: s.live, AltID: l.id, AltType: "location", Name: s.name,
		BusinessDetails: business, Currency: s.currency,
		ContactDetails: &ghl.InvoiceContact{ID: s.contact.id, Name: s.contact.name(), Email: s.contact.email,
			PhoneNo: s.contact.phone, CompanyName: s.companyName},
		Discount: s.discount, Items: renderLines(s.currency, s.lines), Total: money(s.total()),
		Title: s.title, TermsNotes: s.termsNotes, CompiledTermsNotes: s.termsNotes,
		CreatedAt: ghl.NewTime(s.createdAt), UpdatedAt: ghl.NewTime(s.updatedAt),
		AutoPayment: s.autoPayment, InvoiceNumberPrefix: s.prefix, LateFeesConfiguration: s.lateFees,
		PaymentMethods: s.payMethods, Invoices: []ghl.Invoice{},
	}
	sched := s.schedule
	if s.status == ghl.ScheduleActive {
		// executeAt tells when the next invoice goes out.
		if _, next := s.occurrences(now); !next.IsZero() {
			sched.ExecuteAt = ghl.NewTime(next)
		}
	}
	out.Schedule = &sched
	for _, inv := range s.invoices {
		if !inv.deleted {
			out.Invoices = append(out.Invoices, l.invoice(inv))
		}
	}
	return out
}

func (s *Server) createInvoiceSchedule(req *apiRequest) (any, *apiError) {
	var b scheduleIn
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	d := dice{l.rng}
	p, e := b.parse(l, d, req.now)
	if e != nil {
		return nil, e
	}
	at := req.now.UTC().Truncate(time.Millisecond)
	sc := &scheduleRec{id: d.objectID(at), status: ghl.ScheduleDraft, title: "INVOICE", createdAt: at, updatedAt: at}
	sc.apply(l, b, p)
	l.book.schedules = append(l.book.schedules, sc)
	return l.scheduleOf(sc, req.now), nil
}

func (s *Server) listInvoiceSchedules(req *apiRequest) (any, *apiError) {
	limit, offset, win, e := req.pageInWindow()
	if e != nil {
		return nil, e
	}
	status, search := req.query.Get("status"), req.query.Get("search")
	live := req.liveFilter()
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	match := func(sc *scheduleRec) bool {
		return !sc.deleted && live(sc.live) && win.contains(sc.createdAt) &&
			(status == "" || string(sc.status) == status) &&
			(search == "" || containsFold(search, sc.id, sc.name, sc.contact.name(), sc.contact.email, sc.contact.phone))
	}
	items, total := collect(l.book.schedules, limit, offset, match, func(sc *scheduleRec) ghl.InvoiceSchedule { return l.scheduleOf(sc, req.now) })
	return struct {
		Schedules []ghl.InvoiceSchedule `json:"schedules"`
		Total     int                   `json:"total"`
	}{items, total}, nil
}

func (s *Server) getInvoiceSchedule(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	sc, e := l.scheduleByPath(req)
	if e != nil {
		return nil, e
	}
	return l.scheduleOf(sc, req.now), nil
}

func (s *Server) updateInvoiceSchedule(req *apiRequest) (any, *apiError) {
	var b scheduleIn
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sc, e := l.scheduleByPath(req)
	if e != nil {
		return nil, e
	}
	p, e := b.parse(l, dice{l.rng}, req.now)
	if e != nil {
		return nil, e
	}
	if sc.status != ghl.ScheduleDraft && sc.status != ghl.ScheduleActive {
		return nil, badRequest(fmt.Sprintf("A %s schedule cannot be edited", sc.status))
	}
	sc.apply(l, b, p)
	touch(&sc.updatedAt, req.now)
	return l.scheduleOf(sc, req.now), nil
}

func (s *Server) deleteInvoiceSchedule(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sc, e := l.scheduleByPath(req)
	if e != nil {
		return nil, e
	}
	// The invoices it issued are the contact's now: they stay.
	sc.deleted = true
	touch(&sc.updatedAt, req.now)
	return map[string]any{"success": true}, nil
}

// startSchedule schedules a draft, or reschedules an active schedule (which
// issues nothing twice).
func (l *location) startSchedule(sc *scheduleRec, now time.Time) *apiError {
	if sc.status != ghl.ScheduleDraft && sc.status != ghl.ScheduleActive {
		return badRequest(fmt.Sprintf("A %s schedule cannot be scheduled", sc.status))
	}
	if len(sc.lines) == 0 {
		return badRequest("A schedule without items cannot be scheduled")
	}
	l.issue(dice{l.rng}, sc, now)
	return nil
}

func (s *Server) scheduleInvoiceSchedule(req *apiRequest) (any, *apiError) {
	var b struct {
		LiveMode    *bool            `json:"liveMode"`
		AutoPayment *ghl.AutoPayment `json:"autoPayment"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if b.LiveMode == nil {
		return nil, unprocessable("liveMode must be a boolean value")
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sc, e := l.scheduleByPath(req)
	if e != nil {
		return nil, e
	}
	if sc.status == ghl.ScheduleActive {
		return nil, badRequest("The schedule is already active")
	}
	if sc.status == ghl.ScheduleDraft {
		sc.live = *b.LiveMode
	}
	if b.AutoPayment != nil {
		sc.autoPayment = b.AutoPayment
	}
	if e := l.startSchedule(sc, req.now); e != nil {
		return nil, e
	}
	return l.scheduleOf(sc, req.now), nil
}

func (s *Server) updateAndScheduleInvoiceSchedule(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sc, e := l.scheduleByPath(req)
	if e != nil {
		return nil, e
	}
	if e := l.startSchedule(sc, req.now); e != nil {
		return nil, e
	}
	return l.scheduleOf(sc, req.now), nil
}

func (s *Server) autoPaymentInvoiceSchedule(req *apiRequest) (any, *apiError) {
	var b struct {
		ID          string           `json:"id"`
		AutoPayment *ghl.AutoPayment `json:"autoPayment"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	var msgs []string
	if b.ID == "" {
		msgs = append(msgs, "id should not be empty")
	}
	if b.AutoPayment == nil {
		msgs = append(msgs, "autoPayment should not be empty")
	}
	if len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sc, e := l.scheduleByPath(req)
	if e != nil {
		return nil, e
	}
	if b.ID != sc.id {
		return nil, badRequest("id does not match the schedule in the path")
	}
	if sc.status == ghl.ScheduleCancelled || sc.status == ghl.ScheduleCompleted {
		return nil, badRequest(fmt.Sprintf("A %s schedule cannot change its auto-payment", sc.status))
	}
	sc.autoPayment = b.AutoPayment
	touch(&sc.updatedAt, req.now)
	return l.scheduleOf(sc, req.now), nil
}

func (s *Server) cancelInvoiceSchedule(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sc, e := l.scheduleByPath(req)
	if e != nil {
		return nil, e
	}
	if sc.status == ghl.ScheduleCancelled || sc.status == ghl.ScheduleCompleted {
		return nil, badRequest(fmt.Sprintf("The schedule is already %s", sc.status))
	}
	sc.status = ghl.ScheduleCancelled
	touch(&sc.updatedAt, req.now)
	return l.scheduleOf(sc, req.now), nil
}
