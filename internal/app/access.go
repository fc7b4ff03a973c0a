package app

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Key is an API key as it is shown: never the key itself, nor its hash.
type Key struct {
	ID          string    `json:"id"`
	Display     string    `json:"display"`
	Name        string    `json:"name,omitempty"`
	Role        string    `json:"role"`
	Scopes      []string  `json:"scopes"`
	Locations   []string  `json:"locations,omitempty"`
	AllowIPs    []string  `json:"allowIps,omitempty"`
	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	RevokedAt   time.Time `json:"revokedAt,omitzero"`
	RotatedFrom string    `json:"rotatedFrom,omitempty"`
	LastUsedAt  time.Time `json:"lastUsedAt,omitzero"`
	LastUsedIP  string    `json:"lastUsedIp,omitempty"`
	LastUsedUA  string    `json:"lastUsedUserAgent,omitempty"`
	// State is active, expiring (within 7 days), expired or revoked.
	State string `json:"state"`
}

// NewKey is the view of a key at now.
func NewKey(k rankr.APIKey, now time.Time) Key {
	return Key{ID: k.ID, Display: access.Display(k.ID, k.Test, k.Last4), Name: k.Name, Role: k.Role, Scopes: k.Scopes,
		Locations: k.Locations, AllowIPs: k.AllowIPs, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt,
		RevokedAt: k.RevokedAt, RotatedFrom: k.RotatedFrom, LastUsedAt: k.LastUsedAt, LastUsedIP: k.LastUsedIP,
		LastUsedUA: k.LastUsedUA, State: KeyState(k, now)}
}

// KeyState says whether a key works at now, and whether it soon stops.
func KeyState(k rankr.APIKey, now time.Time) string {
	switch {
	case !k.RevokedAt.IsZero():
		return "revoked"
	case !now.Before(k.ExpiresAt):
		return "expired"
	case k.ExpiresAt.Sub(now) <= 7*24*time.Hour:
		return "expiring"
	}
	return "active"
}

// seesKey: a caller bound to locations sees the keys bound within them.
func (c Caller) seesKey(k rankr.APIKey) bool {
	return c.Locations == nil || len(k.Locations) > 0 && !slices.ContainsFunc(k.Locations, func(l string) bool { return !c.Sees(l) })
}

func (a *App) keys(ctx context.Context) (*access.Keys, error) {
	if a.d.Keys == nil {
		return nil, unavailable("managing keys", "the master key opens the keys' pepper: run with it")
	}
	return a.d.Keys(ctx)
}

// Keys lists API keys.
func (a *App) Keys(ctx context.Context, c Caller) ([]Key, error) {
	keys, err := a.d.Store.KeyList(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := []Key{}
	for _, k := range keys {
		if c.seesKey(k) {
			out = append(out, NewKey(k, now))
		}
	}
	return out, nil
}

// Key shows an API key (by id, or by the key's display form).
func (a *App) Key(ctx context.Context, c Caller, id string) (Key, error) {
	k, err := a.d.Store.KeyGet(ctx, KeyID(id))
	if err != nil {
		return Key{}, err
	}
	if !c.seesKey(k) {
		return Key{}, fmt.Errorf("key %s: %w", id, rankr.ErrNotFound)
	}
	return NewKey(k, time.Now()), nil
}

// KeyID takes a key's id out of what a person may paste: the id, the
// display form or the whole key.
func KeyID(s string) string {
	if id, _, err := access.ParseKey(s); err == nil {
		return id
	}
	for _, p := range []string{"rnkr_live_", "rnkr_test_"} {
		if rest, ok := strings.CutPrefix(s, p); ok && len(rest) >= 12 {
			return rest[:12]
		}
	}
	return s
}

// KeyCreateRequest makes a key.
type KeyCreateRequest struct {
	Name      string   `json:"name,omitempty"`
	Role      string   `json:"role"`
	Scopes    []string `json:"scopes,omitempty"`
	Locations []string `json:"locations,omitempty"`
	AllowIPs  []string `json:"allowIps,omitempty"`
	// ExpiresIn is how long the key works: a Go duration or days (90d).
	ExpiresIn string `json:"expiresIn"`
	Test      bool   `json:"test,omitempty"`
}

// CreatedKey is a key just made: the key itself, shown this once.
type CreatedKey struct {
	Token string `json:"token"`
	Key   Key    `json:"key"`
}

// CreateKey makes a key within the caller's own rights and locations.
func (a *App) CreateKey(ctx context.Context, c Caller, r KeyCreateRequest) (CreatedKey, error) {
	keys, err := a.keys(ctx)
	if err != nil {
		return CreatedKey{}, err
	}
	life, err := ParseSpan(r.ExpiresIn)
	if err != nil || life <= 0 {
		return CreatedKey{}, fieldErr("expiresIn", "want how long the key works, e.g. 90d or 720h, at most %dd", int(access.MaxKeyLife.Hours()/24))
	}
	if r.Role == "" {
		return CreatedKey{}, fieldErr("role", "want one of %s", strings.Join(access.Roles, ", "))
	}
	k, err := keys.Create(ctx, c.Access, access.KeyRequest{Name: r.Name, Role: r.Role, Scopes: r.Scopes, Locations: r.Locations,
		ExpiresIn: life, AllowIPs: r.AllowIPs, Test: r.Test})
	if err != nil {
		return CreatedKey{}, err
	}
	return CreatedKey{Token: k.Token, Key: NewKey(k.Key, time.Now())}, nil
}

// RevokeKey ends a key now.
func (a *App) RevokeKey(ctx context.Context, c Caller, id string) (Key, error) {
	keys, err := a.keys(ctx)
	if err != nil {
		return Key{}, err
	}
	if _, err := a.Key(ctx, c, id); err != nil {
		return Key{}, err
	}
	if err := keys.Revoke(ctx, c.Access, KeyID(id)); err != nil {
		return Key{}, err
	}
	return a.Key(ctx, c, id)
}

// AuditQuery selects audit records.
type AuditQuery struct {
	// After continues after this record's number (a page's last).
	After int64
	// Newest lists the newest first; Before continues before this
	// record's number (such a page's last).
	Newest bool
	Before int64
	Since  time.Time
	Actor  string
	Action string
	Limit  int
}

// AuditPage is a page of the audit log, oldest first (or newest first);
// Next is the After (or the Before) of the next page, 0 on the last.
type AuditPage struct {
	Items []rankr.AuditRecord `json:"items"`
	Next  int64               `json:"next,omitempty"`
}

// AuditLog lists audit records, oldest first or newest first. A caller
// bound to locations sees the records of its locations only.
func (a *App) AuditLog(ctx context.Context, c Caller, q AuditQuery) (AuditPage, error) {
	if q.Limit < 0 || q.Limit > MaxLimit {
		return AuditPage{}, fieldErr("limit", "want 1 to %d, not %d", MaxLimit, q.Limit)
	}
	if q.After < 0 {
		return AuditPage{}, fieldErr("after", "want a record's number, not %d", q.After)
	}
	if q.Before < 0 || q.Before > 0 && !q.Newest {
		return AuditPage{}, fieldErr("before", "want a record's number, with newest, not %d", q.Before)
	}
	limit := q.Limit
	if limit == 0 {
		limit = 100
	}
	out := AuditPage{Items: []rankr.AuditRecord{}}
	after, before := q.After, q.Before
	for len(out.Items) < limit {
		recs, err := a.d.Store.AuditList(ctx, store.AuditListParams{AfterSeq: after, BeforeSeq: before, Newest: q.Newest,
			Since: q.Since, Actor: q.Actor, Action: q.Action, Limit: limit})
		if err != nil {
			return out, err
		}
		for _, r := range recs {
			if q.Newest {
				before = r.Seq
			} else {
				after = r.Seq
			}
			if c.Locations == nil || r.Target.LocationID != "" && c.Sees(r.Target.LocationID) {
				out.Items = append(out.Items, r)
				if len(out.Items) == limit {
					break
				}
			}
		}
		if len(recs) < limit {
			return out, nil
		}
	}
	out.Next = after
	if q.Newest {
		out.Next = before
	}
	return out, nil
}

// ParseSpan reads a length of time as a Go duration (36h, 90m) or in days
// (3d).
func ParseSpan(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		// Beyond about 292 years, days*24h wraps around to a negative span.
		if err != nil || days < 0 || days > math.MaxInt64/int(24*time.Hour) {
			return 0, fmt.Errorf("%q: want a number of days (3d) or a duration (36h)", v)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a number of days (3d) or a duration (36h)", v)
	}
	return d, nil
}
