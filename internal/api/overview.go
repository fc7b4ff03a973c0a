package api

import "net/http"

// overview serves the dashboard's overview (see app.Overview): per
// location sync lag, budget and open exceptions, and the money collected
// and outstanding today and this month.
func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	if q := newQuery(r); q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	ov, err := s.app.Overview(r.Context(), caller(r))
	s.answer(w, r, http.StatusOK, ov, err)
}
