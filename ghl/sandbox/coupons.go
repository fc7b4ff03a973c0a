package sandbox

import (
	"strings"

	"github.com/rankr/rankr/ghl"
)

func (s *Server) listCoupons(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(100, false)
	if e != nil {
		return nil, e
	}
	status, search := req.query.Get("status"), req.query.Get("search")
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	match := func(c *couponRec) bool {
		return (status == "" || string(couponOf(c, req.now).Status) == status) &&
			(search == "" || containsFold(search, c.c.Name, c.c.Code))
	}
	render := func(c *couponRec) ghl.Coupon { return couponOf(c, req.now) }
	items, total := collect(l.coupons, limit, offset, match, render)
	return listBody[ghl.Coupon]{Data: items, TotalCount: total, TraceID: s.traceID()}, nil
}

type couponBody struct {
	ID                          string                           `json:"id"`
	Name                        string                           `json:"name"`
	Code                        string                           `json:"code"`
	DiscountType                ghl.DiscountType                 `json:"discountType"`
	DiscountValue               ghl.Number                       `json:"discountValue"`
	StartDate                   string                           `json:"startDate"`
	EndDate                     string                           `json:"endDate"`
	UsageLimit                  ghl.Number                       `json:"usageLimit"`
	ProductIDs                  []string                         `json:"productIds"`
	ApplyToFuturePayments       *bool                            `json:"applyToFuturePayments"`
	ApplyToFuturePaymentsConfig *ghl.ApplyToFuturePaymentsConfig `json:"applyToFuturePaymentsConfig"`
	LimitPerCustomer            bool                             `json:"limitPerCustomer"`
}

// validate checks a create or update body the way GHL's validators do and
// applies it to c.
func (b couponBody) applyTo(c *ghl.Coupon) *apiError {
	var msgs []string
	if b.Name == "" {
		msgs = append(msgs, "name should not be empty")
	}
	if b.Code == "" {
		msgs = append(msgs, "code should not be empty")
	}
	if b.DiscountType != ghl.DiscountPercentage && b.DiscountType != ghl.DiscountAmount {
		msgs = append(msgs, "discountType must be one of the following values: percentage, amount")
	}
	v, ok := b.DiscountValue.Float64()
	if !ok || v <= 0 || (b.DiscountType == ghl.DiscountPercentage && v > 100) {
		msgs = append(msgs, "discountValue must be a positive number (at most 100 for a percentage)")
	}
	start, err := ghl.ParseTime(b.StartDate)
	if err != nil || start.IsZero() {
		msgs = append(msgs, "startDate must be a valid ISO 8601 date string")
	}
	end, err := ghl.ParseTime(b.EndDate)
	if err != nil {
		msgs = append(msgs, "endDate must be a valid ISO 8601 date string")
	}
	if len(msgs) > 0 {
		return unprocessable(msgs...)
	}
	if !end.IsZero() && !end.After(start.Time) {
		return unprocessable("endDate must be after startDate")
	}
	c.Name, c.Code, c.DiscountType, c.DiscountValue = b.Name, strings.ToUpper(b.Code), b.DiscountType, b.DiscountValue
	c.StartDate, c.EndDate, c.UsageLimit, c.ProductIDs = start, end, b.UsageLimit, b.ProductIDs
	c.ApplyToFuturePayments = b.ApplyToFuturePayments == nil || *b.ApplyToFuturePayments
	c.ApplyToFuturePaymentsConfig = b.ApplyToFuturePaymentsConfig
	if c.ApplyToFuturePaymentsConfig == nil {
		c.ApplyToFuturePaymentsConfig = &ghl.ApplyToFuturePaymentsConfig{Type: "forever"}
	}
	c.LimitPerCustomer = ghl.NumberFromInt(0)
	if b.LimitPerCustomer {
		c.LimitPerCustomer = ghl.NumberFromInt(1)
	}
	return nil
}

func (l *location) couponByCode(code string) *couponRec {
	for _, c := range l.coupons {
		if strings.EqualFold(c.c.Code, code) {
			return c
		}
	}
	return nil
}

func (l *location) couponByID(id string) *couponRec {
	for _, c := range l.coupons {
		if c.c.ID == id {
			return c
		}
	}
	return nil
}

func (s *Server) createCoupon(req *apiRequest) (any, *apiError) {
	var b couponBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &couponRec{c: ghl.Coupon{AltID: l.id, AltType: "location", UserID: "api"}}
	if e := b.applyTo(&c.c); e != nil {
		return nil, e
	}
	if l.couponByCode(c.c.Code) != nil {
		return nil, unprocessable("A coupon with code " + c.c.Code + " already exists")
	}
	c.c.ID = dice{l.rng}.objectID(req.now)
	c.c.CreatedAt, c.c.UpdatedAt = ghl.NewTime(req.now), ghl.NewTime(req.now)
	l.coupons = append(l.coupons, c)
	out := couponOf(c, req.now)
	out.TraceID = s.traceID()
	return out, nil
}

func (s *Server) updateCoupon(req *apiRequest) (any, *apiError) {
	var b couponBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if b.ID == "" {
		return nil, unprocessable("id should not be empty")
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.couponByID(b.ID)
	if c == nil {
		return nil, notFound("Coupon not found")
	}
	next := c.c
	if e := b.applyTo(&next); e != nil {
		return nil, e
	}
	if other := l.couponByCode(next.Code); other != nil && other != c {
		return nil, unprocessable("A coupon with code " + next.Code + " already exists")
	}
	next.UpdatedAt = ghl.NewTime(req.now)
	c.c = next
	out := couponOf(c, req.now)
	out.TraceID = s.traceID()
	return out, nil
}

func (s *Server) deleteCoupon(req *apiRequest) (any, *apiError) {
	id, e := req.param("body", "id")
	if e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, c := range l.coupons {
		if c.c.ID == id {
			l.coupons = append(l.coupons[:i:i], l.coupons[i+1:]...)
			return map[string]any{"success": true, "traceId": s.traceID()}, nil
		}
	}
	return nil, notFound("Coupon not found")
}

func (s *Server) getCoupon(req *apiRequest) (any, *apiError) {
	id, code := req.query.Get("id"), req.query.Get("code")
	if id == "" || code == "" {
		return nil, unprocessable("id should not be empty", "code should not be empty")
	}
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	c := l.couponByID(id)
	if c == nil || !strings.EqualFold(c.c.Code, code) {
		return nil, notFound("Coupon not found")
	}
	out := couponOf(c, req.now)
	out.TraceID = s.traceID()
	return out, nil
}
