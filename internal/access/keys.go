package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Key lifetimes: every key expires, at most a year after it is made; a
// roll's grace (both keys work) lasts at most a week.
const (
	MaxKeyLife = 365 * 24 * time.Hour
	MaxGrace   = 7 * 24 * time.Hour
)

// Actor is who asks for a change: the host (rankr on the database's machine)
// or the holder of a key, with what they may do.
type Actor struct {
	Type string // rankr.ActorHost or rankr.ActorAPIKey
	ID   string // the key id, or the host user's name
	Role string
	// Rights and Locations are what the actor may do and see; nil
	// Locations means every location.
	Rights    Rights
	Locations []string
	Request   rankr.AuditRequest
}

// Host is the actor of the CLI on the host: it holds every right.
func Host(user string) Actor {
	return Actor{Type: rankr.ActorHost, ID: user, Role: "owner", Rights: AllRights()}
}

func (a Actor) audit() rankr.AuditActor {
	return rankr.AuditActor{Type: a.Type, ID: a.ID, Role: a.Role}
}

// creatorID is what a key made by this actor records as its creator.
func (a Actor) creatorID() string {
	if a.Type == rankr.ActorHost {
		return rankr.HostActor
	}
	return a.ID
}

// Keys manages API keys.
type Keys struct {
	st     store.Store
	hasher *Hasher
	now    func() time.Time
}

// NewKeys returns the key manager.
func NewKeys(st store.Store, h *Hasher) *Keys {
	return &Keys{st: st, hasher: h, now: time.Now}
}

// KeyRequest asks for a new key.
type KeyRequest struct {
	Name string
	Role string
	// Scopes default to the role's.
	Scopes    []string
	Locations []string
	ExpiresIn time.Duration
	AllowIPs  []string
	Test      bool
}

// NewKey is a key just made: the key itself, shown this once, and its
// record.
type NewKey struct {
	Token string
	Key   rankr.APIKey
}

// Create makes a key. Nobody makes a key beyond their own rights: its
// scopes must be within both its role's and the actor's, and its locations
// within the actor's.
func (k *Keys) Create(ctx context.Context, actor Actor, req KeyRequest) (NewKey, error) {
	key, err := k.plan(actor, req)
	if err != nil {
		k.deny(ctx, actor, "api_key.create", "", err)
		return NewKey{}, err
	}
	token, id := newToken(req.Test)
	key.ID, key.Hash, key.Last4 = id, k.hasher.Key(token), token[len(token)-4:]
	audit := k.entry(actor, "api_key.created", key, keyChanges(key))
	audit.Secrets = map[string]string{"key": k.hasher.Secret(token)}
	if err := k.st.KeyCreate(ctx, key, audit); err != nil {
		return NewKey{}, err
	}
	return NewKey{Token: token, Key: key}, nil
}

// plan checks a request and returns the key it makes, without its id and
// hash.
func (k *Keys) plan(actor Actor, req KeyRequest) (rankr.APIKey, error) {
	role, err := RoleRights(req.Role)
	if err != nil {
		return rankr.APIKey{}, invalidf("%v", err)
	}
	asked := role
	if len(req.Scopes) > 0 {
		if asked, err = ParseScopes(req.Scopes); err != nil {
			return rankr.APIKey{}, invalidf("%v", err)
		}
		if !role.Covers(asked) {
			return rankr.APIKey{}, invalidf("role %s cannot hold %v", req.Role, missing(role, asked))
		}
	}
	if !actor.Rights.Covers(asked) {
		return rankr.APIKey{}, forbiddenf("you cannot make a key with %v: you do not hold it", missing(actor.Rights, asked))
	}
	if actor.Locations != nil {
		if len(req.Locations) == 0 {
			return rankr.APIKey{}, forbiddenf("your key is bound to locations: a key you make must name its locations (--location)")
		}
		for _, l := range req.Locations {
			if !slices.Contains(actor.Locations, l) {
				return rankr.APIKey{}, forbiddenf("you cannot make a key for location %s: yours does not see it", l)
			}
		}
	}
	if req.ExpiresIn <= 0 || req.ExpiresIn > MaxKeyLife {
		return rankr.APIKey{}, invalidf("a key must expire, in at most 365 days (--expires 90d)")
	}
	_, allow, err := ParseAllowList(req.AllowIPs)
	if err != nil {
		return rankr.APIKey{}, invalidf("%v", err)
	}
	now := k.now().UTC().Truncate(time.Millisecond)
	return rankr.APIKey{
		Name: req.Name, Test: req.Test, Role: req.Role, Scopes: asked.List(), Locations: req.Locations, AllowIPs: allow,
		CreatedBy: actor.creatorID(), CreatedAt: now, ExpiresAt: now.Add(req.ExpiresIn),
	}, nil
}

// missing lists the scopes of want that have lacks.
func missing(have, want Rights) []string {
	var out []string
	for _, s := range want.List() {
		if !have[s] {
			out = append(out, s)
		}
	}
	return out
}

// Roll replaces a key with a new one of the same name, role, scopes,
// locations and allow-list; the old key keeps working for grace (at most a
// week), then expires.
func (k *Keys) Roll(ctx context.Context, actor Actor, id string, grace time.Duration) (NewKey, error) {
	old, err := k.manageable(ctx, actor, id, "api_key.roll")
	if err != nil {
		return NewKey{}, err
	}
	if grace < 0 || grace > MaxGrace {
		return NewKey{}, invalidf("the grace period must be between 0 and 7 days")
	}
	life := old.ExpiresAt.Sub(old.CreatedAt)
	key, err := k.plan(actor, KeyRequest{Name: old.Name, Role: old.Role, Scopes: old.Scopes, Locations: old.Locations,
		ExpiresIn: min(max(life, time.Hour), MaxKeyLife), AllowIPs: old.AllowIPs, Test: old.Test})
	if err != nil {
		k.deny(ctx, actor, "api_key.roll", id, err)
		return NewKey{}, err
	}
	token, newID := newToken(old.Test)
	key.ID, key.Hash, key.Last4, key.RotatedFrom = newID, k.hasher.Key(token), token[len(token)-4:], old.ID
	oldExpires := k.now().UTC().Add(grace)
	audit := k.entry(actor, "api_key.rolled", key, mustJSON(map[string]any{
		"rotatedFrom": old.ID, "oldExpiresAt": oldExpires, "grace": grace.String(), "key": keyView(key)}))
	audit.Secrets = map[string]string{"key": k.hasher.Secret(token)}
	err = k.st.KeyRoll(ctx, store.KeyRollParams{Old: old.ID, OldExpiresAt: oldExpires, New: key}, audit)
	if err != nil {
		return NewKey{}, err
	}
	return NewKey{Token: token, Key: key}, nil
}

// Revoke ends a key now. Every process refuses it within a second.
func (k *Keys) Revoke(ctx context.Context, actor Actor, id string) error {
	key, err := k.manageable(ctx, actor, id, "api_key.revoke")
	if err != nil {
		return err
	}
	now := k.now().UTC()
	audit := k.entry(actor, "api_key.revoked", key, nil)
	return k.st.KeyUpdate(ctx, store.KeyUpdateParams{ID: id, RevokedAt: &now}, audit)
}

// SetRole changes a key's role. What the key may do becomes its scopes
// within the new role, and so does what every key it made may do.
func (k *Keys) SetRole(ctx context.Context, actor Actor, id, role string) error {
	key, err := k.manageable(ctx, actor, id, "api_key.role")
	if err != nil {
		return err
	}
	rights, err := RoleRights(role)
	if err != nil {
		return invalidf("%v", err)
	}
	if !actor.Rights.Covers(rights) {
		err := forbiddenf("you cannot give role %s: it holds %v, which you do not", role, missing(actor.Rights, rights))
		k.deny(ctx, actor, "api_key.role", id, err)
		return err
	}
	audit := k.entry(actor, "api_key.role_changed", key, mustJSON(map[string]string{"from": key.Role, "to": role}))
	return k.st.KeyUpdate(ctx, store.KeyUpdateParams{ID: id, Role: &role}, audit)
}

// SetAllowIPs replaces a key's IP allow-list (empty: any address the
// installation's list allows).
func (k *Keys) SetAllowIPs(ctx context.Context, actor Actor, id string, cidrs []string) error {
	key, err := k.manageable(ctx, actor, id, "api_key.allow_ips")
	if err != nil {
		return err
	}
	_, allow, err := ParseAllowList(cidrs)
	if err != nil {
		return invalidf("%v", err)
	}
	audit := k.entry(actor, "api_key.allow_ips_changed", key, mustJSON(map[string][]string{"from": key.AllowIPs, "to": allow}))
	return k.st.KeyUpdate(ctx, store.KeyUpdateParams{ID: id, AllowIPs: &allow}, audit)
}

// SetInstallAllowIPs replaces the installation's IP allow-list, which
// every key's requests must match.
func (k *Keys) SetInstallAllowIPs(ctx context.Context, actor Actor, cidrs []string) error {
	if !actor.Rights.Has("security:admin") {
		err := forbiddenf("changing the installation's allow-list needs security:admin")
		k.deny(ctx, actor, "installation.allow_ips", "", err)
		return err
	}
	in, err := k.st.Installation(ctx)
	if err != nil {
		return err
	}
	_, allow, err := ParseAllowList(cidrs)
	if err != nil {
		return invalidf("%v", err)
	}
	audit := rankr.AuditEntry{At: k.now(), Actor: actor.audit(), Action: "installation.allow_ips_changed",
		Outcome: rankr.AuditSuccess, Target: rankr.AuditTarget{Type: "installation", ID: in.ID}, Request: actor.Request,
		Changes: mustJSON(map[string][]string{"from": in.AllowIPs, "to": allow})}
	return k.st.InstallationSetAllowIPs(ctx, allow, audit)
}

// manageable returns a key the actor may change: keys:write, and a key
// within the actor's rights and locations (an admin cannot revoke an
// owner's key).
func (k *Keys) manageable(ctx context.Context, actor Actor, id, action string) (rankr.APIKey, error) {
	deny := func(err error) (rankr.APIKey, error) {
		k.deny(ctx, actor, action, id, err)
		return rankr.APIKey{}, err
	}
	if !actor.Rights.Has("keys:write") {
		return deny(forbiddenf("managing keys needs keys:write"))
	}
	key, err := k.st.KeyGet(ctx, id)
	if err != nil {
		return rankr.APIKey{}, err
	}
	role, _ := RoleRights(key.Role)
	if role != nil && !actor.Rights.Covers(role) {
		return deny(forbiddenf("key %s has role %s, above yours", id, key.Role))
	}
	if actor.Locations != nil && !subset(key.Locations, actor.Locations) {
		return rankr.APIKey{}, fmt.Errorf("key %s: %w", id, rankr.ErrNotFound)
	}
	return key, nil
}

func subset(a, b []string) bool {
	if len(a) == 0 {
		return false // a key for every location is never within a bound one's
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func (k *Keys) entry(actor Actor, action string, key rankr.APIKey, changes json.RawMessage) rankr.AuditEntry {
	return rankr.AuditEntry{At: k.now(), Actor: actor.audit(), Action: action, Outcome: rankr.AuditSuccess,
		Target: rankr.AuditTarget{Type: "api_key", ID: key.ID}, Request: actor.Request, Changes: changes}
}

// deny records a refused key change. The refusal stands whether or not the
// record can be written; a failure to write it is not the caller's error.
func (k *Keys) deny(ctx context.Context, actor Actor, action, id string, cause error) {
	if !errors.Is(cause, rankr.ErrForbidden) {
		return
	}
	_ = k.st.AuditAppend(ctx, rankr.AuditEntry{At: k.now(), Actor: actor.audit(), Action: action, Outcome: rankr.AuditDenied,
		Code: "forbidden", Target: rankr.AuditTarget{Type: "api_key", ID: id}, Request: actor.Request,
		Changes: mustJSON(map[string]string{"reason": cause.Error()})})
}

// keyView is how a key appears in an audit record: everything but its
// hash.
func keyView(k rankr.APIKey) map[string]any {
	return map[string]any{"name": k.Name, "test": k.Test, "role": k.Role, "scopes": k.Scopes, "locations": k.Locations,
		"allowIps": k.AllowIPs, "createdBy": k.CreatedBy, "expiresAt": k.ExpiresAt, "last4": k.Last4}
}

func keyChanges(k rankr.APIKey) json.RawMessage { return mustJSON(keyView(k)) }

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of plain values reach here
	}
	return b
}

func forbiddenf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{rankr.ErrForbidden}, args...)...)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{rankr.ErrInvalid}, args...)...)
}
