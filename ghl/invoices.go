package ghl

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"strconv"
	"time"
)

// InvoiceStatus is an invoice's status; unknown values pass through.
type InvoiceStatus string

// Invoice statuses of the invoices spec.
const (
	InvoiceDraft             InvoiceStatus = "draft"
	InvoiceSent              InvoiceStatus = "sent"
	InvoicePaymentProcessing InvoiceStatus = "payment_processing"
	InvoicePaid              InvoiceStatus = "paid"
	InvoiceVoid              InvoiceStatus = "void"
	InvoicePartiallyPaid     InvoiceStatus = "partially_paid"
)

// Invoice is an invoice as the invoices API and the Invoice* webhooks carry it.
type Invoice struct {
	ID              string          `json:"_id"`
	Status          InvoiceStatus   `json:"status"`
	LiveMode        bool            `json:"liveMode"`
	AmountPaid      Number          `json:"amountPaid"`
	AltID           string          `json:"altId"`
	AltType         string          `json:"altType"`
	Name            string          `json:"name"`
	BusinessDetails json.RawMessage `json:"businessDetails"`
	InvoiceNumber   InvoiceNumber   `json:"invoiceNumber"`
	Currency        string          `json:"currency"`
	ContactDetails  *InvoiceContact `json:"contactDetails"`
	IssueDate       string          `json:"issueDate"`
	DueDate         string          `json:"dueDate"`
	Discount        json.RawMessage `json:"discount,omitempty"`
	InvoiceItems    []InvoiceItem   `json:"invoiceItems"`
	Total           Number          `json:"total"`
	Title           string          `json:"title"`
	AmountDue       Number          `json:"amountDue"`
	TotalSummary    *TotalSummary   `json:"totalSummary"`
	CreatedAt       Time            `json:"createdAt,omitzero"`
	UpdatedAt       Time            `json:"updatedAt,omitzero"`

	// The fields below are what an invoice was created or updated with;
	// GHL answers them although the response schemas leave them out.
	Description           string                 `json:"description,omitempty"`
	TermsNotes            string                 `json:"termsNotes,omitempty"`
	SentTo                *InvoiceRecipients     `json:"sentTo,omitempty"`
	AutomaticTaxesEnabled bool                   `json:"automaticTaxesEnabled,omitempty"`
	InvoiceNumberPrefix   string                 `json:"invoiceNumberPrefix,omitempty"`
	LateFeesConfiguration *LateFeesConfiguration `json:"lateFeesConfiguration,omitempty"`
	PaymentMethods        *InvoicePaymentMethods `json:"paymentMethods,omitempty"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the invoice and keeps the raw bytes.
func (i *Invoice) UnmarshalJSON(b []byte) error {
	type plain Invoice
	return decodeKeepRaw(b, (*plain)(i), &i.Raw)
}

// InvoiceContact is the customer an invoice is addressed to.
type InvoiceContact struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Email       string          `json:"email,omitempty"`
	PhoneNo     string          `json:"phoneNo,omitempty"`
	CompanyName string          `json:"companyName,omitempty"`
	Address     json.RawMessage `json:"address,omitempty"`
}

// InvoiceItem is one line of an invoice.
type InvoiceItem struct {
	ID        string          `json:"_id,omitempty"`
	ProductID string          `json:"productId,omitempty"`
	PriceID   string          `json:"priceId,omitempty"`
	Currency  string          `json:"currency"`
	Name      string          `json:"name"`
	Qty       Number          `json:"qty"`
	Amount    Number          `json:"amount"`
	Taxes     json.RawMessage `json:"taxes,omitempty"`

	Description string `json:"description,omitempty"`
	Type        string `json:"type,omitempty"` // one_time or recurring
}

// TotalSummary splits an invoice's total.
type TotalSummary struct {
	SubTotal Number `json:"subTotal"`
	Discount Number `json:"discount"`
	Tax      Number `json:"tax,omitempty"` // required by the invoices API, absent from webhooks
}

// InvoiceNumber is an invoice's number: a JSON number in the invoices API and
// a string in the webhooks. It keeps the text either way.
type InvoiceNumber string

// MarshalJSON writes a numeric invoice number as a number, as the invoices
// API does, and anything else as a string.
func (n InvoiceNumber) MarshalJSON() ([]byte, error) {
	// Only the canonical spelling goes bare: "007" is not a JSON number.
	if v, err := strconv.ParseUint(string(n), 10, 64); err == nil && strconv.FormatUint(v, 10) == string(n) {
		return []byte(n), nil
	}
	return json.Marshal(string(n))
}

// UnmarshalJSON accepts a number or a string.
func (n *InvoiceNumber) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*n = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = InvoiceNumber(s)
		return nil
	}
	var num Number
	if err := num.UnmarshalJSON(b); err != nil {
		return err
	}
	*n = InvoiceNumber(num)
	return nil
}

// invoiceOperations are the operations of the invoices API
// (apps/invoices.json) the client implements.
var invoiceOperations = []Operation{
	OpListInvoices, OpGetInvoice,
	OpCreateInvoice, OpUpdateInvoice, OpDeleteInvoice, OpVoidInvoice, OpSendInvoice,
	OpRecordInvoicePayment, OpGenerateInvoiceNumber, OpGetInvoiceSettings, OpText2PayInvoice,
	OpUpdateInvoiceLateFees, OpUpdateInvoiceLastVisitedAt,
	OpCreateInvoiceSchedule, OpListInvoiceSchedules, OpGetInvoiceSchedule, OpUpdateInvoiceSchedule,
	OpDeleteInvoiceSchedule, OpUpdateAndScheduleInvoice, OpScheduleInvoiceSchedule,
	OpAutoPaymentInvoiceSchedule, OpCancelInvoiceSchedule,
	OpCreateInvoiceTemplate, OpListInvoiceTemplates, OpGetInvoiceTemplate, OpUpdateInvoiceTemplate,
	OpDeleteInvoiceTemplate, OpUpdateInvoiceTemplateLateFees, OpUpdateInvoiceTemplatePaymentMethods,
	OpCreateEstimate, OpUpdateEstimate, OpDeleteEstimate, OpGenerateEstimateNumber, OpSendEstimate,
	OpCreateInvoiceFromEstimate, OpListEstimates, OpUpdateEstimateLastVisitedAt,
	OpListEstimateTemplates, OpCreateEstimateTemplate, OpUpdateEstimateTemplate, OpDeleteEstimateTemplate,
	OpPreviewEstimateTemplate,
}

// invoiceIdempotentPatches are the invoices API's PATCHes: each replaces
// one configuration of the record in its path (or stamps it viewed), so a
// retry cannot apply twice. Its POSTs (send, record a payment, void, issue
// a schedule, ...) act on each call and are never retried.
var invoiceIdempotentPatches = []string{
	OpUpdateInvoiceLateFees.OperationID, OpUpdateInvoiceLastVisitedAt.OperationID,
	OpUpdateInvoiceTemplateLateFees.OperationID, OpUpdateInvoiceTemplatePaymentMethods.OperationID,
	OpUpdateEstimateLastVisitedAt.OperationID,
}

// ListInvoicesParams selects invoices. LocationID is required.
type ListInvoicesParams struct {
	LocationID     string
	Status         InvoiceStatus
	StartAt, EndAt time.Time
	Search         string
	PaymentMode    PaymentMode
	ContactID      string
	SortField      string // issueDate
	SortOrder      string // ascend or descend
	Limit, Offset  int
}

// ListInvoices returns one page of invoices.
func (c *Client) ListInvoices(ctx context.Context, p ListInvoicesParams) (Page[Invoice], error) {
	if err := requireLocation(OpListInvoices, p.LocationID); err != nil {
		return Page[Invoice]{}, err
	}
	q := locationQuery(p.LocationID)
	setIf(q, "status", string(p.Status))
	setDateIf(q, "startAt", p.StartAt)
	setDateIf(q, "endAt", p.EndAt)
	setIf(q, "search", p.Search)
	setIf(q, "paymentMode", string(p.PaymentMode))
	setIf(q, "contactId", p.ContactID)
	setIf(q, "sortField", p.SortField)
	setIf(q, "sortOrder", p.SortOrder)
	// The invoices API requires both.
	q.Set("limit", strconv.Itoa(c.pageSizeOr(p.Limit)))
	q.Set("offset", strconv.Itoa(p.Offset))
	var resp struct {
		Invoices []Invoice `json:"invoices"`
		Total    int       `json:"total"`
	}
	err := c.do(ctx, call{op: OpListInvoices, location: p.LocationID, query: q}, &resp)
	return Page[Invoice]{Items: resp.Invoices, TotalCount: resp.Total}, err
}

// Invoices iterates over every invoice matching p.
func (c *Client) Invoices(ctx context.Context, p ListInvoicesParams) iter.Seq2[Invoice, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[Invoice], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListInvoices(ctx, p)
	})
}

// GetInvoice returns one invoice.
func (c *Client) GetInvoice(ctx context.Context, locationID, invoiceID string) (*Invoice, error) {
	if err := requireLocation(OpGetInvoice, locationID); err != nil {
		return nil, err
	}
	var inv Invoice
	if err := c.do(ctx, call{op: OpGetInvoice, location: locationID, pathArgs: []string{invoiceID}, query: locationQuery(locationID)}, &inv); err != nil {
		return nil, err
	}
	return &inv, nil
}
