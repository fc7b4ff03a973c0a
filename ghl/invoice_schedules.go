package ghl

import (
	"context"
	"encoding/json"
	"iter"
	"time"
)

// The recurring-invoice (schedule) operations of apps/invoices.json.
var (
	OpCreateInvoiceSchedule      = Operation{"CreateInvoiceSchedule", "create-invoice-schedule", "POST", "/invoices/schedule", ScopeInvoiceSchedulesWrite}
	OpListInvoiceSchedules       = Operation{"ListInvoiceSchedules", "list-invoice-schedules", "GET", "/invoices/schedule", ScopeInvoiceSchedulesRead}
	OpGetInvoiceSchedule         = Operation{"GetInvoiceSchedule", "get-invoice-schedule", "GET", "/invoices/schedule/{scheduleId}", ScopeInvoiceSchedulesRead}
	OpUpdateInvoiceSchedule      = Operation{"UpdateInvoiceSchedule", "update-invoice-schedule", "PUT", "/invoices/schedule/{scheduleId}", ScopeInvoiceSchedulesWrite}
	OpDeleteInvoiceSchedule      = Operation{"DeleteInvoiceSchedule", "delete-invoice-schedule", "DELETE", "/invoices/schedule/{scheduleId}", ScopeInvoiceSchedulesWrite}
	OpUpdateAndScheduleInvoice   = Operation{"UpdateAndScheduleInvoiceSchedule", "update-and-schedule-invoice-schedule", "POST", "/invoices/schedule/{scheduleId}/updateAndSchedule", ScopeInvoiceSchedulesWrite}
	OpScheduleInvoiceSchedule    = Operation{"ScheduleInvoiceSchedule", "schedule-invoice-schedule", "POST", "/invoices/schedule/{scheduleId}/schedule", ScopeInvoiceSchedulesWrite}
	OpAutoPaymentInvoiceSchedule = Operation{"SetInvoiceScheduleAutoPayment", "auto-payment-invoice-schedule", "POST", "/invoices/schedule/{scheduleId}/auto-payment", ScopeInvoiceSchedulesWrite}
	OpCancelInvoiceSchedule      = Operation{"CancelInvoiceSchedule", "cancel-invoice-schedule", "POST", "/invoices/schedule/{scheduleId}/cancel", ScopeInvoiceSchedulesWrite}
)

// InvoiceScheduleStatus is a schedule's status; the spec leaves it open, so
// unknown values pass through.
type InvoiceScheduleStatus string

// Schedule statuses: a new schedule is a draft until it is scheduled.
const (
	ScheduleDraft     InvoiceScheduleStatus = "draft"
	ScheduleActive    InvoiceScheduleStatus = "active"
	ScheduleCompleted InvoiceScheduleStatus = "completed"
	ScheduleCancelled InvoiceScheduleStatus = "cancelled"
)

// InvoiceSchedule is a recurring invoice: a template of lines and a
// recurrence, and the invoices issued from it so far.
type InvoiceSchedule struct {
	ID                 string                `json:"_id"`
	Status             InvoiceScheduleStatus `json:"status"`
	LiveMode           bool                  `json:"liveMode"`
	AltID              string                `json:"altId"`
	AltType            string                `json:"altType"`
	Name               string                `json:"name"`
	Schedule           *Schedule             `json:"schedule,omitempty"`
	Invoices           []Invoice             `json:"invoices"`
	BusinessDetails    json.RawMessage       `json:"businessDetails"`
	Currency           string                `json:"currency"`
	ContactDetails     *InvoiceContact       `json:"contactDetails"`
	Discount           *InvoiceDiscount      `json:"discount,omitempty"`
	Items              []InvoiceItem         `json:"items"`
	Total              Number                `json:"total"`
	Title              string                `json:"title"`
	TermsNotes         string                `json:"termsNotes"`
	CompiledTermsNotes string                `json:"compiledTermsNotes"`
	CreatedAt          Time                  `json:"createdAt,omitzero"`
	UpdatedAt          Time                  `json:"updatedAt,omitzero"`

	// What the schedule was set up with; GHL answers them although the
	// response schemas leave them out.
	AutoPayment           *AutoPayment           `json:"autoPayment,omitempty"`
	InvoiceNumberPrefix   string                 `json:"invoiceNumberPrefix,omitempty"`
	LateFeesConfiguration *LateFeesConfiguration `json:"lateFeesConfiguration,omitempty"`
	PaymentMethods        *InvoicePaymentMethods `json:"paymentMethods,omitempty"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the schedule and keeps the raw bytes.
func (s *InvoiceSchedule) UnmarshalJSON(b []byte) error {
	type plain InvoiceSchedule
	return decodeKeepRaw(b, (*plain)(s), &s.Raw)
}

// AutoPayment says whether and how a schedule's invoices charge the
// contact's saved payment method (AutoPaymentDetailsDto).
type AutoPayment struct {
	Enable          bool         `json:"enable"`
	Type            string       `json:"type,omitempty"`
	PaymentMethodID string       `json:"paymentMethodId,omitempty"`
	CustomerID      string       `json:"customerId,omitempty"`
	Card            *InvoiceCard `json:"card,omitempty"`
	CardID          string       `json:"cardId,omitempty"`
}

// InvoiceScheduleParams describes a schedule to create or replace.
// LocationID, Name, Contact, Schedule, Currency and Items are required.
type InvoiceScheduleParams struct {
	LocationID            string
	Name                  string
	Title                 string
	Contact               InvoiceContact // ID, Name, Email and PhoneNo are required
	Schedule              Schedule
	LiveMode              bool
	Business              InvoiceBusiness
	Currency              string
	Items                 []InvoiceItem
	Discount              InvoiceDiscount // Type "" means no discount
	TermsNotes            string
	AutomaticTaxesEnabled bool
	InvoiceNumberPrefix   string                 // create only
	LateFeesConfiguration *LateFeesConfiguration // create only
	PaymentMethods        *InvoicePaymentMethods // create only
}

type scheduleBody struct {
	AltID                 string                 `json:"altId"`
	AltType               string                 `json:"altType"`
	Name                  string                 `json:"name"`
	Title                 string                 `json:"title,omitempty"`
	ContactDetails        invoiceContactBody     `json:"contactDetails"`
	Schedule              Schedule               `json:"schedule"`
	LiveMode              bool                   `json:"liveMode"`
	BusinessDetails       InvoiceBusiness        `json:"businessDetails"`
	Currency              string                 `json:"currency"`
	Items                 []InvoiceItem          `json:"items"`
	Discount              InvoiceDiscount        `json:"discount"`
	TermsNotes            string                 `json:"termsNotes,omitempty"`
	AutomaticTaxesEnabled bool                   `json:"automaticTaxesEnabled,omitempty"`
	InvoiceNumberPrefix   string                 `json:"invoiceNumberPrefix,omitempty"`
	LateFeesConfiguration *LateFeesConfiguration `json:"lateFeesConfiguration,omitempty"`
	PaymentMethods        *InvoicePaymentMethods `json:"paymentMethods,omitempty"`
}

func (p InvoiceScheduleParams) body() scheduleBody {
	discount := p.Discount
	if discount.Type == "" {
		discount = InvoiceDiscount{Type: "percentage", Value: NumberFromInt(0)}
	}
	return scheduleBody{
		AltID: p.LocationID, AltType: "location", Name: p.Name, Title: p.Title,
		ContactDetails: invoiceContactBody{ID: p.Contact.ID, Name: p.Contact.Name, PhoneNo: p.Contact.PhoneNo,
			Email: p.Contact.Email, CompanyName: p.Contact.CompanyName, Address: p.Contact.Address},
		Schedule: p.Schedule, LiveMode: p.LiveMode, BusinessDetails: p.Business, Currency: p.Currency,
		Items: nonNil(p.Items), Discount: discount, TermsNotes: p.TermsNotes,
		AutomaticTaxesEnabled: p.AutomaticTaxesEnabled, InvoiceNumberPrefix: p.InvoiceNumberPrefix,
		LateFeesConfiguration: p.LateFeesConfiguration, PaymentMethods: p.PaymentMethods,
	}
}

// CreateInvoiceSchedule creates a draft schedule; nothing is issued until it
// is scheduled. It is not retried: GHL has no key to recognise a repeat.
func (c *Client) CreateInvoiceSchedule(ctx context.Context, p InvoiceScheduleParams) (*InvoiceSchedule, error) {
	return recordCall[InvoiceSchedule](ctx, c, OpCreateInvoiceSchedule, p.LocationID, nil, nil, p.body())
}

// ListInvoiceSchedulesParams selects schedules. LocationID is required.
type ListInvoiceSchedulesParams struct {
	LocationID     string
	Status         InvoiceScheduleStatus
	StartAt, EndAt time.Time
	Search         string
	PaymentMode    PaymentMode
	Limit, Offset  int
}

// ListInvoiceSchedules returns one page of schedules, newest first.
func (c *Client) ListInvoiceSchedules(ctx context.Context, p ListInvoiceSchedulesParams) (Page[InvoiceSchedule], error) {
	if err := requireLocation(OpListInvoiceSchedules, p.LocationID); err != nil {
		return Page[InvoiceSchedule]{}, err
	}
	q := locationQuery(p.LocationID)
	setIf(q, "status", string(p.Status))
	setDateIf(q, "startAt", p.StartAt)
	setDateIf(q, "endAt", p.EndAt)
	setIf(q, "search", p.Search)
	setIf(q, "paymentMode", string(p.PaymentMode))
	c.setInvoicesPage(q, p.Limit, p.Offset)
	var resp struct {
		Schedules []InvoiceSchedule `json:"schedules"`
		Total     int               `json:"total"`
	}
	err := c.do(ctx, call{op: OpListInvoiceSchedules, location: p.LocationID, query: q}, &resp)
	return Page[InvoiceSchedule]{Items: resp.Schedules, TotalCount: resp.Total}, err
}

// InvoiceSchedules iterates over every schedule matching p.
func (c *Client) InvoiceSchedules(ctx context.Context, p ListInvoiceSchedulesParams) iter.Seq2[InvoiceSchedule, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[InvoiceSchedule], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListInvoiceSchedules(ctx, p)
	})
}

// GetInvoiceSchedule returns one schedule with the invoices issued from it.
func (c *Client) GetInvoiceSchedule(ctx context.Context, locationID, scheduleID string) (*InvoiceSchedule, error) {
	return recordCall[InvoiceSchedule](ctx, c, OpGetInvoiceSchedule, locationID, []string{scheduleID}, locationQuery(locationID), nil)
}

// UpdateInvoiceSchedule replaces a schedule's content with p.
func (c *Client) UpdateInvoiceSchedule(ctx context.Context, scheduleID string, p InvoiceScheduleParams) (*InvoiceSchedule, error) {
	b := p.body()
	// The update form has none of these.
	b.InvoiceNumberPrefix, b.LateFeesConfiguration, b.PaymentMethods, b.AutomaticTaxesEnabled = "", nil, nil, false
	return recordCall[InvoiceSchedule](ctx, c, OpUpdateInvoiceSchedule, p.LocationID, []string{scheduleID}, nil, b)
}

// DeleteInvoiceSchedule deletes a schedule; the invoices it issued stay.
func (c *Client) DeleteInvoiceSchedule(ctx context.Context, locationID, scheduleID string) error {
	if err := requireLocation(OpDeleteInvoiceSchedule, locationID); err != nil {
		return err
	}
	var resp successResponse
	if err := c.do(ctx, call{op: OpDeleteInvoiceSchedule, location: locationID, pathArgs: []string{scheduleID}, query: locationQuery(locationID)}, &resp); err != nil {
		return err
	}
	return resp.check(OpDeleteInvoiceSchedule, locationID)
}

// ScheduleInvoiceSchedule starts a draft schedule: it turns active and
// issues (and sends) the invoices already due. It is not retried: a retry
// could issue twice.
func (c *Client) ScheduleInvoiceSchedule(ctx context.Context, locationID, scheduleID string, liveMode bool, autoPayment *AutoPayment) (*InvoiceSchedule, error) {
	body := struct {
		altBody
		LiveMode    bool         `json:"liveMode"`
		AutoPayment *AutoPayment `json:"autoPayment,omitempty"`
	}{altBody{locationID, "location"}, liveMode, autoPayment}
	return recordCall[InvoiceSchedule](ctx, c, OpScheduleInvoiceSchedule, locationID, []string{scheduleID}, nil, body)
}

// UpdateAndScheduleInvoiceSchedule schedules a schedule as it was last
// updated. The request has no body; GHL finds the location from the token,
// so locationID only selects the rate budget.
func (c *Client) UpdateAndScheduleInvoiceSchedule(ctx context.Context, locationID, scheduleID string) (*InvoiceSchedule, error) {
	return recordCall[InvoiceSchedule](ctx, c, OpUpdateAndScheduleInvoice, locationID, []string{scheduleID}, nil, nil)
}

// SetInvoiceScheduleAutoPayment sets how the schedule's invoices are paid
// automatically, and returns the schedule with it.
func (c *Client) SetInvoiceScheduleAutoPayment(ctx context.Context, locationID, scheduleID string, ap AutoPayment) (*InvoiceSchedule, error) {
	body := struct {
		altBody
		ID          string      `json:"id"`
		AutoPayment AutoPayment `json:"autoPayment"`
	}{altBody{locationID, "location"}, scheduleID, ap}
	return recordCall[InvoiceSchedule](ctx, c, OpAutoPaymentInvoiceSchedule, locationID, []string{scheduleID}, nil, body)
}

// CancelInvoiceSchedule stops a schedule: no more invoices are issued.
func (c *Client) CancelInvoiceSchedule(ctx context.Context, locationID, scheduleID string) (*InvoiceSchedule, error) {
	return recordCall[InvoiceSchedule](ctx, c, OpCancelInvoiceSchedule, locationID, []string{scheduleID}, nil, altBody{locationID, "location"})
}
