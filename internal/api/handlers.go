package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/rankr"
)

// The parameters each kind of list takes.
var (
	pageParams   = []string{"locationId", "limit", "cursor", "createdFrom", "createdBefore"}
	recordParams = slices.Concat(pageParams, []string{"status", "deleted", "oldest", "orderId", "currency", "amountMin", "amountMax"})
	orderParams  = slices.Concat(recordParams, []string{"paymentStatus", "fulfillmentStatus", "toFulfill", "q"})
)

// recordQuery reads a list's query.
func recordQuery(r *http.Request, known []string) (app.RecordQuery, error) {
	q := newQuery(r, known...)
	rq := app.RecordQuery{Location: q.str("locationId"), Status: q.str("status"), Order: q.str("orderId"),
		PaymentStatus: q.str("paymentStatus"), FulfillmentStatus: q.str("fulfillmentStatus"), ToFulfill: q.bool("toFulfill"),
		Search: q.str("q"), CreatedFrom: q.time("createdFrom"), CreatedBefore: q.time("createdBefore"),
		Currency: q.str("currency"), AmountMin: q.str("amountMin"), AmountMax: q.str("amountMax"),
		Deleted: q.bool("deleted"), Oldest: q.bool("oldest"), Limit: q.limit(), Cursor: q.str("cursor")}
	return rq, q.err
}

// list serves a list of records.
func list[T any](s *Server, known []string, run func(*http.Request, app.RecordQuery) (app.Page[T], error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, err := recordQuery(r, known)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		p, err := run(r, q)
		s.answer(w, r, http.StatusOK, p, err)
	}
}

// show serves one record by id (and ?locationId, when ids could clash).
func show[T any](s *Server, run func(*http.Request, string, string) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := newQuery(r, "locationId")
		loc := q.str("locationId")
		if q.err != nil {
			s.writeError(w, r, q.err)
			return
		}
		v, err := run(r, loc, r.PathValue("id"))
		s.answer(w, r, http.StatusOK, v, err)
	}
}

func (s *Server) orders(w http.ResponseWriter, r *http.Request) {
	list(s, orderParams, func(r *http.Request, q app.RecordQuery) (app.Page[app.Order], error) {
		return s.app.Orders(r.Context(), caller(r), q)
	})(w, r)
}

func (s *Server) order(w http.ResponseWriter, r *http.Request) {
	show(s, func(r *http.Request, loc, id string) (app.OrderDetail, error) {
		return s.app.OrderShow(r.Context(), caller(r), loc, id)
	})(w, r)
}

func (s *Server) fulfillments(w http.ResponseWriter, r *http.Request) {
	list(s, slices.Concat(pageParams, []string{"orderId", "oldest"}), func(r *http.Request, q app.RecordQuery) (app.Page[app.Fulfillment], error) {
		return s.app.Fulfillments(r.Context(), caller(r), q)
	})(w, r)
}

func (s *Server) fulfillment(w http.ResponseWriter, r *http.Request) {
	show(s, func(r *http.Request, loc, id string) (app.Fulfillment, error) {
		return s.app.Fulfillment(r.Context(), caller(r), loc, id)
	})(w, r)
}

func (s *Server) transactions(w http.ResponseWriter, r *http.Request) {
	list(s, recordParams, func(r *http.Request, q app.RecordQuery) (app.Page[app.Transaction], error) {
		return s.app.Transactions(r.Context(), caller(r), q)
	})(w, r)
}

func (s *Server) transaction(w http.ResponseWriter, r *http.Request) {
	show(s, func(r *http.Request, loc, id string) (app.Transaction, error) {
		return s.app.Transaction(r.Context(), caller(r), loc, id)
	})(w, r)
}

func (s *Server) subscriptions(w http.ResponseWriter, r *http.Request) {
	list(s, recordParams, func(r *http.Request, q app.RecordQuery) (app.Page[app.Subscription], error) {
		return s.app.Subscriptions(r.Context(), caller(r), q)
	})(w, r)
}

func (s *Server) subscription(w http.ResponseWriter, r *http.Request) {
	show(s, func(r *http.Request, loc, id string) (app.Subscription, error) {
		return s.app.Subscription(r.Context(), caller(r), loc, id)
	})(w, r)
}

func (s *Server) invoices(w http.ResponseWriter, r *http.Request) {
	list(s, recordParams, func(r *http.Request, q app.RecordQuery) (app.Page[app.Invoice], error) {
		return s.app.Invoices(r.Context(), caller(r), q)
	})(w, r)
}

func (s *Server) invoice(w http.ResponseWriter, r *http.Request) {
	show(s, func(r *http.Request, loc, id string) (app.Invoice, error) {
		return s.app.Invoice(r.Context(), caller(r), loc, id)
	})(w, r)
}

func (s *Server) connections(w http.ResponseWriter, r *http.Request) {
	if q := newQuery(r); q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	list, err := s.app.Connections(r.Context(), caller(r))
	s.answer(w, r, http.StatusOK, map[string]any{"items": list}, err)
}

func (s *Server) connection(w http.ResponseWriter, r *http.Request) {
	st, err := s.app.Connection(r.Context(), caller(r), r.PathValue("locationId"))
	s.answer(w, r, http.StatusOK, st, err)
}

func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	var req app.ConnectRequest
	if err := decode(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	conn, err := s.app.Connect(r.Context(), caller(r), r.PathValue("locationId"), req)
	s.answer(w, r, http.StatusOK, conn, err)
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request) {
	conn, err := s.app.Pause(r.Context(), caller(r), r.PathValue("locationId"))
	s.answer(w, r, http.StatusOK, conn, err)
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request) {
	conn, err := s.app.Resume(r.Context(), caller(r), r.PathValue("locationId"))
	s.answer(w, r, http.StatusOK, conn, err)
}

func (s *Server) resync(w http.ResponseWriter, r *http.Request) {
	j, err := s.app.StartResync(r.Context(), caller(r), r.PathValue("locationId"))
	s.accepted(w, r, j, err)
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "after", "locationId", "limit", "newest")
	eq := app.EventQuery{After: q.int64("after"), Location: q.str("locationId"), Limit: q.limit(), Newest: q.bool("newest")}
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	p, err := s.app.Events(r.Context(), caller(r), eq)
	s.answer(w, r, http.StatusOK, p, err)
}

func (s *Server) requestPush(w http.ResponseWriter, r *http.Request) {
	var req app.PushRequest
	if err := decode(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	push, created, err := s.app.RequestPush(r.Context(), caller(r), req)
	status := http.StatusOK // the push this request repeats
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", Prefix+"/pushes/"+push.ID)
	}
	s.answer(w, r, status, push, err)
}

func (s *Server) pushes(w http.ResponseWriter, r *http.Request) {
	list(s, slices.Concat(pageParams, []string{"status", "orderId"}), func(r *http.Request, q app.RecordQuery) (app.Page[rankr.FulfillmentPush], error) {
		return s.app.Pushes(r.Context(), caller(r), q)
	})(w, r)
}

func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	p, err := s.app.Push(r.Context(), caller(r), r.PathValue("id"))
	s.answer(w, r, http.StatusOK, p, err)
}

func (s *Server) notices(w http.ResponseWriter, r *http.Request) {
	list(s, slices.Concat(pageParams, []string{"status"}), func(r *http.Request, q app.RecordQuery) (app.Page[rankr.Notice], error) {
		return s.app.Notices(r.Context(), caller(r), q)
	})(w, r)
}

func (s *Server) retryNotice(w http.ResponseWriter, r *http.Request) {
	n, err := s.app.RetryNotice(r.Context(), caller(r), r.PathValue("id"))
	s.answer(w, r, http.StatusOK, n, err)
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "locationId", "since", "exceptionsOnly")
	rq := app.ReportQuery{Location: q.str("locationId"), Since: q.time("since"), ExceptionsOnly: q.bool("exceptionsOnly")}
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	rep, err := s.app.ReconcileReport(r.Context(), caller(r), rq)
	s.answer(w, r, http.StatusOK, rep, err)
}

func (s *Server) exceptions(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "locationId", "kind", "resolved", "limit", "cursor")
	eq := app.ExceptionQuery{Location: q.str("locationId"), Kind: q.str("kind"), Resolved: q.bool("resolved"),
		Limit: q.limit(), Cursor: q.str("cursor")}
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	p, err := s.app.Exceptions(r.Context(), caller(r), eq)
	s.answer(w, r, http.StatusOK, p, err)
}

func (s *Server) reconcileRun(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Full       bool   `json:"full"`
		LocationID string `json:"locationId"`
	}
	if err := decode(w, r, &req, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := s.app.StartReconcile(r.Context(), caller(r), req.Full, req.LocationID)
	s.accepted(w, r, j, err)
}

func (s *Server) endpoints(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "removed")
	removed := q.bool("removed")
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	list, err := s.app.Endpoints(r.Context(), caller(r), removed)
	s.answer(w, r, http.StatusOK, map[string]any{"items": list}, err)
}

func (s *Server) endpoint(w http.ResponseWriter, r *http.Request) {
	e, err := s.app.Endpoint(r.Context(), caller(r), r.PathValue("id"))
	s.answer(w, r, http.StatusOK, e, err)
}

// endpointWithSecret is an endpoint just made or given a new secret: the
// secret is shown this once.
type endpointWithSecret struct {
	Endpoint any    `json:"endpoint"`
	Secret   string `json:"secret"`
}

func (s *Server) addEndpoint(w http.ResponseWriter, r *http.Request) {
	var req app.EndpointRequest
	if err := decode(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, secret, err := s.app.AddEndpoint(r.Context(), caller(r), req)
	if err == nil {
		w.Header().Set("Location", Prefix+"/webhooks/endpoints/"+e.ID)
	}
	s.answer(w, r, http.StatusCreated, endpointWithSecret{Endpoint: e, Secret: secret}, err)
}

func (s *Server) removeEndpoint(w http.ResponseWriter, r *http.Request) {
	e, err := s.app.RemoveEndpoint(r.Context(), caller(r), r.PathValue("id"))
	s.answer(w, r, http.StatusOK, e, err)
}

func (s *Server) enableEndpoint(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, err := s.app.SetEndpointEnabled(r.Context(), caller(r), r.PathValue("id"), enabled)
		s.answer(w, r, http.StatusOK, e, err)
	}
}

func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Grace string `json:"grace"`
	}
	if err := decode(w, r, &req, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	grace := time.Duration(0)
	if req.Grace != "" {
		var err error
		if grace, err = app.ParseSpan(req.Grace); err != nil {
			s.writeError(w, r, &app.FieldError{Field: "grace", Message: "want a length of time such as 24h or 3d"})
			return
		}
	}
	e, secret, err := s.app.RotateEndpointSecret(r.Context(), caller(r), r.PathValue("id"), grace)
	s.answer(w, r, http.StatusOK, endpointWithSecret{Endpoint: e, Secret: secret}, err)
}

func (s *Server) deliveries(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "endpointId", "state", "locationId", "limit", "cursor")
	dq := app.DeliveryQuery{Endpoint: q.str("endpointId"), State: q.str("state"), Location: q.str("locationId"),
		Limit: q.limit(), Cursor: q.str("cursor")}
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	p, err := s.app.Deliveries(r.Context(), caller(r), dq)
	s.answer(w, r, http.StatusOK, p, err)
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request) {
	var req app.ReplayRequest
	if err := decode(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := s.app.StartReplay(r.Context(), caller(r), req)
	s.accepted(w, r, j, err)
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.app.Keys(r.Context(), caller(r))
	s.answer(w, r, http.StatusOK, map[string]any{"items": keys}, err)
}

func (s *Server) key(w http.ResponseWriter, r *http.Request) {
	k, err := s.app.Key(r.Context(), caller(r), r.PathValue("id"))
	s.answer(w, r, http.StatusOK, k, err)
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var req app.KeyCreateRequest
	if err := decode(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.app.CreateKey(r.Context(), caller(r), req)
	if err == nil {
		w.Header().Set("Location", Prefix+"/keys/"+k.Key.ID)
	}
	s.answer(w, r, http.StatusCreated, k, err)
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	k, err := s.app.RevokeKey(r.Context(), caller(r), r.PathValue("id"))
	s.answer(w, r, http.StatusOK, k, err)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "after", "newest", "before", "since", "actor", "action", "limit")
	aq := app.AuditQuery{After: q.int64("after"), Newest: q.bool("newest"), Before: q.int64("before"), Since: q.time("since"),
		Actor: q.str("actor"), Action: q.str("action"), Limit: q.limit()}
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	p, err := s.app.AuditLog(r.Context(), caller(r), aq)
	s.answer(w, r, http.StatusOK, p, err)
}
