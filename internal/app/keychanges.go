package app

import (
	"context"
	"time"

	"github.com/rankr/rankr/internal/access"
)

// The changes to API keys beyond making and revoking one (access.go):
// rolling a key, its role, and the addresses it (or every key) may be used
// from. Each is judged by the access rules as the caller, and audited.

// RollKey replaces a key with a new one, shown this once; the old one
// works for grace, then expires.
func (a *App) RollKey(ctx context.Context, c Caller, id string, grace time.Duration) (CreatedKey, error) {
	keys, err := a.keys(ctx)
	if err != nil {
		return CreatedKey{}, err
	}
	if _, err := a.Key(ctx, c, id); err != nil {
		return CreatedKey{}, err
	}
	k, err := keys.Roll(ctx, c.Access, KeyID(id), grace)
	if err != nil {
		return CreatedKey{}, err
	}
	return CreatedKey{Token: k.Token, Key: NewKey(k.Key, time.Now())}, nil
}

// SetKeyRole changes a key's role, and so what the keys it made may do.
func (a *App) SetKeyRole(ctx context.Context, c Caller, id, role string) (Key, error) {
	return a.changeKey(ctx, c, id, func(keys *access.Keys, id string) error { return keys.SetRole(ctx, c.Access, id, role) })
}

// SetKeyAllowIPs sets the addresses (CIDRs) a key may be used from; none:
// any address.
func (a *App) SetKeyAllowIPs(ctx context.Context, c Caller, id string, cidrs []string) (Key, error) {
	return a.changeKey(ctx, c, id, func(keys *access.Keys, id string) error { return keys.SetAllowIPs(ctx, c.Access, id, cidrs) })
}

// changeKey makes a change to a key the caller sees, and shows the key
// after it.
func (a *App) changeKey(ctx context.Context, c Caller, id string, change func(keys *access.Keys, id string) error) (Key, error) {
	keys, err := a.keys(ctx)
	if err != nil {
		return Key{}, err
	}
	if _, err := a.Key(ctx, c, id); err != nil {
		return Key{}, err
	}
	if err := change(keys, KeyID(id)); err != nil {
		return Key{}, err
	}
	return a.Key(ctx, c, id)
}

// SetInstallAllowIPs sets the installation's allow-list, which every key's
// requests must match too; none: any address.
func (a *App) SetInstallAllowIPs(ctx context.Context, c Caller, cidrs []string) error {
	keys, err := a.keys(ctx)
	if err != nil {
		return err
	}
	return keys.SetInstallAllowIPs(ctx, c.Access, cidrs)
}
