package sandbox

import "github.com/rankr/rankr/ghl"

func (s *Server) listTransactions(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(10, false)
	if e != nil {
		return nil, e
	}
	win, e := req.window()
	if e != nil {
		return nil, e
	}
	q := req.query
	srcType, srcSub, search := q.Get("entitySourceType"), q.Get("entitySourceSubType"), q.Get("search")
	subID, entityID, contactID := q.Get("subscriptionId"), q.Get("entityId"), q.Get("contactId")
	live := req.liveFilter()

	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	match := func(t *txnRec) bool {
		return !t.deleted && live(t.live) && win.contains(t.createdAt) &&
			(srcType == "" || string(t.src.typ) == srcType) &&
			(srcSub == "" || t.src.subType == srcSub) &&
			(subID == "" || t.subID == subID) &&
			(entityID == "" || t.entityID == entityID) &&
			(contactID == "" || t.contact.id == contactID) &&
			(search == "" || containsFold(search, t.id, t.chargeID, t.contact.name(), t.contact.email))
	}
	if req.unfiltered("paymentMode", "startAt", "endAt", "entitySourceType", "entitySourceSubType", "search", "subscriptionId", "entityId", "contactId") {
		match = nil
	}
	items, total := collect(l.txns, limit, offset, match, l.txnItem)
	return listBody[ghl.Transaction]{Data: items, TotalCount: total}, nil
}

func (s *Server) getTransaction(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	t := l.txnByID[req.r.PathValue("transactionId")]
	if t == nil || t.deleted {
		return nil, notFound("Transaction not found")
	}
	d := l.txnDetail(t)
	d.TraceID = s.traceID()
	return d, nil
}

func (s *Server) listSubscriptions(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(10, false)
	if e != nil {
		return nil, e
	}
	win, e := req.window()
	if e != nil {
		return nil, e
	}
	q := req.query
	entityID, srcType, search := q.Get("entityId"), q.Get("entitySourceType"), q.Get("search")
	contactID, id := q.Get("contactId"), q.Get("id")
	live := req.liveFilter()

	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	match := func(sub *subRec) bool {
		return !sub.deleted && live(sub.live) && win.contains(sub.createdAt) &&
			(entityID == "" || sub.orderID == entityID) &&
			(srcType == "" || string(sub.src.typ) == srcType) &&
			(contactID == "" || sub.contact.id == contactID) &&
			(id == "" || sub.id == id) &&
			(search == "" || containsFold(search, sub.id, sub.providerSubID, sub.contact.name(), sub.contact.email))
	}
	if req.unfiltered("entityId", "paymentMode", "startAt", "endAt", "entitySourceType", "search", "contactId", "id") {
		match = nil
	}
	items, total := collect(l.subs, limit, offset, match, l.subItem)
	return listBody[ghl.Subscription]{Data: items, TotalCount: total}, nil
}

func (s *Server) getSubscription(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	sub := l.subByID[req.r.PathValue("subscriptionId")]
	if sub == nil || sub.deleted {
		return nil, notFound("Subscription not found")
	}
	d := l.subDetail(sub)
	d.TraceID = s.traceID()
	return d, nil
}
