package ghl

import (
	"context"
	"encoding/json"
	"iter"
	"time"
)

// The invoice template operations of apps/invoices.json. The two PATCH
// operations have no security block in the spec, so no scope.
var (
	OpCreateInvoiceTemplate               = Operation{"CreateInvoiceTemplate", "create-invoice-template", "POST", "/invoices/template", ScopeInvoiceTemplatesWrite}
	OpListInvoiceTemplates                = Operation{"ListInvoiceTemplates", "list-invoice-templates", "GET", "/invoices/template", ScopeInvoiceTemplatesRead}
	OpGetInvoiceTemplate                  = Operation{"GetInvoiceTemplate", "get-invoice-template", "GET", "/invoices/template/{templateId}", ScopeInvoiceTemplatesRead}
	OpUpdateInvoiceTemplate               = Operation{"UpdateInvoiceTemplate", "update-invoice-template", "PUT", "/invoices/template/{templateId}", ScopeInvoiceTemplatesWrite}
	OpDeleteInvoiceTemplate               = Operation{"DeleteInvoiceTemplate", "delete-invoice-template", "DELETE", "/invoices/template/{templateId}", ScopeInvoiceTemplatesWrite}
	OpUpdateInvoiceTemplateLateFees       = Operation{"UpdateInvoiceTemplateLateFees", "update-invoice-template-late-fees-configuration", "PATCH", "/invoices/template/{templateId}/late-fees-configuration", ""}
	OpUpdateInvoiceTemplatePaymentMethods = Operation{"UpdateInvoiceTemplatePaymentMethods", "update-invoice-payment-methods-configuration", "PATCH", "/invoices/template/{templateId}/payment-methods-configuration", ""}
)

// InvoiceTemplate is a reusable invoice: lines, discount and terms without
// a contact or dates.
type InvoiceTemplate struct {
	ID                  string           `json:"_id"`
	AltID               string           `json:"altId"`
	AltType             string           `json:"altType"`
	Name                string           `json:"name"`
	BusinessDetails     json.RawMessage  `json:"businessDetails"`
	Currency            string           `json:"currency"`
	Discount            *InvoiceDiscount `json:"discount,omitempty"`
	Items               []InvoiceItem    `json:"items"`
	InvoiceNumberPrefix string           `json:"invoiceNumberPrefix,omitempty"`
	Total               Number           `json:"total"`
	CreatedAt           Time             `json:"createdAt,omitzero"`
	UpdatedAt           Time             `json:"updatedAt,omitzero"`

	// What the template was set up with; GHL answers them although the
	// response schemas leave them out.
	Title                 string                 `json:"title,omitempty"`
	TermsNotes            string                 `json:"termsNotes,omitempty"`
	Internal              bool                   `json:"internal,omitempty"`
	AutomaticTaxesEnabled bool                   `json:"automaticTaxesEnabled,omitempty"`
	LateFeesConfiguration *LateFeesConfiguration `json:"lateFeesConfiguration,omitempty"`
	PaymentMethods        *InvoicePaymentMethods `json:"paymentMethods,omitempty"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the template and keeps the raw bytes.
func (t *InvoiceTemplate) UnmarshalJSON(b []byte) error {
	type plain InvoiceTemplate
	return decodeKeepRaw(b, (*plain)(t), &t.Raw)
}

// InvoiceTemplateParams describes a template to create or replace.
// LocationID, Name, Currency and Items are required.
type InvoiceTemplateParams struct {
	LocationID            string
	Name                  string
	Title                 string
	Internal              bool
	Business              InvoiceBusiness
	Currency              string
	Items                 []InvoiceItem
	Discount              InvoiceDiscount // Type "" means no discount
	TermsNotes            string
	AutomaticTaxesEnabled bool                   // create only
	InvoiceNumberPrefix   string                 // create only
	LateFeesConfiguration *LateFeesConfiguration // create only
	PaymentMethods        *InvoicePaymentMethods // create only
}

type templateBody struct {
	AltID                 string                 `json:"altId"`
	AltType               string                 `json:"altType"`
	Internal              bool                   `json:"internal,omitempty"`
	Name                  string                 `json:"name"`
	Title                 string                 `json:"title,omitempty"`
	BusinessDetails       InvoiceBusiness        `json:"businessDetails"`
	Currency              string                 `json:"currency"`
	Items                 []InvoiceItem          `json:"items"`
	Discount              *InvoiceDiscount       `json:"discount,omitempty"`
	TermsNotes            string                 `json:"termsNotes,omitempty"`
	AutomaticTaxesEnabled bool                   `json:"automaticTaxesEnabled,omitempty"`
	InvoiceNumberPrefix   string                 `json:"invoiceNumberPrefix,omitempty"`
	LateFeesConfiguration *LateFeesConfiguration `json:"lateFeesConfiguration,omitempty"`
	PaymentMethods        *InvoicePaymentMethods `json:"paymentMethods,omitempty"`
}

func (p InvoiceTemplateParams) body(update bool) templateBody {
	b := templateBody{AltID: p.LocationID, AltType: "location", Internal: p.Internal, Name: p.Name, Title: p.Title,
		BusinessDetails: p.Business, Currency: p.Currency, Items: nonNil(p.Items), TermsNotes: p.TermsNotes}
	if p.Discount.Type != "" {
		b.Discount = &p.Discount
	}
	if !update {
		b.AutomaticTaxesEnabled, b.InvoiceNumberPrefix = p.AutomaticTaxesEnabled, p.InvoiceNumberPrefix
		b.LateFeesConfiguration, b.PaymentMethods = p.LateFeesConfiguration, p.PaymentMethods
	}
	return b
}

// CreateInvoiceTemplate creates a template. It is not retried: GHL has no
// key to recognise a repeated create.
func (c *Client) CreateInvoiceTemplate(ctx context.Context, p InvoiceTemplateParams) (*InvoiceTemplate, error) {
	return recordCall[InvoiceTemplate](ctx, c, OpCreateInvoiceTemplate, p.LocationID, nil, nil, p.body(false))
}

// ListInvoiceTemplatesParams selects templates. LocationID is required.
type ListInvoiceTemplatesParams struct {
	LocationID     string
	StartAt, EndAt time.Time // by creation day
	Search         string
	Limit, Offset  int
}

// ListInvoiceTemplates returns one page of templates, newest first.
func (c *Client) ListInvoiceTemplates(ctx context.Context, p ListInvoiceTemplatesParams) (Page[InvoiceTemplate], error) {
	if err := requireLocation(OpListInvoiceTemplates, p.LocationID); err != nil {
		return Page[InvoiceTemplate]{}, err
	}
	q := locationQuery(p.LocationID)
	setDateIf(q, "startAt", p.StartAt)
	setDateIf(q, "endAt", p.EndAt)
	setIf(q, "search", p.Search)
	c.setInvoicesPage(q, p.Limit, p.Offset)
	var resp listResponse[InvoiceTemplate]
	err := c.do(ctx, call{op: OpListInvoiceTemplates, location: p.LocationID, query: q}, &resp)
	return resp.page(), err
}

// InvoiceTemplates iterates over every template matching p.
func (c *Client) InvoiceTemplates(ctx context.Context, p ListInvoiceTemplatesParams) iter.Seq2[InvoiceTemplate, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[InvoiceTemplate], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListInvoiceTemplates(ctx, p)
	})
}

// GetInvoiceTemplate returns one template.
func (c *Client) GetInvoiceTemplate(ctx context.Context, locationID, templateID string) (*InvoiceTemplate, error) {
	return recordCall[InvoiceTemplate](ctx, c, OpGetInvoiceTemplate, locationID, []string{templateID}, locationQuery(locationID), nil)
}

// UpdateInvoiceTemplate replaces a template's content with p.
func (c *Client) UpdateInvoiceTemplate(ctx context.Context, templateID string, p InvoiceTemplateParams) (*InvoiceTemplate, error) {
	return recordCall[InvoiceTemplate](ctx, c, OpUpdateInvoiceTemplate, p.LocationID, []string{templateID}, nil, p.body(true))
}

// DeleteInvoiceTemplate deletes a template.
func (c *Client) DeleteInvoiceTemplate(ctx context.Context, locationID, templateID string) error {
	if err := requireLocation(OpDeleteInvoiceTemplate, locationID); err != nil {
		return err
	}
	var resp successResponse
	if err := c.do(ctx, call{op: OpDeleteInvoiceTemplate, location: locationID, pathArgs: []string{templateID}, query: locationQuery(locationID)}, &resp); err != nil {
		return err
	}
	return resp.check(OpDeleteInvoiceTemplate, locationID)
}

// UpdateInvoiceTemplateLateFees sets the late fees invoices made from the
// template start with, and returns the template with them.
func (c *Client) UpdateInvoiceTemplateLateFees(ctx context.Context, locationID, templateID string, cfg LateFeesConfiguration) (*InvoiceTemplate, error) {
	body := struct {
		altBody
		LateFeesConfiguration LateFeesConfiguration `json:"lateFeesConfiguration"`
	}{altBody{locationID, "location"}, cfg}
	return recordCall[InvoiceTemplate](ctx, c, OpUpdateInvoiceTemplateLateFees, locationID, []string{templateID}, nil, body)
}

// UpdateInvoiceTemplatePaymentMethods sets how invoices made from the
// template may be paid, and returns the template with it.
func (c *Client) UpdateInvoiceTemplatePaymentMethods(ctx context.Context, locationID, templateID string, pm InvoicePaymentMethods) (*InvoiceTemplate, error) {
	body := struct {
		altBody
		PaymentMethods InvoicePaymentMethods `json:"paymentMethods"`
	}{altBody{locationID, "location"}, pm}
	return recordCall[InvoiceTemplate](ctx, c, OpUpdateInvoiceTemplatePaymentMethods, locationID, []string{templateID}, nil, body)
}
