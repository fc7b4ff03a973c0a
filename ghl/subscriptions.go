package ghl

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"time"
)

// SubscriptionStatus is a subscription's status. The spec only shows
// "active"; unknown values pass through unchanged.
type SubscriptionStatus string

// Subscription statuses.
const (
	SubActive     SubscriptionStatus = "active"
	SubTrialing   SubscriptionStatus = "trialing"
	SubPastDue    SubscriptionStatus = "past_due"
	SubCanceled   SubscriptionStatus = "canceled"
	SubIncomplete SubscriptionStatus = "incomplete"
)

// Subscription is a recurring payment as GHL lists it
// (SubscriptionResponseSchema). ID is GHL's id; SubscriptionID is the payment
// provider's own id for it (sub_… at Stripe, I-… at PayPal).
type Subscription struct {
	ID                              string             `json:"_id"`
	AltID                           string             `json:"altId"`
	AltType                         string             `json:"altType"`
	ContactID                       string             `json:"contactId,omitempty"`
	ContactName                     string             `json:"contactName,omitempty"`
	ContactEmail                    string             `json:"contactEmail,omitempty"`
	Currency                        string             `json:"currency,omitempty"`
	Amount                          Number             `json:"amount,omitempty"`
	Status                          SubscriptionStatus `json:"status"`
	LiveMode                        bool               `json:"liveMode"`
	EntityType                      string             `json:"entityType,omitempty"`
	EntityID                        string             `json:"entityId,omitempty"`
	EntitySourceType                string             `json:"entitySourceType"`
	EntitySourceName                string             `json:"entitySourceName,omitempty"`
	EntitySourceID                  string             `json:"entitySourceId,omitempty"`
	EntitySourceMeta                json.RawMessage    `json:"entitySourceMeta,omitempty"`
	SubscriptionID                  string             `json:"subscriptionId,omitempty"`
	SubscriptionSnapshot            json.RawMessage    `json:"subscriptionSnapshot,omitempty"`
	PaymentProviderType             string             `json:"paymentProviderType,omitempty"`
	PaymentProviderConnectedAccount string             `json:"paymentProviderConnectedAccount,omitempty"`
	IPAddress                       string             `json:"ipAddress,omitempty"`
	CreatedBy                       string             `json:"createdBy,omitempty"`
	CreatedAt                       Time               `json:"createdAt,omitzero"`
	UpdatedAt                       Time               `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the subscription and keeps the raw bytes.
func (s *Subscription) UnmarshalJSON(b []byte) error {
	type plain Subscription
	return decodeKeepRaw(b, (*plain)(s), &s.Raw)
}

// SubscriptionDetail is one subscription as GetSubscription returns it
// (GetSubscriptionResponseSchema), with its schedule and cancellation.
type SubscriptionDetail struct {
	ID                   string             `json:"_id"`
	AltID                string             `json:"altId"`
	AltType              string             `json:"altType"`
	ContactID            string             `json:"contactId,omitempty"`
	ContactSnapshot      json.RawMessage    `json:"contactSnapshot,omitempty"`
	Coupon               json.RawMessage    `json:"coupon,omitempty"`
	Currency             string             `json:"currency,omitempty"`
	Amount               Number             `json:"amount,omitempty"`
	Status               SubscriptionStatus `json:"status,omitempty"`
	LiveMode             bool               `json:"liveMode"`
	EntityType           string             `json:"entityType,omitempty"`
	EntityID             string             `json:"entityId,omitempty"`
	EntitySource         *OrderSource       `json:"entitySource,omitempty"`
	SubscriptionID       string             `json:"subscriptionId,omitempty"`
	SubscriptionSnapshot json.RawMessage    `json:"subscriptionSnapshot,omitempty"`
	PaymentProvider      *PaymentProvider   `json:"paymentProvider,omitempty"`
	IPAddress            string             `json:"ipAddress,omitempty"`
	Meta                 json.RawMessage    `json:"meta,omitempty"`
	MarkAsTest           bool               `json:"markAsTest,omitempty"`
	Schedule             *Schedule          `json:"schedule,omitempty"`
	AutoPayment          json.RawMessage    `json:"autoPayment,omitempty"`
	RecurringProduct     json.RawMessage    `json:"recurringProduct,omitempty"`
	CanceledAt           Time               `json:"canceledAt,omitzero"`
	CanceledBy           string             `json:"canceledBy,omitempty"`
	TraceID              string             `json:"traceId,omitempty"`
	CreatedBy            string             `json:"createdBy,omitempty"`
	CreatedAt            Time               `json:"createdAt,omitzero"`
	UpdatedAt            Time               `json:"updatedAt,omitzero"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the subscription and keeps the raw bytes.
func (s *SubscriptionDetail) UnmarshalJSON(b []byte) error {
	type plain SubscriptionDetail
	return decodeKeepRaw(b, (*plain)(s), &s.Raw)
}

// Schedule is when a subscription charges: ExecuteAt is the next run.
type Schedule struct {
	ExecuteAt Time   `json:"executeAt,omitzero"`
	RRule     *RRule `json:"rrule,omitempty"`
}

// RRule is a subscription's recurrence rule (CustomRRuleOptionsDto).
type RRule struct {
	IntervalType string `json:"intervalType"` // yearly, monthly, weekly, daily, hourly, minutely, secondly
	Interval     int    `json:"interval"`
	StartDate    string `json:"startDate"` // YYYY-MM-DD
	StartTime    string `json:"startTime,omitempty"`
	EndDate      string `json:"endDate,omitempty"`
	EndTime      string `json:"endTime,omitempty"`
	DayOfMonth   int    `json:"dayOfMonth,omitempty"`
	DayOfWeek    string `json:"dayOfWeek,omitempty"`
	NumOfWeek    int    `json:"numOfWeek,omitempty"`
	MonthOfYear  string `json:"monthOfYear,omitempty"`
	Count        int    `json:"count,omitempty"`
	DaysBefore   int    `json:"daysBefore,omitempty"`
}

// ListSubscriptionsParams selects subscriptions. LocationID is required.
type ListSubscriptionsParams struct {
	LocationID       string
	EntityID         string
	PaymentMode      PaymentMode
	StartAt, EndAt   time.Time
	EntitySourceType string
	Search           string
	ContactID        string
	ID               string
	Limit, Offset    int
	// GetPaymentsCollectedCount asks GHL to count each subscription's
	// collected payments.
	GetPaymentsCollectedCount bool
}

func (p ListSubscriptionsParams) query() url.Values {
	q := locationQuery(p.LocationID)
	setIf(q, "entityId", p.EntityID)
	setIf(q, "paymentMode", string(p.PaymentMode))
	setDateIf(q, "startAt", p.StartAt)
	setDateIf(q, "endAt", p.EndAt)
	setIf(q, "entitySourceType", p.EntitySourceType)
	setIf(q, "search", p.Search)
	setIf(q, "contactId", p.ContactID)
	setIf(q, "id", p.ID)
	setIntIf(q, "limit", p.Limit)
	setIntIf(q, "offset", p.Offset)
	if p.GetPaymentsCollectedCount {
		q.Set("getPaymentsCollectedCount", "true")
	}
	return q
}

// ListSubscriptions returns one page of subscriptions, newest first.
func (c *Client) ListSubscriptions(ctx context.Context, p ListSubscriptionsParams) (Page[Subscription], error) {
	if err := requireLocation(OpListSubscriptions, p.LocationID); err != nil {
		return Page[Subscription]{}, err
	}
	var resp listResponse[Subscription]
	err := c.do(ctx, call{op: OpListSubscriptions, location: p.LocationID, query: p.query()}, &resp)
	return resp.page(), err
}

// Subscriptions iterates over every subscription matching p.
func (c *Client) Subscriptions(ctx context.Context, p ListSubscriptionsParams) iter.Seq2[Subscription, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[Subscription], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListSubscriptions(ctx, p)
	})
}

// GetSubscription returns one subscription with its schedule.
func (c *Client) GetSubscription(ctx context.Context, locationID, subscriptionID string) (*SubscriptionDetail, error) {
	if err := requireLocation(OpGetSubscription, locationID); err != nil {
		return nil, err
	}
	var s SubscriptionDetail
	if err := c.do(ctx, call{op: OpGetSubscription, location: locationID, pathArgs: []string{subscriptionID}, query: locationQuery(locationID)}, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
