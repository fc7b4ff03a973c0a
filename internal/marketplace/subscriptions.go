package marketplace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

var errorsIs = errors.Is

// subscriptionBody is what GHL POSTs when a workflow adds, edits or
// removes one of the app's triggers.
type subscriptionBody struct {
	TriggerData struct {
		ID        string          `json:"id"`
		Key       string          `json:"key"`
		Filters   json.RawMessage `json:"filters"`
		EventType string          `json:"eventType"`
		TargetURL string          `json:"targetUrl"`
	} `json:"triggerData"`
	Meta struct {
		Key     string `json:"key"`
		Version string `json:"version"`
	} `json:"meta"`
	Extras struct {
		LocationID string `json:"locationId"`
		WorkflowID string `json:"workflowId"`
		CompanyID  string `json:"companyId"`
	} `json:"extras"`
}

const maxBody = 1 << 20

func (s *Service) subscription(w http.ResponseWriter, r *http.Request) {
	if !s.guard(w, r) {
		return
	}
	var b subscriptionBody
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&b); err != nil {
		badField(w, "body", "the body is not the JSON of a trigger subscription: "+err.Error())
		return
	}
	td := b.TriggerData
	switch {
	case b.Extras.LocationID == "":
		badField(w, "extras.locationId", "extras.locationId is required")
		return
	case td.ID == "":
		badField(w, "triggerData.id", "triggerData.id is required")
		return
	case td.EventType != "CREATED" && td.EventType != "UPDATED" && td.EventType != "DELETED":
		badField(w, "triggerData.eventType", fmt.Sprintf("triggerData.eventType is %q: want CREATED, UPDATED or DELETED", td.EventType))
		return
	}
	if !s.connected(w, r, b.Extras.LocationID) {
		return
	}
	ctx := r.Context()
	actor := rankr.AuditActor{Type: "ghl", ID: b.Extras.WorkflowID}
	audit := func(action string) *rankr.AuditEntry {
		return &rankr.AuditEntry{At: time.Now(), Actor: actor, Action: action, Outcome: rankr.AuditSuccess,
			Target:  rankr.AuditTarget{Type: "marketplace_trigger", ID: td.ID, LocationID: b.Extras.LocationID},
			Request: auditRequest(r)}
	}
	if td.EventType == "DELETED" {
		old, err := s.cfg.Store.MarketplaceTriggerGet(ctx, td.ID)
		if isNotFound(err) {
			// Nothing to deactivate: answered as done, since GHL may tell
			// twice, or about a trigger rankr refused.
			writeJSON(w, http.StatusOK, mustJSON(map[string]any{"triggerId": td.ID, "active": false}))
			return
		}
		if err == nil && old.LocationID != b.Extras.LocationID {
			access.WriteErrorDetails(w, http.StatusForbidden, "unknown_location", "trigger "+td.ID+" is not this location's",
				map[string]any{"field": "extras.locationId"})
			return
		}
		if err == nil {
			_, _, err = s.cfg.Store.MarketplaceTriggerDeactivate(ctx, td.ID, "removed from workflow "+b.Extras.WorkflowID+" in GHL",
				audit("marketplace.trigger_unsubscribed"))
		}
		if err != nil {
			s.fail(w, "deactivating a trigger subscription", err)
			return
		}
		writeJSON(w, http.StatusOK, mustJSON(map[string]any{"triggerId": td.ID, "active": false}))
		return
	}
	key := td.Key
	if key == "" {
		key = b.Meta.Key
	}
	catalogKey, ok := s.triggerKey(key)
	if !ok {
		badField(w, "triggerData.key", fmt.Sprintf("rankr has no trigger %q to subscribe to (keys are catalog trigger keys "+
			"with _ for ., such as derived_order_paid)", key))
		return
	}
	if err := s.checkTarget(td.TargetURL); err != nil {
		badField(w, "triggerData.targetUrl", err.Error())
		return
	}
	filters := td.Filters
	if len(filters) == 0 || string(filters) == "null" {
		filters = json.RawMessage("[]")
	}
	last, err := s.cfg.Store.EventList(ctx, store.EventListParams{LocationID: b.Extras.LocationID, Limit: 1, Newest: true})
	if err != nil {
		s.fail(w, "reading the change feed", err)
		return
	}
	var from int64
	if len(last) > 0 {
		from = last[len(last)-1].Seq
	}
	t, changed, err := s.cfg.Store.MarketplaceTriggerSave(ctx, store.MarketplaceTriggerSaveParams{TriggerID: td.ID,
		LocationID: b.Extras.LocationID, WorkflowID: b.Extras.WorkflowID, CompanyID: b.Extras.CompanyID, Key: key,
		CatalogKey: catalogKey, Version: b.Meta.Version, Filters: filters, TargetURL: td.TargetURL, FromSeq: from,
		Audit: audit("marketplace.trigger_subscribed")})
	if errors.Is(err, rankr.ErrConflict) {
		access.WriteErrorDetails(w, http.StatusForbidden, "unknown_location", err.Error(), map[string]any{"field": "triggerData.id"})
		return
	}
	if err != nil {
		s.fail(w, "saving a trigger subscription", err)
		return
	}
	if changed {
		s.log.Info("marketplace: a workflow subscribed to a trigger", "location", t.LocationID, "workflow", t.WorkflowID,
			"trigger", t.TriggerID, "key", t.CatalogKey)
	}
	writeJSON(w, http.StatusOK, mustJSON(map[string]any{"triggerId": t.TriggerID, "key": t.Key, "catalogKey": t.CatalogKey,
		"active": t.Active}))
}

// checkTarget accepts GHL's own target URLs (https, its host, its path)
// and those under the configured prefixes: rankr POSTs the location's
// token there, so anywhere else would hand it out.
func (s *Service) checkTarget(target string) error {
	if target == "" {
		return errors.New("triggerData.targetUrl is required")
	}
	for _, p := range s.cfg.TargetPrefixes {
		if p != "" && strings.HasPrefix(target, p) {
			return nil
		}
	}
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("triggerData.targetUrl is not a URL: %v", err)
	}
	if u.Scheme != "https" || u.Host != "services.leadconnectorhq.com" || u.User != nil ||
		!strings.HasPrefix(u.EscapedPath(), "/workflows-marketplace/triggers/execute/") {
		return fmt.Errorf("triggerData.targetUrl %q is not GHL's: want %s…", target, GHLTargetPrefix)
	}
	return nil
}

func (s *Service) fail(w http.ResponseWriter, what string, err error) {
	s.log.Error("marketplace: "+what, "error", err)
	access.WriteError(w, http.StatusServiceUnavailable, "unavailable", what+" failed; try again")
}

// auditRequest is GHL's call as the audit log records it. GHL's address
// is the socket's peer: the marketplace routes trust no proxy header.
func auditRequest(r *http.Request) rankr.AuditRequest {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	return rankr.AuditRequest{IP: peer, PeerIP: peer, UA: r.UserAgent()}
}
