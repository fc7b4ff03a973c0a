package api

import (
	"encoding/json"
	"net/http"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/catalog"
)

// catalogList answers the catalog, filtered, with its counts: the same
// document rankr catalog export writes when nothing is filtered out.
func (s *Server) catalogList(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "kind", "source", "q")
	cq := app.CatalogQuery{Kind: catalog.Kind(q.str("kind")), Source: catalog.Source(q.str("source")), Search: q.str("q")}
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	items, err := s.app.CatalogList(cq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	exp := s.app.CatalogExport()
	exp.Items = items
	writeJSON(w, http.StatusOK, exp)
}

func (s *Server) catalogItem(w http.ResponseWriter, r *http.Request) {
	spec, err := s.app.CatalogItem(r.PathValue("id"))
	s.answer(w, r, http.StatusOK, spec, err)
}

// catalogRun runs an action; dry says whether this route is the dry
// run's (which a key with catalog:read may ask for: it changes nothing).
func (s *Server) catalogRun(dry bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			LocationID string          `json:"locationId"`
			Input      json.RawMessage `json:"input"`
		}
		if err := decode(w, r, &req, true); err != nil {
			s.writeError(w, r, err)
			return
		}
		run, err := s.app.CatalogRun(r.Context(), caller(r), app.CatalogRunRequest{Item: r.PathValue("id"),
			Location: req.LocationID, Input: req.Input, DryRun: dry})
		s.answer(w, r, http.StatusOK, run, err)
	}
}
