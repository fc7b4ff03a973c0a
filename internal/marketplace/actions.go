package marketplace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// actionBody is what GHL POSTs when a workflow reaches a custom action.
type actionBody struct {
	Data   map[string]json.RawMessage `json:"data"`
	Extras struct {
		LocationID string `json:"locationId"`
		ContactID  string `json:"contactId"`
		WorkflowID string `json:"workflowId"`
	} `json:"extras"`
	Meta struct {
		Key     string `json:"key"`
		Version string `json:"version"`
	} `json:"meta"`
}

// repeatWindow is how long a repeated call answers the first answer.
const repeatWindow = 24 * time.Hour

func (s *Service) action(w http.ResponseWriter, r *http.Request) {
	if !s.guard(w, r) {
		return
	}
	var b actionBody
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&b); err != nil {
		badField(w, "body", "the body is not the JSON of a custom action call: "+err.Error())
		return
	}
	if b.Extras.LocationID == "" {
		badField(w, "extras.locationId", "extras.locationId is required")
		return
	}
	if !s.connected(w, r, b.Extras.LocationID) {
		return
	}
	key := r.PathValue("key")
	catalogKey, ok := s.actionKey(key)
	if !ok {
		access.WriteErrorDetails(w, http.StatusNotFound, "not_found", "rankr has no action "+key+
			" (keys are catalog action keys with _ for ., such as rankr_order_get)", map[string]any{"field": "key"})
		return
	}
	// The input is data without the branches GHL adds for multi-branch
	// actions; none of rankr's actions branches.
	delete(b.Data, "branches")
	if b.Data == nil {
		b.Data = map[string]json.RawMessage{}
	}
	input := mustJSON(b.Data) // encoding/json sorts the keys: the same data, the same bytes
	loc := b.Extras.LocationID
	h := sha256.New()
	for _, part := range []string{loc, b.Extras.WorkflowID, b.Extras.ContactID, catalogKey} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(input)
	hash := hex.EncodeToString(h.Sum(nil))

	ctx := r.Context()
	call, claimed, err := s.cfg.Store.MarketplaceActionClaim(ctx, store.MarketplaceActionClaimParams{Hash: hash, LocationID: loc,
		WorkflowID: b.Extras.WorkflowID, ActionKey: catalogKey, TTL: repeatWindow, Lease: s.cfg.ActionTimeout + 5*time.Second})
	if err != nil {
		s.fail(w, "recording a custom action call", err)
		return
	}
	if !claimed {
		if call.Done {
			w.Header().Set("X-Rankr-Repeat", "true")
			writeJSON(w, call.Status, call.Body)
			return
		}
		access.WriteError(w, http.StatusConflict, "in_progress", "the same call is running now; its answer will be repeated")
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ActionTimeout)
	defer cancel()
	caller := app.Caller{Locations: []string{loc}, Actor: rankr.AuditActor{Type: "ghl", ID: b.Extras.WorkflowID},
		Request: auditRequest(r)}
	run, err := s.cfg.App.CatalogRun(rctx, caller, app.CatalogRunRequest{Item: catalogKey, Location: loc, Input: input})
	status, body, remember := s.answer(run, err)
	if remember {
		err = s.cfg.Store.MarketplaceActionFinish(context.WithoutCancel(ctx), hash, status, body)
	} else {
		err = s.cfg.Store.MarketplaceActionRelease(context.WithoutCancel(ctx), hash)
	}
	if err != nil {
		s.log.Error("marketplace: recording a custom action's answer; a repeat may run it again", "action", catalogKey,
			"location", loc, "error", err)
	}
	writeJSON(w, status, body)
}

// answer is what GHL gets for a run, and whether a repeat gets the same:
// an output or a refusal of the input is the answer to that input; GHL
// failing or the run timing out is not, and a repeat runs it again (the
// catalog's own idempotency then keeps a write from happening twice).
func (s *Service) answer(run app.CatalogRun, err error) (int, []byte, bool) {
	var gerr *ghl.Error
	var ferr *app.FieldError
	switch {
	case err == nil:
		out := run.Output
		if len(out) == 0 {
			out = json.RawMessage("{}")
		}
		return http.StatusOK, out, true
	case errors.As(err, &gerr):
		return http.StatusBadGateway, mustJSON(map[string]any{"error": map[string]any{"code": "ghl_error",
			"message": err.Error(), "details": map[string]any{"status": gerr.StatusCode, "message": gerr.Message, "scope": gerr.Scope}}}), false
	case errors.As(err, &ferr), errors.Is(err, rankr.ErrInvalid):
		return http.StatusBadRequest, mustJSON(map[string]any{"error": map[string]any{"code": "invalid", "message": err.Error()}}), true
	case errors.Is(err, rankr.ErrNotFound):
		return http.StatusNotFound, mustJSON(map[string]any{"error": map[string]any{"code": "not_found", "message": err.Error()}}), true
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, mustJSON(map[string]any{"error": map[string]any{"code": "timeout",
			"message": "the action did not finish in time: " + err.Error()}}), false
	default:
		s.log.Error("marketplace: a custom action failed", "item", run.Item, "location", run.Location, "error", err)
		return http.StatusInternalServerError, mustJSON(map[string]any{"error": map[string]any{"code": "internal",
			"message": "the action failed: " + err.Error()}}), false
	}
}
