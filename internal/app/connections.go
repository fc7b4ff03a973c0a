package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/syncer"
)

// LocationStatus is one connection and how its sync is doing.
type LocationStatus struct {
	Connection rankr.Connection     `json:"connection"`
	Counts     rankr.Counts         `json:"counts"`
	Sync       syncer.LocationState `json:"sync"`
	Phase      string               `json:"phase"`
	APICalls   int64                `json:"apiCalls"`
	Budget     Budget               `json:"budget"`
	// Notices counts the location's notices (Rankr's own mails) by state.
	Notices map[rankr.NoticeState]int `json:"notices,omitempty"`
}

// Budget is a location's GHL rate budget as the governor sees it.
type Budget struct {
	Burst          int   `json:"burst"`
	IntervalMS     int64 `json:"intervalMs"`
	InWindow       int   `json:"inWindow"`
	DailyRemaining int   `json:"dailyRemaining"`
	Waiting        int   `json:"waiting"`
	Throttled      int64 `json:"throttled"`
}

// Connections reports the connections the caller sees and how their sync
// stands.
func (a *App) Connections(ctx context.Context, c Caller) ([]LocationStatus, error) {
	if a.d.Status == nil {
		return nil, unavailable("the connections' status", "run rankr serve")
	}
	all, err := a.d.Status(ctx)
	if err != nil {
		return nil, err
	}
	seen := slices.DeleteFunc(slices.Clone(all), func(s LocationStatus) bool { return !c.Sees(s.Connection.LocationID) })
	if seen == nil {
		// No connection (or none the caller sees) is an empty list, not
		// null: the API answers {"items":[]}.
		seen = []LocationStatus{}
	}
	return seen, nil
}

// Connection reports one connection.
func (a *App) Connection(ctx context.Context, c Caller, loc string) (LocationStatus, error) {
	if err := c.visible(loc, "connection "+loc); err != nil {
		return LocationStatus{}, err
	}
	all, err := a.Connections(ctx, c)
	if err != nil {
		return LocationStatus{}, err
	}
	for _, s := range all {
		if s.Connection.LocationID == loc {
			return s, nil
		}
	}
	return LocationStatus{}, fmt.Errorf("connection %s: %w", loc, rankr.ErrNotFound)
}

// ConnectRequest connects a location with a Private Integration Token, or
// replaces the token of one connected already.
type ConnectRequest struct {
	Name    string `json:"name,omitempty"`
	BaseURL string `json:"baseUrl,omitempty"`
	Token   string `json:"token"`
}

// Connect saves a location's token, sealed, audited with its HMAC only.
func (a *App) Connect(ctx context.Context, c Caller, loc string, r ConnectRequest) (rankr.Connection, error) {
	if a.d.Connect == nil {
		return rankr.Connection{}, unavailable("connecting", "the master key seals GHL tokens: run with it")
	}
	if err := c.visible(loc, "location "+loc); err != nil {
		return rankr.Connection{}, err
	}
	switch {
	case strings.TrimSpace(loc) == "":
		return rankr.Connection{}, fieldErr("locationId", "name the GHL location")
	case strings.TrimSpace(r.Token) == "":
		return rankr.Connection{}, fieldErr("token", "give the location's Private Integration Token")
	case r.BaseURL != "" && !strings.HasPrefix(r.BaseURL, "https://") && !strings.HasPrefix(r.BaseURL, "http://127.0.0.1") &&
		!strings.HasPrefix(r.BaseURL, "http://localhost"):
		return rankr.Connection{}, fieldErr("baseUrl", "want an https:// URL (plain http only on this machine, for the sandbox)")
	}
	if r.BaseURL == "" || r.Name == "" {
		// A new token for a connection keeps what it had: one replacing a
		// sandbox's token must not send the location to GHL itself.
		if old, err := a.d.Store.ConnectionGet(ctx, loc); err == nil {
			r.BaseURL, r.Name = cmp.Or(r.BaseURL, old.BaseURL), cmp.Or(r.Name, old.Name)
		}
	}
	return a.d.Connect(ctx, c.Actor, loc, r.Name, r.BaseURL, r.Token)
}

// Pause stops a location's sync; webhooks meanwhile are kept, marked
// ignored, and Resume polls what changed.
func (a *App) Pause(ctx context.Context, c Caller, loc string) (rankr.Connection, error) {
	return a.setState(ctx, c, loc, rankr.StatePaused, "paused by "+c.Actor.Type+" "+c.Actor.ID, "connection.paused")
}

// Resume makes a connection active again (a suspended one stays so until
// the app is installed again) and queues a poll of what changed.
func (a *App) Resume(ctx context.Context, c Caller, loc string) (rankr.Connection, error) {
	conn, err := a.setState(ctx, c, loc, rankr.StateActive, "", "connection.resumed")
	if err == nil && a.jobs.queue != nil && conn.State == rankr.StateActive {
		if _, qerr := a.jobs.queue.Enqueue(ctx, JobRequest{Kind: JobPoll, LocationID: loc}); qerr != nil {
			a.log.Warn("resumed: the poll was not queued; the scheduler polls it at its next round", "location", loc, "error", qerr)
		}
	}
	return conn, err
}

func (a *App) setState(ctx context.Context, c Caller, loc string, state rankr.ConnectionState, msg, action string) (rankr.Connection, error) {
	if err := c.visible(loc, "connection "+loc); err != nil {
		return rankr.Connection{}, err
	}
	now := time.Now()
	audit := rankr.AuditEntry{At: now, Actor: c.Actor, Action: action, Outcome: rankr.AuditSuccess, Request: c.Request,
		Target: rankr.AuditTarget{Type: "connection", ID: loc, LocationID: loc}}
	if err := a.d.Store.ConnectionSetState(ctx, store.ConnectionSetStateParams{LocationID: loc, State: state, Message: msg,
		Now: now, Audit: &audit}); err != nil {
		return rankr.Connection{}, err
	}
	return a.d.Store.ConnectionGet(ctx, loc)
}
