package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/rankr/rankr/ghl"
)

// AdminPrefix is the path prefix of the admin API. GHL has no such paths.
const AdminPrefix = "/_sandbox"

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) error { return s.faults.set(f, s.clock()) }

// Faults returns the injected faults.
func (s *Server) Faults() Faults { return s.faults.get() }

// SetLimits replaces the per-location rate limits.
func (s *Server) SetLimits(r RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = r.withDefaults()
}

// Limits returns the per-location rate limits.
func (s *Server) Limits() RateLimit {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.limits
}

// AddToken makes token valid for a location (every location when
// locationID is empty) with the given scopes (every scope when none).
func (s *Server) AddToken(locationID, token string, scopes ...string) error {
	if token == "" {
		return errors.New("token must not be empty")
	}
	g := &tokenGrant{scopes: map[string]bool{}}
	if locationID != "" {
		if s.location(locationID) == nil {
			return errUnknownLocation(locationID)
		}
		g.locations = map[string]bool{locationID: true}
	}
	if len(scopes) == 0 {
		g.scopes = allScopes()
	}
	for _, sc := range scopes {
		g.scopes[sc] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = g
	return nil
}

// RevokeToken makes token invalid, as rotating a Private Integration Token
// in GHL does.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, token)
}

// RateLimitUsage reports how much of a location's budget is spent.
func (s *Server) RateLimitUsage(locationID string) (window, daily int, err error) {
	l := s.location(locationID)
	if l == nil {
		return 0, 0, errUnknownLocation(locationID)
	}
	window, daily = l.limiter.usage(s.Limits(), s.clock())
	return window, daily, nil
}

// limitsJSON is RateLimit on the admin API.
type limitsJSON struct {
	Burst      int   `json:"burst"`
	IntervalMS int64 `json:"intervalMs"`
	Daily      int   `json:"daily"`
}

func (s *Server) adminRoutes(mux *http.ServeMux) {
	p := AdminPrefix
	mux.HandleFunc("GET "+p+"/info", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Info())
	})
	mux.HandleFunc("GET "+p+"/truth", func(w http.ResponseWriter, r *http.Request) {
		t, err := s.Truth(r.URL.Query().Get("locationId"))
		adminAnswer(w, t, err)
	})
	mux.HandleFunc("GET "+p+"/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET "+p+"/activity", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"perSecond": s.activity.currentRate(), "kinds": ChangeKinds()})
	})
	mux.HandleFunc("PUT "+p+"/activity", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			PerSecond *float64 `json:"perSecond"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		if b.PerSecond == nil || *b.PerSecond < 0 {
			adminError(w, http.StatusBadRequest, errors.New("perSecond must be a number >= 0"))
			return
		}
		s.SetActivity(*b.PerSecond)
		writeJSON(w, http.StatusOK, map[string]any{"perSecond": *b.PerSecond})
	})
	mux.HandleFunc("POST "+p+"/activity", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Count      int    `json:"count"`
			LocationID string `json:"locationId"`
			Kind       string `json:"kind"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		if b.Count <= 0 || b.Count > 100_000 {
			adminError(w, http.StatusBadRequest, errors.New("count must be between 1 and 100000"))
			return
		}
		changes, err := s.Step(b.Count, b.LocationID, b.Kind)
		adminAnswer(w, map[string]any{"changes": changes}, err)
	})
	mux.HandleFunc("GET "+p+"/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("PUT "+p+"/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if !adminDecode(w, r, &f) {
			return
		}
		err := s.SetFaults(f)
		adminAnswer(w, s.Faults(), err)
	})
	mux.HandleFunc("GET "+p+"/limits", func(w http.ResponseWriter, r *http.Request) {
		l := s.Limits()
		writeJSON(w, http.StatusOK, limitsJSON{l.Burst, l.Interval.Milliseconds(), l.Daily})
	})
	mux.HandleFunc("PUT "+p+"/limits", func(w http.ResponseWriter, r *http.Request) {
		var b limitsJSON
		if !adminDecode(w, r, &b) {
			return
		}
		s.SetLimits(RateLimit{Burst: b.Burst, Interval: time.Duration(b.IntervalMS) * time.Millisecond, Daily: b.Daily})
		l := s.Limits()
		writeJSON(w, http.StatusOK, limitsJSON{l.Burst, l.Interval.Milliseconds(), l.Daily})
	})
	mux.HandleFunc("POST "+p+"/tokens", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			LocationID string   `json:"locationId"`
			Token      string   `json:"token"`
			Scopes     []string `json:"scopes"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		if err := s.AddToken(b.LocationID, b.Token, b.Scopes...); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"locationId": b.LocationID, "scopes": b.Scopes})
	})
	mux.HandleFunc("DELETE "+p+"/tokens/{token}", func(w http.ResponseWriter, r *http.Request) {
		s.RevokeToken(r.PathValue("token"))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+p+"/webhook", func(w http.ResponseWriter, r *http.Request) {
		s.hooks.mu.Lock()
		u := s.hooks.url
		s.hooks.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"url": u, "publicKey": s.WebhookPublicKey()})
	})
	mux.HandleFunc("PUT "+p+"/webhook", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			URL string `json:"url"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		s.SetWebhookURL(b.URL)
		writeJSON(w, http.StatusOK, b)
	})
	mux.HandleFunc("GET "+p+"/webhooks", func(w http.ResponseWriter, r *http.Request) {
		all := s.Deliveries()
		state := DeliveryState(r.URL.Query().Get("state"))
		out := all[:0:0]
		for _, d := range all {
			if state == "" || d.State == state {
				out = append(out, d)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
	})
	mux.HandleFunc("POST "+p+"/app-events", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Type       string `json:"type"`
			LocationID string `json:"locationId"`
		}
		if !adminDecode(w, r, &b) {
			return
		}
		if b.Type != ghl.EventInstall && b.Type != ghl.EventUninstall {
			adminError(w, http.StatusBadRequest, fmt.Errorf("type must be %s or %s", ghl.EventInstall, ghl.EventUninstall))
			return
		}
		adminAnswer(w, map[string]bool{"queued": true}, s.SendAppEvent(b.Type, b.LocationID))
	})
	mux.HandleFunc("DELETE "+p+"/locations/{locationId}/{kind}/{id}", func(w http.ResponseWriter, r *http.Request) {
		err := s.Delete(r.PathValue("locationId"), r.PathValue("kind"), r.PathValue("id"))
		if err != nil {
			adminError(w, http.StatusNotFound, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	s.scenarioRoute(mux)
	mux.HandleFunc("GET "+p+"/locations/{locationId}/usage", func(w http.ResponseWriter, r *http.Request) {
		window, daily, err := s.RateLimitUsage(r.PathValue("locationId"))
		adminAnswer(w, map[string]int{"window": window, "daily": daily}, err)
	})
}

func adminDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		adminError(w, http.StatusBadRequest, fmt.Errorf("decoding the body: %w", err))
		return false
	}
	return true
}

func adminAnswer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func adminError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error(), "status": strconv.Itoa(status)})
}
