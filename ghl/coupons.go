package ghl

import (
	"context"
	"encoding/json"
	"iter"
	"time"
)

// CouponStatus says whether a coupon is usable now.
type CouponStatus string

// Coupon statuses.
const (
	CouponScheduled CouponStatus = "scheduled"
	CouponActive    CouponStatus = "active"
	CouponExpired   CouponStatus = "expired"
)

// DiscountType says how a coupon's DiscountValue applies.
type DiscountType string

// Discount types.
const (
	DiscountPercentage DiscountType = "percentage"
	DiscountAmount     DiscountType = "amount"
)

// Coupon is a discount code (CouponDto).
type Coupon struct {
	ID                          string                       `json:"_id"`
	UsageCount                  int                          `json:"usageCount"`
	LimitPerCustomer            Number                       `json:"limitPerCustomer"` // a number in responses, a boolean in requests
	AltID                       string                       `json:"altId"`
	AltType                     string                       `json:"altType"`
	Name                        string                       `json:"name"`
	Code                        string                       `json:"code"`
	DiscountType                DiscountType                 `json:"discountType"`
	DiscountValue               Number                       `json:"discountValue"`
	Status                      CouponStatus                 `json:"status"`
	StartDate                   Time                         `json:"startDate,omitzero"`
	EndDate                     Time                         `json:"endDate,omitzero"`
	UsageLimit                  Number                       `json:"usageLimit,omitempty"`
	ProductIDs                  []string                     `json:"productIds,omitempty"`
	ApplyToFuturePayments       bool                         `json:"applyToFuturePayments"`
	ApplyToFuturePaymentsConfig *ApplyToFuturePaymentsConfig `json:"applyToFuturePaymentsConfig"`
	UserID                      string                       `json:"userId,omitempty"`
	CreatedAt                   Time                         `json:"createdAt,omitzero"`
	UpdatedAt                   Time                         `json:"updatedAt,omitzero"`
	TraceID                     string                       `json:"traceId,omitempty"`

	// Raw is the record exactly as received; see Order.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the coupon and keeps the raw bytes.
func (c *Coupon) UnmarshalJSON(b []byte) error {
	type plain Coupon
	return decodeKeepRaw(b, (*plain)(c), &c.Raw)
}

// ApplyToFuturePaymentsConfig says how long a coupon keeps discounting a
// subscription: forever, or for Duration months.
type ApplyToFuturePaymentsConfig struct {
	Type         string `json:"type"` // forever or fixed
	Duration     int    `json:"duration,omitempty"`
	DurationType string `json:"durationType,omitempty"` // months
}

// ListCouponsParams selects coupons. LocationID is required.
type ListCouponsParams struct {
	LocationID    string
	Status        CouponStatus
	Search        string
	Limit, Offset int
}

// ListCoupons returns one page of coupons (GHL's default page is 100).
func (c *Client) ListCoupons(ctx context.Context, p ListCouponsParams) (Page[Coupon], error) {
	if err := requireLocation(OpListCoupons, p.LocationID); err != nil {
		return Page[Coupon]{}, err
	}
	q := locationQuery(p.LocationID)
	setIf(q, "status", string(p.Status))
	setIf(q, "search", p.Search)
	setIntIf(q, "limit", p.Limit)
	setIntIf(q, "offset", p.Offset)
	var resp listResponse[Coupon]
	err := c.do(ctx, call{op: OpListCoupons, location: p.LocationID, query: q}, &resp)
	return resp.page(), err
}

// Coupons iterates over every coupon matching p.
func (c *Client) Coupons(ctx context.Context, p ListCouponsParams) iter.Seq2[Coupon, error] {
	return paginate(ctx, p.Offset, c.pageSizeOr(p.Limit), func(ctx context.Context, limit, offset int) (Page[Coupon], error) {
		p.Limit, p.Offset = limit, offset
		return c.ListCoupons(ctx, p)
	})
}

// CouponParams describes a coupon to create or update. LocationID, Name,
// Code, DiscountType, DiscountValue and StartDate are required.
type CouponParams struct {
	LocationID                  string
	Name                        string
	Code                        string
	DiscountType                DiscountType
	DiscountValue               Number
	StartDate                   time.Time
	EndDate                     time.Time
	UsageLimit                  int
	ProductIDs                  []string
	ApplyToFuturePayments       *bool // GHL defaults to true
	ApplyToFuturePaymentsConfig *ApplyToFuturePaymentsConfig
	LimitPerCustomer            bool
}

type couponBody struct {
	AltID                       string                       `json:"altId"`
	AltType                     string                       `json:"altType"`
	ID                          string                       `json:"id,omitempty"`
	Name                        string                       `json:"name"`
	Code                        string                       `json:"code"`
	DiscountType                DiscountType                 `json:"discountType"`
	DiscountValue               Number                       `json:"discountValue"`
	StartDate                   Time                         `json:"startDate"`
	EndDate                     Time                         `json:"endDate,omitzero"`
	UsageLimit                  int                          `json:"usageLimit,omitempty"`
	ProductIDs                  []string                     `json:"productIds,omitempty"`
	ApplyToFuturePayments       *bool                        `json:"applyToFuturePayments,omitempty"`
	ApplyToFuturePaymentsConfig *ApplyToFuturePaymentsConfig `json:"applyToFuturePaymentsConfig,omitempty"`
	LimitPerCustomer            bool                         `json:"limitPerCustomer"`
}

func (p CouponParams) body(id string) couponBody {
	return couponBody{
		AltID: p.LocationID, AltType: "location", ID: id, Name: p.Name, Code: p.Code,
		DiscountType: p.DiscountType, DiscountValue: p.DiscountValue,
		StartDate: NewTime(p.StartDate), EndDate: NewTime(p.EndDate), UsageLimit: p.UsageLimit,
		ProductIDs: p.ProductIDs, ApplyToFuturePayments: p.ApplyToFuturePayments,
		ApplyToFuturePaymentsConfig: p.ApplyToFuturePaymentsConfig, LimitPerCustomer: p.LimitPerCustomer,
	}
}

// CreateCoupon creates a coupon. A coupon code is unique within a location.
func (c *Client) CreateCoupon(ctx context.Context, p CouponParams) (*Coupon, error) {
	if err := requireLocation(OpCreateCoupon, p.LocationID); err != nil {
		return nil, err
	}
	var cp Coupon
	if err := c.do(ctx, call{op: OpCreateCoupon, location: p.LocationID, body: p.body("")}, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// UpdateCoupon replaces the coupon id's settings with p.
func (c *Client) UpdateCoupon(ctx context.Context, id string, p CouponParams) (*Coupon, error) {
	if err := requireLocation(OpUpdateCoupon, p.LocationID); err != nil {
		return nil, err
	}
	var cp Coupon
	if err := c.do(ctx, call{op: OpUpdateCoupon, location: p.LocationID, body: p.body(id)}, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// DeleteCoupon deletes a coupon.
func (c *Client) DeleteCoupon(ctx context.Context, locationID, id string) error {
	if err := requireLocation(OpDeleteCoupon, locationID); err != nil {
		return err
	}
	body := struct {
		AltID   string `json:"altId"`
		AltType string `json:"altType"`
		ID      string `json:"id"`
	}{locationID, "location", id}
	var resp successResponse
	if err := c.do(ctx, call{op: OpDeleteCoupon, location: locationID, body: body}, &resp); err != nil {
		return err
	}
	return resp.check(OpDeleteCoupon, locationID)
}

// GetCoupon returns a coupon by id and code (GHL requires both).
func (c *Client) GetCoupon(ctx context.Context, locationID, id, code string) (*Coupon, error) {
	if err := requireLocation(OpGetCoupon, locationID); err != nil {
		return nil, err
	}
	q := locationQuery(locationID)
	q.Set("id", id)
	q.Set("code", code)
	var cp Coupon
	if err := c.do(ctx, call{op: OpGetCoupon, location: locationID, query: q}, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}
