package ghl

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"time"
)

// Scopes of the invoices API beyond invoices.readonly and invoices.write.
const (
	ScopeInvoiceSchedulesRead  = "invoices/schedule.readonly"
	ScopeInvoiceSchedulesWrite = "invoices/schedule.write"
	ScopeInvoiceTemplatesRead  = "invoices/template.readonly"
	ScopeInvoiceTemplatesWrite = "invoices/template.write"
	ScopeEstimatesRead         = "invoices/estimate.readonly"
	ScopeEstimatesWrite        = "invoices/estimate.write"
)

// The invoice lifecycle operations of apps/invoices.json. The two PATCH
// operations have no security block in the spec, so no scope.
var (
	OpCreateInvoice              = Operation{"CreateInvoice", "create-invoice", "POST", "/invoices/", ScopeInvoicesWrite}
	OpUpdateInvoice              = Operation{"UpdateInvoice", "update-invoice", "PUT", "/invoices/{invoiceId}", ScopeInvoicesWrite}
	OpDeleteInvoice              = Operation{"DeleteInvoice", "delete-invoice", "DELETE", "/invoices/{invoiceId}", ScopeInvoicesWrite}
	OpVoidInvoice                = Operation{"VoidInvoice", "void-invoice", "POST", "/invoices/{invoiceId}/void", ScopeInvoicesWrite}
	OpSendInvoice                = Operation{"SendInvoice", "send-invoice", "POST", "/invoices/{invoiceId}/send", ScopeInvoicesWrite}
	OpRecordInvoicePayment       = Operation{"RecordInvoicePayment", "record-invoice", "POST", "/invoices/{invoiceId}/record-payment", ScopeInvoicesWrite}
	OpGenerateInvoiceNumber      = Operation{"GenerateInvoiceNumber", "generate-invoice-number", "GET", "/invoices/generate-invoice-number", ScopeInvoicesRead}
	OpGetInvoiceSettings         = Operation{"GetInvoiceSettings", "get-invoice-settings", "GET", "/invoices/settings", ScopeInvoicesRead}
	OpText2PayInvoice            = Operation{"Text2PayInvoice", "text2pay-invoice", "POST", "/invoices/text2pay", ScopeInvoicesWrite}
	OpUpdateInvoiceLateFees      = Operation{"UpdateInvoiceLateFees", "update-invoice-late-fees-configuration", "PATCH", "/invoices/{invoiceId}/late-fees-configuration", ""}
	OpUpdateInvoiceLastVisitedAt = Operation{"UpdateInvoiceLastVisitedAt", "update-invoice-last-visited-at", "PATCH", "/invoices/stats/last-visited-at", ""}
)

// InvoiceRecipients are the addresses an invoice goes to (SentToDto).
// Email is required.
type InvoiceRecipients struct {
	Email    []string `json:"email"`
	EmailCc  []string `json:"emailCc,omitempty"`
	EmailBcc []string `json:"emailBcc,omitempty"`
	PhoneNo  []string `json:"phoneNo,omitempty"`
}

// InvoiceAddress is a postal address of an invoice's business or contact.
type InvoiceAddress struct {
	AddressLine1 string `json:"addressLine1,omitempty"`
	AddressLine2 string `json:"addressLine2,omitempty"`
	City         string `json:"city,omitempty"`
	State        string `json:"state,omitempty"`
	CountryCode  string `json:"countryCode,omitempty"`
	PostalCode   string `json:"postalCode,omitempty"`
}

// InvoiceBusiness is the issuer printed on an invoice (BusinessDetailsDto).
type InvoiceBusiness struct {
	LogoURL      string          `json:"logoUrl,omitempty"`
	Name         string          `json:"name,omitempty"`
	PhoneNo      string          `json:"phoneNo,omitempty"`
	Address      *InvoiceAddress `json:"address,omitempty"`
	Website      string          `json:"website,omitempty"`
	CustomValues []string        `json:"customValues,omitempty"`
}

// InvoiceDiscount is an invoice-wide discount: a percentage, or a fixed
// amount in the invoice's currency.
type InvoiceDiscount struct {
	Type              string   `json:"type"` // percentage or fixed
	Value             Number   `json:"value,omitempty"`
	ValidOnProductIDs []string `json:"validOnProductIds,omitempty"`
}

// LateFeesConfiguration is the fee an overdue invoice accrues.
type LateFeesConfiguration struct {
	Enable      bool             `json:"enable"`
	Value       Number           `json:"value"`
	Type        string           `json:"type"` // fixed or percentage
	Frequency   LateFeesInterval `json:"frequency"`
	Grace       *LateFeesGrace   `json:"grace,omitempty"`
	MaxLateFees *MaxLateFees     `json:"maxLateFees,omitempty"`
}

// LateFeesInterval is how often a late fee recurs: Interval is minute,
// hour, day, week, month or one_time.
type LateFeesInterval struct {
	IntervalCount int    `json:"intervalCount"`
	Interval      string `json:"interval"`
}

// LateFeesGrace is how long after the due date late fees start; GHL counts
// it in days only.
type LateFeesGrace struct {
	IntervalCount int    `json:"intervalCount"`
	Interval      string `json:"interval"` // day
}

// MaxLateFees caps the late fees of one invoice.
type MaxLateFees struct {
	Type  string `json:"type"` // fixed
	Value Number `json:"value"`
}

// InvoicePaymentMethods restricts how an invoice may be paid.
type InvoicePaymentMethods struct {
	Stripe StripePaymentMethod `json:"stripe"`
}

// StripePaymentMethod is the Stripe part of InvoicePaymentMethods.
type StripePaymentMethod struct {
	EnableBankDebitOnly bool `json:"enableBankDebitOnly"`
}

// InvoiceParams describes an invoice to create or replace. LocationID,
// Name, Currency, Items, Contact and IssueDate are required; creating also
// requires SentTo. The invoice number is GHL's next one when empty. On
// update, a Business without a name keeps the invoice's business details.
type InvoiceParams struct {
	LocationID            string
	Name                  string
	Title                 string
	Description           string // update only: GHL's create has no description
	Currency              string
	Items                 []InvoiceItem
	Discount              InvoiceDiscount // Type "" means no discount
	Business              InvoiceBusiness
	Contact               InvoiceContact // ID, Name, Email and PhoneNo are required
	TermsNotes            string
	InvoiceNumber         string
	InvoiceNumberPrefix   string
	IssueDate, DueDate    time.Time // days; DueDate defaults to IssueDate
	SentTo                InvoiceRecipients
	LiveMode              bool
	AutomaticTaxesEnabled bool
	LateFeesConfiguration *LateFeesConfiguration
	PaymentMethods        *InvoicePaymentMethods
}

// invoiceContactBody is ContactDetailsDto, whose four identity fields are
// required even when empty.
type invoiceContactBody struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	PhoneNo     string          `json:"phoneNo"`
	Email       string          `json:"email"`
	CompanyName string          `json:"companyName,omitempty"`
	Address     json.RawMessage `json:"address,omitempty"`
}

// invoiceBody is the union of CreateInvoiceDto, UpdateInvoiceDto and
// Text2PayDto: the create and text2pay forms call the lines items, the
// update form invoiceItems.
type invoiceBody struct {
	AltID                 string                 `json:"altId"`
	AltType               string                 `json:"altType"`
	ID                    string                 `json:"id,omitempty"`
	Name                  string                 `json:"name"`
	Title                 string                 `json:"title,omitempty"`
	Description           string                 `json:"description,omitempty"`
	Currency              string                 `json:"currency"`
	Items                 []InvoiceItem          `json:"items,omitempty"`
	InvoiceItems          []InvoiceItem          `json:"invoiceItems,omitempty"`
	Discount              *InvoiceDiscount       `json:"discount,omitempty"`
	BusinessDetails       *InvoiceBusiness       `json:"businessDetails,omitempty"`
	ContactDetails        *invoiceContactBody    `json:"contactDetails,omitempty"`
	TermsNotes            string                 `json:"termsNotes,omitempty"`
	InvoiceNumber         string                 `json:"invoiceNumber,omitempty"`
	InvoiceNumberPrefix   string                 `json:"invoiceNumberPrefix,omitempty"`
	IssueDate             string                 `json:"issueDate"`
	DueDate               string                 `json:"dueDate,omitempty"`
	SentTo                *InvoiceRecipients     `json:"sentTo,omitempty"`
	LiveMode              bool                   `json:"liveMode"`
	AutomaticTaxesEnabled bool                   `json:"automaticTaxesEnabled,omitempty"`
	LateFeesConfiguration *LateFeesConfiguration `json:"lateFeesConfiguration,omitempty"`
	PaymentMethods        *InvoicePaymentMethods `json:"paymentMethods,omitempty"`
	// text2pay only
	Action string `json:"action,omitempty"`
	UserID string `json:"userId,omitempty"`
}

func (p InvoiceParams) body(update bool) invoiceBody {
	due := p.DueDate
	if due.IsZero() {
		due = p.IssueDate
	}
	b := invoiceBody{
		AltID: p.LocationID, AltType: "location", Name: p.Name, Title: p.Title, Currency: p.Currency,
		ContactDetails: &invoiceContactBody{ID: p.Contact.ID, Name: p.Contact.Name, PhoneNo: p.Contact.PhoneNo,
			Email: p.Contact.Email, CompanyName: p.Contact.CompanyName, Address: p.Contact.Address},
		TermsNotes: p.TermsNotes, InvoiceNumber: p.InvoiceNumber, InvoiceNumberPrefix: p.InvoiceNumberPrefix,
		IssueDate: dateOf(p.IssueDate), DueDate: dateOf(due), LiveMode: p.LiveMode,
		AutomaticTaxesEnabled: p.AutomaticTaxesEnabled, LateFeesConfiguration: p.LateFeesConfiguration,
		PaymentMethods: p.PaymentMethods,
	}
	if p.Business.Name != "" || !update {
		b.BusinessDetails = &p.Business
	}
	discount := p.Discount
	if discount.Type == "" {
		// GHL requires a discount on create; none is a zero percentage.
		discount = InvoiceDiscount{Type: "percentage", Value: NumberFromInt(0)}
	}
	b.Discount = &discount
	if update {
		b.Description, b.InvoiceItems = p.Description, nonNil(p.Items)
	} else {
		b.Items = nonNil(p.Items)
		b.SentTo = &p.SentTo
		b.SentTo.Email = nonNil(b.SentTo.Email)
	}
	return b
}

// dateOf writes a day as the invoices API does.
func dateOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(DateLayout)
}

// CreateInvoice creates a draft invoice. It is not retried: GHL has no key
// to recognise a repeated create, and a retry would bill twice.
func (c *Client) CreateInvoice(ctx context.Context, p InvoiceParams) (*Invoice, error) {
	return recordCall[Invoice](ctx, c, OpCreateInvoice, p.LocationID, nil, nil, p.body(false))
}

// UpdateInvoice replaces the invoice's content with p.
func (c *Client) UpdateInvoice(ctx context.Context, invoiceID string, p InvoiceParams) (*Invoice, error) {
	return recordCall[Invoice](ctx, c, OpUpdateInvoice, p.LocationID, []string{invoiceID}, nil, p.body(true))
}

// DeleteInvoice deletes an invoice; GHL then answers not found for it.
func (c *Client) DeleteInvoice(ctx context.Context, locationID, invoiceID string) error {
	if err := requireLocation(OpDeleteInvoice, locationID); err != nil {
		return err
	}
	return c.do(ctx, call{op: OpDeleteInvoice, location: locationID, pathArgs: []string{invoiceID}, query: locationQuery(locationID)}, nil)
}

// VoidInvoice voids an unpaid invoice and returns it.
func (c *Client) VoidInvoice(ctx context.Context, locationID, invoiceID string) (*Invoice, error) {
	return recordCall[Invoice](ctx, c, OpVoidInvoice, locationID, []string{invoiceID}, nil, altBody{locationID, "location"})
}

// altBody is the {altId, altType} body of several writes.
type altBody struct {
	AltID   string `json:"altId"`
	AltType string `json:"altType"`
}

// setInvoicesPage sets limit and offset on a list query of the invoices
// API, which requires both where the other APIs default them.
func (c *Client) setInvoicesPage(q url.Values, limit, offset int) {
	q.Set("limit", strconv.Itoa(c.pageSizeOr(limit)))
	q.Set("offset", strconv.Itoa(offset))
}

// recordCall sends an invoices-API call made on behalf of locationID and
// decodes the one record it answers with: invoices, schedules, templates
// and estimates answer their reads and writes alike.
func recordCall[T any](ctx context.Context, c *Client, op Operation, locationID string, pathArgs []string, q url.Values, body any) (*T, error) {
	if err := requireLocation(op, locationID); err != nil {
		return nil, err
	}
	var out T
	if err := c.do(ctx, call{op: op, location: locationID, pathArgs: pathArgs, query: q, body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SendAction is how an invoice reaches its contact.
type SendAction string

// Send actions.
const (
	SendByEmail       SendAction = "email"
	SendBySMS         SendAction = "sms"
	SendBySMSAndEmail SendAction = "sms_and_email"
	SendManually      SendAction = "send_manually"
)

// The actions of a text-to-pay call: keep the invoice a draft, or text it.
const (
	sendActionDraft    = "draft"
	sendActionText2Pay = "send"
)

// SendInvoiceParams says how to send an invoice. UserID (the GHL user who
// sends) and Action are required.
type SendInvoiceParams struct {
	UserID   string
	Action   SendAction
	LiveMode bool
	FromName string
	// FromEmail is the sender address; GHL's default sender when empty.
	FromEmail string
}

// SentInvoice is the answer to SendInvoice: the invoice, now sent, and
// what GHL queued for delivery.
type SentInvoice struct {
	Invoice   Invoice         `json:"invoice"`
	SMSData   json.RawMessage `json:"smsData"`
	EmailData json.RawMessage `json:"emailData"`
}

// SendInvoice sends an invoice to its contact. It is not retried: a retry
// would send the invoice twice.
func (c *Client) SendInvoice(ctx context.Context, locationID, invoiceID string, p SendInvoiceParams) (*SentInvoice, error) {
	if err := requireLocation(OpSendInvoice, locationID); err != nil {
		return nil, err
	}
	type sender struct {
		FromName  string `json:"fromName,omitempty"`
		FromEmail string `json:"fromEmail,omitempty"`
	}
	body := struct {
		altBody
		UserID   string     `json:"userId"`
		Action   SendAction `json:"action"`
		LiveMode bool       `json:"liveMode"`
		SentFrom *sender    `json:"sentFrom,omitempty"`
	}{altBody: altBody{locationID, "location"}, UserID: p.UserID, Action: p.Action, LiveMode: p.LiveMode}
	if p.FromName != "" || p.FromEmail != "" {
		body.SentFrom = &sender{p.FromName, p.FromEmail}
	}
	var out SentInvoice
	if err := c.do(ctx, call{op: OpSendInvoice, location: locationID, pathArgs: []string{invoiceID}, body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// InvoiceCard identifies the card of a payment recorded on an invoice.
type InvoiceCard struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// RecordInvoicePaymentParams describes a payment collected outside GHL.
// Amount empty means the invoice's amount due.
type RecordInvoicePaymentParams struct {
	Mode        PaymentMethod
	Card        InvoiceCard
	Cheque      ChequeDetails
	Notes       string
	Amount      Number
	Meta        map[string]any
	FulfilledAt time.Time
}

// RecordInvoicePayment records a payment against an invoice and returns
// the invoice. GHL adds a transaction for it (listed by entityId=<invoiceId>).
// It is not retried: a retry would record the payment twice.
func (c *Client) RecordInvoicePayment(ctx context.Context, locationID, invoiceID string, p RecordInvoicePaymentParams) (*Invoice, error) {
	if err := requireLocation(OpRecordInvoicePayment, locationID); err != nil {
		return nil, err
	}
	// The spec requires card, cheque and notes whatever the mode.
	body := struct {
		altBody
		Mode        PaymentMethod  `json:"mode"`
		Card        InvoiceCard    `json:"card"`
		Cheque      ChequeDetails  `json:"cheque"`
		Notes       string         `json:"notes"`
		Amount      Number         `json:"amount,omitempty"`
		Meta        map[string]any `json:"meta,omitempty"`
		FulfilledAt Time           `json:"fulfilledAt,omitzero"`
	}{altBody{locationID, "location"}, p.Mode, p.Card, p.Cheque, p.Notes, p.Amount, p.Meta, NewTime(p.FulfilledAt)}
	var resp struct {
		successResponse
		Invoice Invoice `json:"invoice"`
	}
	if err := c.do(ctx, call{op: OpRecordInvoicePayment, location: locationID, pathArgs: []string{invoiceID}, body: body}, &resp); err != nil {
		return nil, err
	}
	if err := resp.check(OpRecordInvoicePayment, locationID); err != nil {
		return nil, err
	}
	return &resp.Invoice, nil
}

// GenerateInvoiceNumber returns the number GHL would give the location's
// next invoice. It reserves nothing: two callers may get the same number.
func (c *Client) GenerateInvoiceNumber(ctx context.Context, locationID string) (InvoiceNumber, error) {
	if err := requireLocation(OpGenerateInvoiceNumber, locationID); err != nil {
		return "", err
	}
	var resp struct {
		InvoiceNumber InvoiceNumber `json:"invoiceNumber"`
	}
	err := c.do(ctx, call{op: OpGenerateInvoiceNumber, location: locationID, query: locationQuery(locationID)}, &resp)
	return resp.InvoiceNumber, err
}

// InvoiceSettings are a location's invoice defaults.
type InvoiceSettings struct {
	AltID                           string                 `json:"altId"`
	AltType                         string                 `json:"altType"`
	TermsNote                       string                 `json:"termsNote"`
	EstimatesTermsNote              string                 `json:"estimatesTermsNote"`
	Title                           string                 `json:"title"`
	EstimatesTitle                  string                 `json:"estimatesTitle"`
	InvoiceNumberPrefix             string                 `json:"invoiceNumberPrefix"`
	EstimateNumberPrefix            string                 `json:"estimateNumberPrefix"`
	DueAfterXDays                   int                    `json:"dueAfterXDays"`
	EstimatesExpireAfterXDays       int                    `json:"estimatesExpireAfterXDays"`
	MinimumPercentagePartialPayment Number                 `json:"minimumPercentagePartialPayment"`
	CustomFields                    []string               `json:"customFields"`
	BusinessDetails                 *InvoiceBusiness       `json:"businessDetails,omitempty"`
	SenderConfiguration             *InvoiceSender         `json:"senderConfiguration,omitempty"`
	LateFeesConfiguration           *LateFeesConfiguration `json:"lateFeesConfiguration,omitempty"`
	PaymentMethods                  *InvoicePaymentMethods `json:"paymentMethods,omitempty"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the settings and keeps the raw bytes.
func (s *InvoiceSettings) UnmarshalJSON(b []byte) error {
	type plain InvoiceSettings
	return decodeKeepRaw(b, (*plain)(s), &s.Raw)
}

// InvoiceSender is who invoice emails come from.
type InvoiceSender struct {
	FromName  string `json:"fromName,omitempty"`
	FromEmail string `json:"fromEmail,omitempty"`
}

// GetInvoiceSettings returns the location's invoice settings.
func (c *Client) GetInvoiceSettings(ctx context.Context, locationID string) (*InvoiceSettings, error) {
	if err := requireLocation(OpGetInvoiceSettings, locationID); err != nil {
		return nil, err
	}
	var s InvoiceSettings
	if err := c.do(ctx, call{op: OpGetInvoiceSettings, location: locationID, query: locationQuery(locationID)}, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Text2PayParams describes a text-to-pay invoice: an invoice created (or,
// with InvoiceID, updated) and texted to the contact in one call. UserID is
// required; Send false leaves it a draft.
type Text2PayParams struct {
	InvoiceParams
	InvoiceID string
	UserID    string
	Send      bool
}

// Text2PayResult is the invoice and the payment link the contact receives.
type Text2PayResult struct {
	Invoice    Invoice `json:"invoice"`
	InvoiceURL string  `json:"invoiceUrl"`
}

// Text2PayInvoice creates (or updates) an invoice and, with Send, texts
// its payment link. It is not retried: a retry would create or text twice.
func (c *Client) Text2PayInvoice(ctx context.Context, p Text2PayParams) (*Text2PayResult, error) {
	if err := requireLocation(OpText2PayInvoice, p.LocationID); err != nil {
		return nil, err
	}
	body := p.body(false)
	body.ID, body.UserID, body.Action = p.InvoiceID, p.UserID, sendActionDraft
	if p.Send {
		body.Action = sendActionText2Pay
	}
	var out Text2PayResult
	if err := c.do(ctx, call{op: OpText2PayInvoice, location: p.LocationID, body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateInvoiceLateFees sets an invoice's late fee configuration and returns
// the invoice with it.
func (c *Client) UpdateInvoiceLateFees(ctx context.Context, locationID, invoiceID string, cfg LateFeesConfiguration) (*Invoice, error) {
	body := struct {
		altBody
		LateFeesConfiguration LateFeesConfiguration `json:"lateFeesConfiguration"`
	}{altBody{locationID, "location"}, cfg}
	return recordCall[Invoice](ctx, c, OpUpdateInvoiceLateFees, locationID, []string{invoiceID}, nil, body)
}

// UpdateInvoiceLastVisitedAt marks the invoice as just viewed. The request
// names only the invoice (GHL finds its location from the token);
// locationID selects whose rate budget the call spends.
func (c *Client) UpdateInvoiceLastVisitedAt(ctx context.Context, locationID, invoiceID string) error {
	if err := requireLocation(OpUpdateInvoiceLastVisitedAt, locationID); err != nil {
		return err
	}
	body := struct {
		InvoiceID string `json:"invoiceId"`
	}{invoiceID}
	return c.do(ctx, call{op: OpUpdateInvoiceLastVisitedAt, location: locationID, body: body}, nil)
}
