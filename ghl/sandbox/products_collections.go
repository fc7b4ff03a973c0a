package sandbox

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
)

// --- Collections ------------------------------------------------------------

type collectionBody struct {
	CollectionID string   `json:"collectionId"`
	Name         *string  `json:"name"`
	Slug         *string  `json:"slug"`
	Image        *string  `json:"image"`
	SEO          *ghl.SEO `json:"seo"`
}

// applyTo validates the body (required: creating) and applies it to c.
func (b collectionBody) applyTo(sh *shop, c *ghl.Collection, creating bool) *apiError {
	var msgs []string
	if (creating || b.Name != nil) && (b.Name == nil || strings.TrimSpace(*b.Name) == "") {
		msgs = append(msgs, "name should not be empty")
	}
	if (creating || b.Slug != nil) && (b.Slug == nil || *b.Slug == "") {
		msgs = append(msgs, "slug should not be empty")
	}
	if b.Slug != nil && *b.Slug != "" && slugOf(*b.Slug) != *b.Slug {
		msgs = append(msgs, "slug must be lowercase letters, digits and dashes")
	}
	if len(msgs) > 0 {
		return unprocessable(msgs...)
	}
	if b.Slug != nil {
		for _, x := range sh.collections {
			if x.c.Slug == *b.Slug && x.c.ID != c.ID {
				return unprocessable("A collection with slug " + *b.Slug + " already exists")
			}
		}
		c.Slug = *b.Slug
	}
	if b.Name != nil {
		c.Name = *b.Name
	}
	if b.Image != nil {
		c.Image = *b.Image
	}
	if b.SEO != nil {
		c.SEO = *b.SEO
	}
	return nil
}

func (s *Server) listCollections(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(10, false)
	if e != nil {
		return nil, e
	}
	ids, name := req.listParam("collectionIds"), req.query.Get("name")
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	match := func(c *collectionRec) bool {
		return (len(ids) == 0 || slices.Contains(ids, c.c.ID)) && (name == "" || containsFold(name, c.c.Name))
	}
	items, total := collect(l.shop.collections, limit, offset, match, func(c *collectionRec) ghl.Collection { return c.c })
	return map[string]any{"data": items, "total": total}, nil
}

func (req *apiRequest) collectionOf() (*collectionRec, *apiError) {
	return found(req.loc.shop.collection(req.r.PathValue("collectionId")), "Collection not found")
}

func (s *Server) getCollection(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	c, e := req.collectionOf()
	if e != nil {
		return nil, e
	}
	return map[string]any{"data": c.c, "status": true}, nil
}

func (s *Server) createCollection(req *apiRequest) (any, *apiError) {
	var b collectionBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sh := l.shop
	now := req.now.UTC().Truncate(time.Millisecond)
	c := &collectionRec{c: ghl.Collection{AltID: l.id, SEO: ghl.SEO{}}}
	if e := b.applyTo(sh, &c.c, true); e != nil {
		return nil, e
	}
	switch {
	case b.CollectionID == "":
		c.c.ID = dice{l.rng}.objectID(now)
	case !objectIDPattern.MatchString(b.CollectionID):
		return nil, unprocessable("collectionId must be a mongodb id")
	case sh.collection(b.CollectionID) != nil:
		return nil, unprocessable("A collection with id " + b.CollectionID + " already exists")
	default:
		c.c.ID = b.CollectionID
	}
	c.c.CreatedAt, c.c.UpdatedAt = ghl.NewTime(now), ghl.NewTime(now)
	sh.collections = append(sh.collections, c)
	return map[string]any{"data": c.c}, nil
}

func (s *Server) updateCollection(req *apiRequest) (any, *apiError) {
	var b collectionBody
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	c, e := req.collectionOf()
	if e != nil {
		return nil, e
	}
	next := c.c
	if e := b.applyTo(l.shop, &next, false); e != nil {
		return nil, e
	}
	touch(&next.UpdatedAt.Time, req.now)
	c.c = next
	return done("Collection updated successfully"), nil
}

func (s *Server) deleteCollection(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	c, e := req.collectionOf()
	if e != nil {
		return nil, e
	}
	sh := l.shop
	sh.collections = slices.DeleteFunc(sh.collections, func(x *collectionRec) bool { return x == c })
	// Its products stay, outside it.
	for _, pr := range slices.Clone(sh.products) {
		if slices.Contains(pr.p.CollectionIDs, c.c.ID) {
			l.replaceProduct(pr, func(n *productRec) {
				n.p.CollectionIDs = slices.DeleteFunc(n.p.CollectionIDs, func(id string) bool { return id == c.c.ID })
				touch(&n.p.UpdatedAt.Time, req.now)
			})
		}
	}
	return done("Collection deleted successfully"), nil
}

// --- Reviews ----------------------------------------------------------------

var reviewStatuses = []ghl.ReviewStatus{ghl.ReviewPending, ghl.ReviewApproved, ghl.ReviewRejected}

// reviewFilter reads the filters the list and the count share.
func (req *apiRequest) reviewFilter() (func(*reviewRec) bool, *apiError) {
	products, stores := req.listParam("productId"), req.listParam("storeId")
	rating := 0
	if v := req.query.Get("rating"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5 {
			return nil, unprocessable("rating must be a number from 1 to 5")
		}
		rating = n
	}
	var from, to time.Time
	for _, p := range []struct {
		key string
		dst *time.Time
	}{{"startDate", &from}, {"endDate", &to}} {
		if v := req.query.Get(p.key); v != "" {
			t, err := ghl.ParseTime(v)
			if err != nil {
				return nil, unprocessable(p.key + " must be a valid ISO 8601 date string")
			}
			*p.dst = t.Time
		}
	}
	return func(r *reviewRec) bool {
		stars, _, _ := r.r.Rating.Round(0)
		at := r.r.CreatedAt.Time
		return (len(products) == 0 || slices.Contains(products, r.r.ProductID)) &&
			(len(stores) == 0 || slices.Contains(stores, r.r.StoreID)) &&
			(rating == 0 || stars == int64(rating)) &&
			(from.IsZero() || !at.Before(from)) && (to.IsZero() || !at.After(to))
	}, nil
}

func (s *Server) listReviews(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(0, false)
	if e != nil {
		return nil, e
	}
	field, order := req.query.Get("sortField"), req.query.Get("sortOrder")
	if field != "" && field != "createdAt" && field != "rating" {
		return nil, unprocessable("sortField must be one of the following values: createdAt, rating")
	}
	if order != "" && order != "asc" && order != "desc" {
		return nil, unprocessable("sortOrder must be one of the following values: asc, desc")
	}
	match, e := req.reviewFilter()
	if e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	var found []*reviewRec
	for _, r := range l.shop.reviews {
		if match(r) {
			found = append(found, r)
		}
	}
	// Oldest first as stored; by rating, ties stay oldest first.
	if field == "rating" {
		slices.SortStableFunc(found, func(a, b *reviewRec) int {
			x, _ := a.r.Rating.Scaled(1)
			y, _ := b.r.Rating.Scaled(1)
			return int(x - y)
		})
	}
	if order != "asc" {
		slices.Reverse(found)
	}
	out := []ghl.Review{}
	for _, r := range pageOf(found, limit, offset) {
		out = append(out, r.r)
	}
	return map[string]any{"data": out, "total": len(found)}, nil
}

func (s *Server) countReviews(req *apiRequest) (any, *apiError) {
	match, e := req.reviewFilter()
	if e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	counts := map[ghl.ReviewStatus]int{}
	for _, r := range l.shop.reviews {
		if match(r) {
			counts[r.r.Status]++
		}
	}
	out := []ghl.ReviewCount{}
	for _, st := range reviewStatuses {
		out = append(out, ghl.ReviewCount{Status: st, Count: counts[st]})
	}
	return map[string]any{"data": out}, nil
}

func validStatus(st ghl.ReviewStatus) *apiError {
	if !slices.Contains(reviewStatuses, st) {
		return unprocessable("status must be one of the following values: pending, approved, rejected")
	}
	return nil
}

func (s *Server) updateReview(req *apiRequest) (any, *apiError) {
	var b struct {
		ProductID string            `json:"productId"`
		Status    ghl.ReviewStatus  `json:"status"`
		Reply     []ghl.ReviewReply `json:"reply"`
		Rating    *ghl.Number       `json:"rating"`
		Headline  *string           `json:"headline"`
		Detail    *string           `json:"detail"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if b.ProductID == "" {
		return nil, unprocessable("productId should not be empty")
	}
	if e := validStatus(b.Status); e != nil {
		return nil, e
	}
	for i, rp := range b.Reply {
		if len(rp.Headline) > 200 || len(rp.Comment) > 5000 || rp.User.Name == "" || len(rp.User.Name) > 100 || rp.User.Email == "" {
			return nil, unprocessable(fmt.Sprintf("reply.%d must have a headline (at most 200), a comment (at most 5000) and a user with a name and an email", i))
		}
	}
	if b.Rating != nil {
		if v, ok := b.Rating.Float64(); !ok || v < 1 || v > 5 {
			return nil, unprocessable("rating must be a number from 1 to 5")
		}
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.shop.review(req.r.PathValue("reviewId"))
	if r == nil || r.r.ProductID != b.ProductID {
		return nil, notFound("Review not found")
	}
	r.r.Status = b.Status
	if b.Reply != nil {
		r.r.Reply = b.Reply
	}
	if b.Rating != nil {
		r.r.Rating = *b.Rating
	}
	if b.Headline != nil {
		r.r.Headline = *b.Headline
	}
	if b.Detail != nil {
		r.r.Detail = *b.Detail
	}
	touch(&r.r.UpdatedAt.Time, req.now)
	return done("Review updated successfully"), nil
}

func (s *Server) deleteReview(req *apiRequest) (any, *apiError) {
	productID := req.query.Get("productId")
	if productID == "" {
		return nil, unprocessable("productId should not be empty")
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sh := l.shop
	r := sh.review(req.r.PathValue("reviewId"))
	if r == nil || r.r.ProductID != productID {
		return nil, notFound("Review not found")
	}
	sh.reviews = slices.DeleteFunc(sh.reviews, func(x *reviewRec) bool { return x == r })
	return done("Review deleted successfully"), nil
}

func (s *Server) bulkUpdateReviews(req *apiRequest) (any, *apiError) {
	var b struct {
		Reviews []ghl.ReviewRef `json:"reviews"`
		Status  json.RawMessage `json:"status"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	var st ghl.ReviewStatus
	if json.Unmarshal(b.Status, &st) != nil {
		return nil, unprocessable("status must be one of the following values: pending, approved, rejected")
	}
	if e := validStatus(st); e != nil {
		return nil, e
	}
	if len(b.Reviews) == 0 {
		return nil, unprocessable("reviews should not be empty")
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	sh := l.shop
	recs := make([]*reviewRec, len(b.Reviews))
	for i, ref := range b.Reviews {
		if ref.ReviewID == "" || ref.ProductID == "" || ref.StoreID == "" {
			return nil, unprocessable(fmt.Sprintf("reviews.%d must have a reviewId, a productId and a storeId", i))
		}
		r := sh.review(ref.ReviewID)
		if r == nil || r.r.ProductID != ref.ProductID || r.r.StoreID != ref.StoreID {
			return nil, notFound("Review not found: " + ref.ReviewID)
		}
		recs[i] = r
	}
	for _, r := range recs {
		r.r.Status = st
		touch(&r.r.UpdatedAt.Time, req.now)
	}
	return done(fmt.Sprintf("%d reviews updated successfully", len(recs))), nil
}
