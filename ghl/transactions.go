package ghl

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"time"
)

// TransactionStatus is a transaction's status. The spec only shows
// "succeeded"; unknown values pass through unchanged.
type TransactionStatus string

// Transaction statuses.
const (
	TxnSucceeded         TransactionStatus = "succeeded"
	TxnPending           TransactionStatus = "pending"
	TxnFailed            TransactionStatus = "failed"
	TxnRefunded          TransactionStatus = "refunded"
	TxnPartiallyRefunded TransactionStatus = "partially_refunded"
)

// Transaction is a payment as GHL lists it (TxnResponseSchema). The entity it
// pays is EntityType/EntityID: an order or an invoice.
type Transaction struct {
	ID                              string            `json:"_id"`
	AltID                           string            `json:"altId"`
	AltType                         string            `json:"altType"`
	ContactID                       string            `json:"contactId,omitempty"`
	MergedFromContactID             string            `json:"mergedFromContactId,omitempty"`
	ContactName                     string            `json:"contactName,omitempty"`
	ContactEmail                    string            `json:"contactEmail,omitempty"`
	Currency                        string            `json:"currency,omitempty"`
	Amount                          Number            `json:"amount,omitempty"`
	AmountRefunded                  Number            `json:"amountRefunded,omitempty"`
	Status                          TransactionStatus `json:"status"`
	LiveMode                        bool              `json:"liveMode"`
	EntityType                      string            `json:"entityType,omitempty"`
	EntityID                        string            `json:"entityId,omitempty"`
	EntitySourceType                string            `json:"entitySourceType"`
	EntitySourceSubType             string            `json:"entitySourceSubType,omitempty"`
	EntitySourceName                string            `json:"entitySourceName,omitempty"`
	EntitySourceID                  string            `json:"entitySourceId,omitempty"`
	EntitySourceMeta                json.RawMessage   `json:"entitySourceMeta,omitempty"`
	SubscriptionID                  string            `json:"subscriptionId,omitempty"`
	ChargeID                        string            `json:"chargeId,omitempty"`
	ChargeSnapshot                  json.RawMessage   `json:"chargeSnapshot,omitempty"`
	PaymentProviderType             string            `json:"paymentProviderType,omitempty"`
	PaymentProviderConnectedAccount string            `json:"paymentProviderConnectedAccount,omitempty"`
	PaymentMethod                   json.RawMessage   `json:"paymentMethod,omitempty"`
	IPAddress                       string            `json:"ipAddress,omitempty"`
	CreatedBy                       string            `json:"createdBy,omitempty"`
	CreatedAt                       Time              `json:"createdAt,omitzero"`
	UpdatedAt                       Time              `json:"updatedAt,omitzero"`
	FulfilledAt                     Time              `json:"fulfilledAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the transaction and keeps the raw bytes.
func (t *Transaction) UnmarshalJSON(b []byte) error {
	type plain Transaction
	return decodeKeepRaw(b, (*plain)(t), &t.Raw)
}

// TransactionDetail is one transaction as GetTransaction returns it
// (GetTxnResponseSchema). Unlike the list item it names the invoice.
type TransactionDetail struct {
	ID                  string            `json:"_id"`
	AltID               string            `json:"altId"`
	AltType             string            `json:"altType"`
	ContactID           string            `json:"contactId,omitempty"`
	ContactSnapshot     json.RawMessage   `json:"contactSnapshot,omitempty"`
	MergedFromContactID string            `json:"mergedFromContactId,omitempty"`
	Currency            string            `json:"currency,omitempty"`
	Amount              Number            `json:"amount,omitempty"`
	AmountRefunded      Number            `json:"amountRefunded,omitempty"`
	Status              TransactionStatus `json:"status,omitempty"`
	LiveMode            bool              `json:"liveMode"`
	EntityType          string            `json:"entityType,omitempty"`
	EntityID            string            `json:"entityId,omitempty"`
	EntitySource        *OrderSource      `json:"entitySource,omitempty"`
	ChargeID            string            `json:"chargeId,omitempty"`
	ChargeSnapshot      json.RawMessage   `json:"chargeSnapshot,omitempty"`
	InvoiceID           string            `json:"invoiceId,omitempty"`
	SubscriptionID      string            `json:"subscriptionId,omitempty"`
	ReceiptID           string            `json:"receiptId,omitempty"`
	PaymentProvider     *PaymentProvider  `json:"paymentProvider,omitempty"`
	IPAddress           string            `json:"ipAddress,omitempty"`
	Meta                json.RawMessage   `json:"meta,omitempty"`
	MarkAsTest          bool              `json:"markAsTest,omitempty"`
	IsParent            bool              `json:"isParent,omitempty"`
	QBOSynced           bool              `json:"qboSynced,omitempty"`
	QBOResponse         json.RawMessage   `json:"qboResponse,omitempty"`
	TraceID             string            `json:"traceId,omitempty"`
	CreatedBy           string            `json:"createdBy,omitempty"`
	CreatedAt           Time              `json:"createdAt,omitzero"`
	UpdatedAt           Time              `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the transaction and keeps the raw bytes.
func (t *TransactionDetail) UnmarshalJSON(b []byte) error {
	type plain TransactionDetail
	return decodeKeepRaw(b, (*plain)(t), &t.Raw)
}

// PaymentProvider names the provider that processed a payment.
type PaymentProvider struct {
	Type             string          `json:"type,omitempty"`
	ConnectedAccount json.RawMessage `json:"connectedAccount,omitempty"`
}

// ListTransactionsParams selects transactions. LocationID is required. To
// find the payments of one order or invoice, set EntityID to its id: orders
// carry no transaction ids.
type ListTransactionsParams struct {
	LocationID          string
	PaymentMode         PaymentMode
	StartAt, EndAt      time.Time
	EntitySourceType    string
	EntitySourceSubType string
	Search              string
	SubscriptionID      string
	EntityID            string
	ContactID           string
	Limit, Offset       int
}

func (p ListTransactionsParams) query() url.Values {
	q := locationQuery(p.LocationID)
	q.Set("locationId", p.LocationID)
	setIf(q, "paymentMode", string(p.PaymentMode))
	setDateIf(q, "startAt", p.StartAt)
	setDateIf(q, "endAt", p.EndAt)
	setIf(q, "entitySourceType", p.EntitySourceType)
	setIf(q, "entitySourceSubType", p.EntitySourceSubType)
	setIf(q, "search", p.Search)
	setIf(q, "subscriptionId", p.SubscriptionID)
	setIf(q, "entityId", p.EntityID)
	setIf(q, "contactId", p.ContactID)
	setIntIf(q, "limit", p.Limit)
	setIntIf(q, "offset", p.Offset)
	return q
}

// ListTransactions returns one page of transactions, newest first.
func (c *Client) ListTransactions(ctx context.Context, p ListTransactionsParams) (Page[Transaction], error) {
	if err := requireLocation(OpListTransactions, p.LocationID); err != nil {
		return Page[Transaction]{}, err
	}
	var resp listResponse[Transaction]
	err := c.do(ctx, call{op: OpListTransactions, location: p.LocationID, query: p.query()}, &resp)
	return resp.page(), err
}

// Transactions iterates over every transaction matching p.
func (c *Client) Transactions(ctx context.Context, p ListTransactionsParams) iter.Seq2[Transaction, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[Transaction], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListTransactions(ctx, p)
	})
}

// GetTransaction returns one transaction.
func (c *Client) GetTransaction(ctx context.Context, locationID, transactionID string) (*TransactionDetail, error) {
	if err := requireLocation(OpGetTransaction, locationID); err != nil {
		return nil, err
	}
	q := locationQuery(locationID)
	q.Set("locationId", locationID)
	var t TransactionDetail
	if err := c.do(ctx, call{op: OpGetTransaction, location: locationID, pathArgs: []string{transactionID}, query: q}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}
