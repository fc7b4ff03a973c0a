package ghl

import (
	"context"
	"encoding/json"
	"iter"
	"time"
)

// The estimate operations of apps/invoices.json. The PATCH has no security
// block in the spec, so no scope.
var (
	OpCreateEstimate              = Operation{"CreateEstimate", "create-new-estimate", "POST", "/invoices/estimate", ScopeEstimatesWrite}
	OpUpdateEstimate              = Operation{"UpdateEstimate", "update-estimate", "PUT", "/invoices/estimate/{estimateId}", ScopeEstimatesWrite}
	OpDeleteEstimate              = Operation{"DeleteEstimate", "delete-estimate", "DELETE", "/invoices/estimate/{estimateId}", ScopeEstimatesWrite}
	OpGenerateEstimateNumber      = Operation{"GenerateEstimateNumber", "generate-estimate-number", "GET", "/invoices/estimate/number/generate", ScopeEstimatesRead}
	OpSendEstimate                = Operation{"SendEstimate", "send-estimate", "POST", "/invoices/estimate/{estimateId}/send", ScopeEstimatesWrite}
	OpCreateInvoiceFromEstimate   = Operation{"CreateInvoiceFromEstimate", "create-invoice-from-estimate", "POST", "/invoices/estimate/{estimateId}/invoice", ScopeEstimatesWrite}
	OpListEstimates               = Operation{"ListEstimates", "list-estimates", "GET", "/invoices/estimate/list", ScopeEstimatesRead}
	OpUpdateEstimateLastVisitedAt = Operation{"UpdateEstimateLastVisitedAt", "update-estimate-last-visited-at", "PATCH", "/invoices/estimate/stats/last-visited-at", ""}
)

// EstimateStatus is an estimate's status; unknown values pass through.
type EstimateStatus string

// Estimate statuses of the estimates spec ("all" is only a list filter).
const (
	EstimateDraft    EstimateStatus = "draft"
	EstimateSent     EstimateStatus = "sent"
	EstimateAccepted EstimateStatus = "accepted"
	EstimateDeclined EstimateStatus = "declined"
	EstimateInvoiced EstimateStatus = "invoiced"
	EstimateViewed   EstimateStatus = "viewed"
)

// Estimate is a quote sent to a contact, which may become an invoice.
type Estimate struct {
	AltID                    string               `json:"altId"`
	AltType                  string               `json:"altType"`
	ID                       string               `json:"_id"`
	LiveMode                 bool                 `json:"liveMode"`
	Deleted                  bool                 `json:"deleted"`
	Name                     string               `json:"name"`
	Currency                 string               `json:"currency"`
	BusinessDetails          json.RawMessage      `json:"businessDetails"`
	Items                    []InvoiceItem        `json:"items"`
	Discount                 *InvoiceDiscount     `json:"discount"`
	Title                    string               `json:"title,omitempty"`
	EstimateNumber           InvoiceNumber        `json:"estimateNumber,omitempty"`
	EstimateNumberPrefix     string               `json:"estimateNumberPrefix,omitempty"`
	Total                    Number               `json:"total"`
	CreatedAt                Time                 `json:"createdAt,omitzero"`
	UpdatedAt                Time                 `json:"updatedAt,omitzero"`
	Version                  int                  `json:"__v"`
	AutomaticTaxesEnabled    bool                 `json:"automaticTaxesEnabled"`
	TermsNotes               string               `json:"termsNotes,omitempty"`
	CompanyID                string               `json:"companyId"`
	ContactDetails           *InvoiceContact      `json:"contactDetails"`
	IssueDate                Time                 `json:"issueDate,omitzero"`
	ExpiryDate               Time                 `json:"expiryDate,omitzero"`
	SentBy                   string               `json:"sentBy,omitempty"`
	AutomaticTaxesCalculated bool                 `json:"automaticTaxesCalculated"`
	Meta                     json.RawMessage      `json:"meta"`
	EstimateActionHistory    []EstimateAction     `json:"estimateActionHistory"`
	SentTo                   *InvoiceRecipients   `json:"sentTo"`
	FrequencySettings        *FrequencySettings   `json:"frequencySettings"`
	LastVisitedAt            Time                 `json:"lastVisitedAt,omitzero"`
	TotalAmountInUSD         Number               `json:"totalamountInUSD"`
	AutoInvoice              *EstimateAutoInvoice `json:"autoInvoice,omitempty"`
	TraceID                  string               `json:"traceId,omitempty"`

	// EstimateStatus is the estimate's status, which GHL answers although
	// the response schema leaves it out.
	EstimateStatus EstimateStatus `json:"estimateStatus,omitempty"`
	// InvoiceID is the invoice made from the estimate, if any.
	InvoiceID string `json:"invoiceId,omitempty"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the estimate and keeps the raw bytes.
func (e *Estimate) UnmarshalJSON(b []byte) error {
	type plain Estimate
	return decodeKeepRaw(b, (*plain)(e), &e.Raw)
}

// EstimateAction is one entry of an estimate's history.
type EstimateAction struct {
	Action    string `json:"action"`
	Timestamp Time   `json:"timestamp"`
}

// FrequencySettings makes an estimate recurring when Enabled.
type FrequencySettings struct {
	Enabled  bool     `json:"enabled"`
	Schedule Schedule `json:"schedule"`
}

// EstimateAutoInvoice turns an accepted estimate into an invoice by itself.
type EstimateAutoInvoice struct {
	Enabled        bool `json:"enabled"`
	DirectPayments bool `json:"directPayments,omitempty"`
}

// EstimateParams describes an estimate to create or replace. LocationID,
// Name, Currency, Items and Contact are required. IssueDate defaults to
// today and ExpiryDate to 30 days later; the number is GHL's next one when 0.
type EstimateParams struct {
	LocationID            string
	Name                  string
	Title                 string
	Business              InvoiceBusiness
	Currency              string
	Items                 []InvoiceItem
	Discount              InvoiceDiscount // Type "" means no discount
	Contact               InvoiceContact  // ID, Name, Email and PhoneNo are required
	TermsNotes            string
	EstimateNumber        int
	EstimateNumberPrefix  string
	IssueDate, ExpiryDate time.Time
	SentTo                *InvoiceRecipients
	LiveMode              bool
	AutomaticTaxesEnabled bool
	Meta                  map[string]any
	Frequency             FrequencySettings
	AutoInvoice           *EstimateAutoInvoice
	UserID                string
	// Status sets the status on update (a contact's answer recorded by
	// hand: accepted or declined); empty keeps it.
	Status EstimateStatus
}

type estimateBody struct {
	AltID                 string               `json:"altId"`
	AltType               string               `json:"altType"`
	Name                  string               `json:"name"`
	BusinessDetails       InvoiceBusiness      `json:"businessDetails"`
	Currency              string               `json:"currency"`
	Items                 []InvoiceItem        `json:"items"`
	LiveMode              bool                 `json:"liveMode"`
	Discount              InvoiceDiscount      `json:"discount"`
	TermsNotes            string               `json:"termsNotes,omitempty"`
	Title                 string               `json:"title,omitempty"`
	ContactDetails        invoiceContactBody   `json:"contactDetails"`
	EstimateNumber        int                  `json:"estimateNumber,omitempty"`
	IssueDate             string               `json:"issueDate,omitempty"`
	ExpiryDate            string               `json:"expiryDate,omitempty"`
	SentTo                *InvoiceRecipients   `json:"sentTo,omitempty"`
	AutomaticTaxesEnabled bool                 `json:"automaticTaxesEnabled,omitempty"`
	Meta                  map[string]any       `json:"meta,omitempty"`
	FrequencySettings     FrequencySettings    `json:"frequencySettings"`
	EstimateNumberPrefix  string               `json:"estimateNumberPrefix,omitempty"`
	UserID                string               `json:"userId,omitempty"`
	AutoInvoice           *EstimateAutoInvoice `json:"autoInvoice,omitempty"`
	EstimateStatus        EstimateStatus       `json:"estimateStatus,omitempty"`
}

func (p EstimateParams) body() estimateBody {
	discount := p.Discount
	if discount.Type == "" {
		discount = InvoiceDiscount{Type: "percentage", Value: NumberFromInt(0)}
	}
	return estimateBody{
		AltID: p.LocationID, AltType: "location", Name: p.Name, BusinessDetails: p.Business, Currency: p.Currency,
		Items: nonNil(p.Items), LiveMode: p.LiveMode, Discount: discount, TermsNotes: p.TermsNotes, Title: p.Title,
		ContactDetails: invoiceContactBody{ID: p.Contact.ID, Name: p.Contact.Name, PhoneNo: p.Contact.PhoneNo,
			Email: p.Contact.Email, CompanyName: p.Contact.CompanyName, Address: p.Contact.Address},
		EstimateNumber: p.EstimateNumber, IssueDate: dateOf(p.IssueDate), ExpiryDate: dateOf(p.ExpiryDate),
		SentTo: p.SentTo, AutomaticTaxesEnabled: p.AutomaticTaxesEnabled, Meta: p.Meta,
		FrequencySettings: p.Frequency, EstimateNumberPrefix: p.EstimateNumberPrefix, UserID: p.UserID,
		AutoInvoice: p.AutoInvoice, EstimateStatus: p.Status,
	}
}

// CreateEstimate creates a draft estimate. It is not retried: GHL has no
// key to recognise a repeated create.
func (c *Client) CreateEstimate(ctx context.Context, p EstimateParams) (*Estimate, error) {
	b := p.body()
	b.EstimateStatus = "" // the create form has no status
	return recordCall[Estimate](ctx, c, OpCreateEstimate, p.LocationID, nil, nil, b)
}

// UpdateEstimate replaces an estimate's content with p.
func (c *Client) UpdateEstimate(ctx context.Context, estimateID string, p EstimateParams) (*Estimate, error) {
	return recordCall[Estimate](ctx, c, OpUpdateEstimate, p.LocationID, []string{estimateID}, nil, p.body())
}

// DeleteEstimate deletes an estimate and returns it as deleted.
func (c *Client) DeleteEstimate(ctx context.Context, locationID, estimateID string) (*Estimate, error) {
	return recordCall[Estimate](ctx, c, OpDeleteEstimate, locationID, []string{estimateID}, nil, altBody{locationID, "location"})
}

// GenerateEstimateNumber returns the number GHL would give the location's
// next estimate; like GenerateInvoiceNumber it reserves nothing.
func (c *Client) GenerateEstimateNumber(ctx context.Context, locationID string) (InvoiceNumber, error) {
	if err := requireLocation(OpGenerateEstimateNumber, locationID); err != nil {
		return "", err
	}
	var resp struct {
		EstimateNumber InvoiceNumber `json:"estimateNumber"`
	}
	err := c.do(ctx, call{op: OpGenerateEstimateNumber, location: locationID, query: locationQuery(locationID)}, &resp)
	return resp.EstimateNumber, err
}

// SendEstimate sends an estimate to its contact. It is not retried: a
// retry would send it twice.
func (c *Client) SendEstimate(ctx context.Context, locationID, estimateID string, p SendInvoiceParams) (*Estimate, error) {
	body := struct {
		altBody
		Action   SendAction     `json:"action"`
		LiveMode bool           `json:"liveMode"`
		UserID   string         `json:"userId"`
		SentFrom *InvoiceSender `json:"sentFrom,omitempty"`
	}{altBody: altBody{locationID, "location"}, Action: p.Action, LiveMode: p.LiveMode, UserID: p.UserID}
	if p.FromName != "" || p.FromEmail != "" {
		body.SentFrom = &InvoiceSender{p.FromName, p.FromEmail}
	}
	return recordCall[Estimate](ctx, c, OpSendEstimate, locationID, []string{estimateID}, nil, body)
}

// InvoicedEstimate is an estimate and the invoice made from it.
type InvoicedEstimate struct {
	Estimate Estimate `json:"estimate"`
	Invoice  Invoice  `json:"invoice"`
}

// CreateInvoiceFromEstimate makes a draft invoice of an estimate's lines;
// markAsInvoiced also sets the estimate's status to invoiced. It is not
// retried: a retry would make a second invoice.
func (c *Client) CreateInvoiceFromEstimate(ctx context.Context, locationID, estimateID string, markAsInvoiced bool) (*InvoicedEstimate, error) {
	body := struct {
		altBody
		MarkAsInvoiced bool   `json:"markAsInvoiced"`
		Version        string `json:"version"`
	}{altBody{locationID, "location"}, markAsInvoiced, "v2"}
	return recordCall[InvoicedEstimate](ctx, c, OpCreateInvoiceFromEstimate, locationID, []string{estimateID}, nil, body)
}

// ListEstimatesParams selects estimates. LocationID is required.
type ListEstimatesParams struct {
	LocationID     string
	Status         EstimateStatus
	StartAt, EndAt time.Time // by issue day
	Search         string
	ContactID      string
	Limit, Offset  int
}

// ListEstimates returns one page of estimates, newest first.
func (c *Client) ListEstimates(ctx context.Context, p ListEstimatesParams) (Page[Estimate], error) {
	if err := requireLocation(OpListEstimates, p.LocationID); err != nil {
		return Page[Estimate]{}, err
	}
	q := locationQuery(p.LocationID)
	setIf(q, "status", string(p.Status))
	setDateIf(q, "startAt", p.StartAt)
	setDateIf(q, "endAt", p.EndAt)
	setIf(q, "search", p.Search)
	setIf(q, "contactId", p.ContactID)
	c.setInvoicesPage(q, p.Limit, p.Offset)
	var resp struct {
		Estimates []Estimate `json:"estimates"`
		Total     int        `json:"total"`
	}
	err := c.do(ctx, call{op: OpListEstimates, location: p.LocationID, query: q}, &resp)
	return Page[Estimate]{Items: resp.Estimates, TotalCount: resp.Total}, err
}

// Estimates iterates over every estimate matching p.
func (c *Client) Estimates(ctx context.Context, p ListEstimatesParams) iter.Seq2[Estimate, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[Estimate], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListEstimates(ctx, p)
	})
}

// UpdateEstimateLastVisitedAt marks the estimate as just viewed. The
// request names only the estimate; locationID selects the rate budget.
func (c *Client) UpdateEstimateLastVisitedAt(ctx context.Context, locationID, estimateID string) error {
	if err := requireLocation(OpUpdateEstimateLastVisitedAt, locationID); err != nil {
		return err
	}
	body := struct {
		EstimateID string `json:"estimateId"`
	}{estimateID}
	return c.do(ctx, call{op: OpUpdateEstimateLastVisitedAt, location: locationID, body: body}, nil)
}

// The estimate template operations of apps/invoices.json.
var (
	OpListEstimateTemplates   = Operation{"ListEstimateTemplates", "list-estimate-templates", "GET", "/invoices/estimate/template", ScopeEstimatesRead}
	OpCreateEstimateTemplate  = Operation{"CreateEstimateTemplate", "create-estimate-template", "POST", "/invoices/estimate/template", ScopeEstimatesWrite}
	OpUpdateEstimateTemplate  = Operation{"UpdateEstimateTemplate", "update-estimate-template", "PUT", "/invoices/estimate/template/{templateId}", ScopeEstimatesWrite}
	OpDeleteEstimateTemplate  = Operation{"DeleteEstimateTemplate", "delete-estimate-template", "DELETE", "/invoices/estimate/template/{templateId}", ScopeEstimatesWrite}
	OpPreviewEstimateTemplate = Operation{"PreviewEstimateTemplate", "preview-estimate-template", "GET", "/invoices/estimate/template/preview", ScopeEstimatesRead}
)

// EstimateTemplate is a reusable estimate: lines, discount and terms
// without a contact or dates.
type EstimateTemplate struct {
	AltID                 string           `json:"altId"`
	AltType               string           `json:"altType"`
	ID                    string           `json:"_id"`
	LiveMode              bool             `json:"liveMode"`
	Deleted               bool             `json:"deleted"`
	Name                  string           `json:"name"`
	Currency              string           `json:"currency"`
	BusinessDetails       json.RawMessage  `json:"businessDetails"`
	Items                 []InvoiceItem    `json:"items"`
	Discount              *InvoiceDiscount `json:"discount"`
	Title                 string           `json:"title,omitempty"`
	EstimateNumberPrefix  string           `json:"estimateNumberPrefix,omitempty"`
	Total                 Number           `json:"total"`
	CreatedAt             Time             `json:"createdAt,omitzero"`
	UpdatedAt             Time             `json:"updatedAt,omitzero"`
	Version               int              `json:"__v"`
	AutomaticTaxesEnabled bool             `json:"automaticTaxesEnabled"`
	TermsNotes            string           `json:"termsNotes,omitempty"`
	// Meta is what the template was created with; GHL answers it although
	// the response schema leaves it out.
	Meta json.RawMessage `json:"meta,omitempty"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the template and keeps the raw bytes.
func (t *EstimateTemplate) UnmarshalJSON(b []byte) error {
	type plain EstimateTemplate
	return decodeKeepRaw(b, (*plain)(t), &t.Raw)
}

// EstimateTemplateParams describes an estimate template to create or
// replace. LocationID, Name, Currency and Items are required.
type EstimateTemplateParams struct {
	LocationID            string
	Name                  string
	Title                 string
	Business              InvoiceBusiness
	Currency              string
	Items                 []InvoiceItem
	Discount              InvoiceDiscount // Type "" means no discount
	TermsNotes            string
	LiveMode              bool
	AutomaticTaxesEnabled bool
	Meta                  map[string]any
	EstimateNumberPrefix  string
}

func (p EstimateTemplateParams) body() any {
	discount := p.Discount
	if discount.Type == "" {
		discount = InvoiceDiscount{Type: "percentage", Value: NumberFromInt(0)}
	}
	return struct {
		AltID                 string          `json:"altId"`
		AltType               string          `json:"altType"`
		Name                  string          `json:"name"`
		BusinessDetails       InvoiceBusiness `json:"businessDetails"`
		Currency              string          `json:"currency"`
		Items                 []InvoiceItem   `json:"items"`
		LiveMode              bool            `json:"liveMode"`
		Discount              InvoiceDiscount `json:"discount"`
		TermsNotes            string          `json:"termsNotes,omitempty"`
		Title                 string          `json:"title,omitempty"`
		AutomaticTaxesEnabled bool            `json:"automaticTaxesEnabled,omitempty"`
		Meta                  map[string]any  `json:"meta,omitempty"`
		EstimateNumberPrefix  string          `json:"estimateNumberPrefix,omitempty"`
	}{p.LocationID, "location", p.Name, p.Business, p.Currency, nonNil(p.Items), p.LiveMode, discount,
		p.TermsNotes, p.Title, p.AutomaticTaxesEnabled, p.Meta, p.EstimateNumberPrefix}
}

// CreateEstimateTemplate creates an estimate template. It is not retried:
// GHL has no key to recognise a repeated create.
func (c *Client) CreateEstimateTemplate(ctx context.Context, p EstimateTemplateParams) (*EstimateTemplate, error) {
	return recordCall[EstimateTemplate](ctx, c, OpCreateEstimateTemplate, p.LocationID, nil, nil, p.body())
}

// UpdateEstimateTemplate replaces a template's content with p.
func (c *Client) UpdateEstimateTemplate(ctx context.Context, templateID string, p EstimateTemplateParams) (*EstimateTemplate, error) {
	return recordCall[EstimateTemplate](ctx, c, OpUpdateEstimateTemplate, p.LocationID, []string{templateID}, nil, p.body())
}

// DeleteEstimateTemplate deletes a template and returns it as deleted.
func (c *Client) DeleteEstimateTemplate(ctx context.Context, locationID, templateID string) (*EstimateTemplate, error) {
	return recordCall[EstimateTemplate](ctx, c, OpDeleteEstimateTemplate, locationID, []string{templateID}, nil, altBody{locationID, "location"})
}

// PreviewEstimateTemplate returns a template as an estimate made from it
// would start.
func (c *Client) PreviewEstimateTemplate(ctx context.Context, locationID, templateID string) (*EstimateTemplate, error) {
	q := locationQuery(locationID)
	q.Set("templateId", templateID)
	return recordCall[EstimateTemplate](ctx, c, OpPreviewEstimateTemplate, locationID, nil, q, nil)
}

// ListEstimateTemplatesParams selects estimate templates. LocationID is
// required.
type ListEstimateTemplatesParams struct {
	LocationID    string
	Search        string
	Limit, Offset int
}

// ListEstimateTemplates returns one page of estimate templates, newest first.
func (c *Client) ListEstimateTemplates(ctx context.Context, p ListEstimateTemplatesParams) (Page[EstimateTemplate], error) {
	if err := requireLocation(OpListEstimateTemplates, p.LocationID); err != nil {
		return Page[EstimateTemplate]{}, err
	}
	q := locationQuery(p.LocationID)
	setIf(q, "search", p.Search)
	c.setInvoicesPage(q, p.Limit, p.Offset)
	var resp listResponse[EstimateTemplate]
	err := c.do(ctx, call{op: OpListEstimateTemplates, location: p.LocationID, query: q}, &resp)
	return resp.page(), err
}

// EstimateTemplates iterates over every estimate template matching p.
func (c *Client) EstimateTemplates(ctx context.Context, p ListEstimateTemplatesParams) iter.Seq2[EstimateTemplate, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[EstimateTemplate], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListEstimateTemplates(ctx, p)
	})
}
