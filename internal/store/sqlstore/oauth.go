package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// SeparateLocks gives the store a database whose write lock serializes
// token refreshes, where the records' database must not be held for the
// length of a call to GHL (SQLite, whose one writer would wait on it). The
// store closes it with its own.
func (s *Store) SeparateLocks(db *sql.DB) { s.locks = db }

// OAuthAppGet returns the app's settings.
func (s *Store) OAuthAppGet(ctx context.Context) (rankr.OAuthApp, error) {
	var a rankr.OAuthApp
	var updated int64
	err := s.read().QueryRowContext(ctx, `SELECT client_id, redirect_uri, authorize_host, base_url, push, updated_at FROM oauth_app WHERE id = 1`).
		Scan(&a.ClientID, &a.RedirectURI, &a.AuthorizeHost, &a.BaseURL, &a.Push, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("the OAuth app (rankr oauth configure)")
	}
	if err != nil {
		return a, fmt.Errorf("reading the OAuth app: %w", unavailable(err))
	}
	a.UpdatedAt = time.UnixMilli(updated).UTC()
	return a, nil
}

// OAuthAppPut saves the app's settings and a new client secret.
func (s *Store) OAuthAppPut(ctx context.Context, a rankr.OAuthApp, secret *rankr.OAuthClientSecret, audit rankr.AuditEntry) error {
	if a.ClientID == "" || a.RedirectURI == "" || a.AuthorizeHost == "" || a.BaseURL == "" {
		return invalid("the OAuth app needs a client id, a redirect URI, an authorize host and a base URL")
	}
	now := cmp.Or(a.UpdatedAt, time.Now()).UnixMilli()
	err := s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO oauth_app (id, client_id, redirect_uri, authorize_host, base_url, push, updated_at)
			VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id,
			redirect_uri = excluded.redirect_uri, authorize_host = excluded.authorize_host, base_url = excluded.base_url,
			push = excluded.push, updated_at = excluded.updated_at`, a.ClientID, a.RedirectURI, a.AuthorizeHost, a.BaseURL, a.Push, now)
		if err != nil {
			return err
		}
		if secret != nil {
			if _, err := t.exec(ctx, `INSERT INTO oauth_client_secrets (id, client_id, sealed, created_at) VALUES (?, ?, ?, ?)`,
				secret.ID, secret.ClientID, secret.Sealed, cmp.Or(secret.CreatedAt, time.Now()).UnixMilli()); err != nil {
				return err
			}
		}
		return t.appendAudit(ctx, audit)
	})
	if err != nil {
		return fmt.Errorf("saving the OAuth app: %w", storeErr(err))
	}
	return nil
}

// OAuthSecrets returns the client secrets, newest first.
func (s *Store) OAuthSecrets(ctx context.Context) ([]rankr.OAuthClientSecret, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT id, client_id, sealed, created_at, retired_at FROM oauth_client_secrets
		ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("listing client secrets: %w", unavailable(err))
	}
	return rowsOf(rows, func(r scanner) (rankr.OAuthClientSecret, error) {
		var c rankr.OAuthClientSecret
		var created int64
		var retired sql.NullInt64
		err := r.Scan(&c.ID, &c.ClientID, &c.Sealed, &created, &retired)
		c.CreatedAt, c.RetiredAt = time.UnixMilli(created).UTC(), fromMS(retired)
		return c, err
	})
}

// OAuthSecretRetire retires a secret no token needs.
func (s *Store) OAuthSecretRetire(ctx context.Context, id string, at time.Time, audit rankr.AuditEntry) error {
	err := s.inTx(ctx, func(t *tx) error {
		var n int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM oauth_tokens WHERE secret_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %d tokens still refresh with client secret %s: they move to the newest secret as they refresh (within a day)", rankr.ErrConflict, n, id)
		}
		res, err := t.exec(ctx, `UPDATE oauth_client_secrets SET retired_at = ? WHERE id = ? AND retired_at IS NULL`, at.UnixMilli(), id)
		if err := affectedOne(res, err, "client secret "+id); err != nil {
			return err
		}
		return t.appendAudit(ctx, audit)
	})
	if err != nil {
		return fmt.Errorf("retiring client secret %s: %w", id, storeErr(err))
	}
	return nil
}

// OAuthOnceAdd stores a one-time value.
func (s *Store) OAuthOnceAdd(ctx context.Context, o store.OAuthOnce) error {
	actor, _ := json.Marshal(o.Actor)
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO oauth_states (hash, kind, actor, company, expires_at) VALUES (?, ?, ?, ?, ?)`),
		o.Hash, o.Kind, string(actor), o.Company, o.ExpiresAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("saving a one-time %s: %w", o.Kind, unavailable(err))
	}
	return nil
}

// OAuthOnceTake spends a one-time value.
func (s *Store) OAuthOnceTake(ctx context.Context, kind string, hash []byte) (store.OAuthOnce, error) {
	var o store.OAuthOnce
	err := s.inTx(ctx, func(t *tx) error {
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		var actor string
		var expires int64
		var used sql.NullInt64
		err = t.queryRow(ctx, `SELECT actor, company, expires_at, used_at FROM oauth_states WHERE hash = ? AND kind = ?`+t.s.d.LockRows,
			hash, kind).Scan(&actor, &o.Company, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (used.Valid || expires <= now.UnixMilli()) {
			return notFound("this " + kind + " (it is unknown, was used, or expired)")
		}
		if err != nil {
			return err
		}
		_ = json.Unmarshal([]byte(actor), &o.Actor)
		o.Kind, o.Hash, o.ExpiresAt = kind, hash, time.UnixMilli(expires).UTC()
		res, err := t.exec(ctx, `UPDATE oauth_states SET used_at = ? WHERE hash = ? AND used_at IS NULL`, now.UnixMilli(), hash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n != 1 {
			return notFound("this " + kind + " (it was just used)")
		}
		return nil
	})
	if err != nil {
		return o, fmt.Errorf("spending a one-time %s: %w", kind, storeErr(err))
	}
	return o, nil
}

const tokenColumns = `id, kind, company_id, location_id, secret_id, access_token, refresh_token, expires_at, generation, scopes,
	user_id, app_id, version_id, bulk, derived, state, state_message, retry_at, pending_id, created_at, updated_at`

func scanToken(r scanner) (rankr.OAuthToken, error) {
	var k rankr.OAuthToken
	var scopes string
	var expires, created, updated int64
	var retry sql.NullInt64
	err := r.Scan(&k.ID, &k.Kind, &k.CompanyID, &k.LocationID, &k.SecretID, &k.Access, &k.Refresh, &expires, &k.Generation,
		&scopes, &k.UserID, &k.AppID, &k.VersionID, &k.Bulk, &k.Derived, &k.State, &k.StateMessage, &retry, &k.PendingID,
		&created, &updated)
	k.Scopes = words(scopes)
	k.ExpiresAt, k.CreatedAt, k.UpdatedAt = time.UnixMilli(expires).UTC(), time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	k.RetryAt = fromMS(retry)
	return k, err
}

// OAuthTokenGet returns a token.
func (s *Store) OAuthTokenGet(ctx context.Context, id string) (rankr.OAuthToken, error) {
	k, err := scanToken(s.read().QueryRowContext(ctx, s.q(`SELECT `+tokenColumns+` FROM oauth_tokens WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("OAuth token " + id)
	}
	if err != nil {
		return k, fmt.Errorf("reading OAuth token %s: %w", id, unavailable(err))
	}
	return k, nil
}

// OAuthTokenList lists tokens.
func (s *Store) OAuthTokenList(ctx context.Context, p store.OAuthTokenListParams) ([]rankr.OAuthToken, error) {
	q := `SELECT ` + tokenColumns + ` FROM oauth_tokens WHERE 1 = 1`
	var args []any
	for col, v := range map[string]string{"company_id": p.CompanyID, "state": p.State, "pending_id": p.PendingID} {
		if v != "" {
			q += ` AND ` + col + ` = ?`
			args = append(args, v)
		}
	}
	rows, err := s.read().QueryContext(ctx, s.q(q+` ORDER BY id`), args...)
	if err != nil {
		return nil, fmt.Errorf("listing OAuth tokens: %w", unavailable(err))
	}
	return rowsOf(rows, scanToken)
}

// OAuthTokenSave stores a token, replacing one of the same id (whose
// generation it continues).
func (s *Store) OAuthTokenSave(ctx context.Context, p store.OAuthTokenSaveParams) (rankr.OAuthToken, error) {
	k := p.Token
	if k.ID == "" || k.Kind == "" || len(k.Access) == 0 || k.State == "" || k.SecretID == "" {
		return k, invalid("an OAuth token needs an id, a kind, an access token, a state and its client secret")
	}
	err := s.inTx(ctx, func(t *tx) error {
		now := cmp.Or(k.UpdatedAt, time.Now()).UnixMilli()
		var gen int64
		err := t.queryRow(ctx, `SELECT generation FROM oauth_tokens WHERE id = ?`+t.s.d.LockRows, k.ID).Scan(&gen)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			k.Generation = 1
			_, err = t.exec(ctx, `INSERT INTO oauth_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				k.ID, k.Kind, k.CompanyID, k.LocationID, k.SecretID, k.Access, k.Refresh, k.ExpiresAt.UnixMilli(), k.Generation,
				strings.Join(k.Scopes, " "), k.UserID, k.AppID, k.VersionID, k.Bulk, k.Derived, k.State, k.StateMessage,
				msOrNil(k.RetryAt), k.PendingID, now, now)
		case err == nil:
			k.Generation = gen + 1
			err = t.updateToken(ctx, k, gen, now)
		}
		if err != nil {
			return err
		}
		if p.Connection != nil {
			if err := t.upsertConnection(ctx, *p.Connection); err != nil {
				return err
			}
		}
		if p.Audit != nil {
			return t.appendAudit(ctx, *p.Audit)
		}
		return nil
	})
	if err != nil {
		return k, fmt.Errorf("saving OAuth token %s: %w", k.ID, storeErr(err))
	}
	return s.OAuthTokenGet(ctx, k.ID)
}

func msOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// updateToken writes a token's new pair and settings if its generation is
// still gen.
func (t *tx) updateToken(ctx context.Context, k rankr.OAuthToken, gen, now int64) error {
	res, err := t.exec(ctx, `UPDATE oauth_tokens SET secret_id = ?, access_token = ?, refresh_token = ?, expires_at = ?,
		generation = ?, scopes = ?, user_id = ?, app_id = ?, version_id = ?, bulk = ?, derived = ?, state = ?,
		state_message = ?, retry_at = ?, pending_id = ?, updated_at = ? WHERE id = ? AND generation = ?`,
		k.SecretID, k.Access, k.Refresh, k.ExpiresAt.UnixMilli(), gen+1, strings.Join(k.Scopes, " "), k.UserID, k.AppID,
		k.VersionID, k.Bulk, k.Derived, k.State, k.StateMessage, msOrNil(k.RetryAt), k.PendingID, now, k.ID, gen)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("%w: OAuth token %s changed meanwhile (generation %d is gone)", rankr.ErrConflict, k.ID, gen)
	}
	return nil
}

// OAuthRefresh runs fn under the token's refresh lock.
func (s *Store) OAuthRefresh(ctx context.Context, id string, fn func(context.Context, rankr.OAuthToken) (*rankr.OAuthToken, error)) (rankr.OAuthToken, error) {
	if s.locks != nil {
		return s.refreshUnderLockDB(ctx, id, fn)
	}
	// A row lock held for the length of fn: another process's refresh of
	// the same token waits here, then reads the pair this one stored. The
	// transaction is never retried, since fn may have spent a refresh
	// token.
	var out rankr.OAuthToken
	var fnErr error
	err := s.tryTx(ctx, func(t *tx) error {
		cur, err := scanToken(t.queryRow(ctx, `SELECT `+tokenColumns+` FROM oauth_tokens WHERE id = ?`+t.s.d.LockRows, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("OAuth token " + id)
		}
		if err != nil {
			return err
		}
		out = cur
		next, ferr := fn(ctx, cur)
		fnErr = ferr
		if next == nil {
			return nil
		}
		if err := t.updateToken(ctx, *next, cur.Generation, cmp.Or(next.UpdatedAt, time.Now()).UnixMilli()); err != nil {
			return err
		}
		out = *next
		out.Generation = cur.Generation + 1
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("refreshing OAuth token %s: %w", id, storeErr(err))
	}
	return out, fnErr
}

// refreshUnderLockDB serializes refreshes on the lock database's write
// lock (every process opening the same SQLite files shares it), and
// stores the result with a compare-and-set on the generation.
func (s *Store) refreshUnderLockDB(ctx context.Context, id string, fn func(context.Context, rankr.OAuthToken) (*rankr.OAuthToken, error)) (rankr.OAuthToken, error) {
	var lock *sql.Tx
	for {
		var err error
		lock, err = s.locks.BeginTx(ctx, nil)
		if err == nil {
			// The write lock itself: BEGIN IMMEDIATE takes it, and a
			// statement that writes confirms it held.
			_, err = lock.ExecContext(ctx, `UPDATE refresh_lock SET n = n + 1`)
			if err == nil {
				break
			}
			lock.Rollback()
		}
		if ctx.Err() != nil {
			return rankr.OAuthToken{}, ctx.Err()
		}
		if !s.d.Retryable(err) {
			return rankr.OAuthToken{}, fmt.Errorf("taking the token refresh lock: %w", unavailable(err))
		}
	}
	defer lock.Rollback()
	cur, err := s.OAuthTokenGet(ctx, id)
	if err != nil {
		return cur, err
	}
	next, fnErr := fn(ctx, cur)
	if next == nil {
		return cur, fnErr
	}
	// GHL has spent the old refresh token: the new pair is stored even if
	// the caller has given up meanwhile.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err = s.inTx(sctx, func(t *tx) error {
		return t.updateToken(sctx, *next, cur.Generation, cmp.Or(next.UpdatedAt, time.Now()).UnixMilli())
	})
	if err != nil {
		return cur, fmt.Errorf("storing the refreshed OAuth token %s: %w", id, storeErr(err))
	}
	out := *next
	out.Generation = cur.Generation + 1
	return out, fnErr
}

// OAuthSetState changes a token's state, and its connection's.
func (s *Store) OAuthSetState(ctx context.Context, p store.OAuthSetStateParams) (bool, error) {
	changed := false
	now := cmp.Or(p.Now, time.Now())
	err := s.inTx(ctx, func(t *tx) error {
		var state, loc, msg string
		err := t.queryRow(ctx, `SELECT state, location_id, state_message FROM oauth_tokens WHERE id = ?`+t.s.d.LockRows, p.ID).Scan(&state, &loc, &msg)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("OAuth token " + p.ID)
		}
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE oauth_tokens SET state = ?, state_message = ?, retry_at = ?, updated_at = ? WHERE id = ?`,
			p.State, p.Message, msOrNil(p.RetryAt), now.UnixMilli(), p.ID); err != nil {
			return err
		}
		if changed = state != p.State; !changed {
			return nil
		}
		if loc != "" {
			connState := rankr.StateActive
			switch p.State {
			case rankr.TokenReauthRequired:
				connState = rankr.StateReauthRequired
			case rankr.TokenInactive:
				connState = rankr.StateLocationInactive
			}
			if _, err := t.exec(ctx, `UPDATE connections SET state = ?, state_message = ?, updated_at = ? WHERE location_id = ?
				AND credential_kind = 'oauth'`, string(connState), p.Message, now.UnixMilli(), loc); err != nil {
				return err
			}
		}
		data := map[string]string{"token": p.ID, "from": state, "to": p.State, "message": p.Message}
		if err := t.appendEvent(ctx, loc, "connection.oauth_"+p.State, "oauth_token", p.ID, now, data); err != nil {
			return err
		}
		if p.Audit != nil {
			return t.appendAudit(ctx, *p.Audit)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("setting the state of OAuth token %s: %w", p.ID, storeErr(err))
	}
	return changed, nil
}

// OAuthClaim activates a pending install.
func (s *Store) OAuthClaim(ctx context.Context, pendingID string, audit rankr.AuditEntry) ([]rankr.OAuthToken, error) {
	var out []rankr.OAuthToken
	err := s.inTx(ctx, func(t *tx) error {
		rows, err := t.query(ctx, `SELECT `+tokenColumns+` FROM oauth_tokens WHERE pending_id = ? AND state = ?`+t.s.d.LockRows,
			pendingID, rankr.TokenPending)
		if err != nil {
			return err
		}
		if out, err = rowsOf(rows, scanToken); err != nil {
			return err
		}
		if len(out) == 0 {
			return notFound("pending install " + pendingID)
		}
		now := time.Now().UnixMilli()
		if _, err := t.exec(ctx, `UPDATE oauth_tokens SET state = ?, pending_id = '', updated_at = ? WHERE pending_id = ?`,
			rankr.TokenActive, now, pendingID); err != nil {
			return err
		}
		for i := range out {
			out[i].State, out[i].PendingID = rankr.TokenActive, ""
		}
		return t.appendAudit(ctx, audit)
	})
	if err != nil {
		return nil, fmt.Errorf("claiming install %s: %w", pendingID, storeErr(err))
	}
	return out, nil
}

// OAuthUninstall removes an install's tokens and suspends its connections.
func (s *Store) OAuthUninstall(ctx context.Context, p store.OAuthUninstallParams) ([]string, error) {
	if (p.CompanyID == "") == (p.LocationID == "") && p.PendingID == "" {
		return nil, invalid("an uninstall names a company or a location")
	}
	var suspended []string
	now := cmp.Or(p.Now, time.Now()).UnixMilli()
	err := s.inTx(ctx, func(t *tx) error {
		suspended = nil
		var rows *sql.Rows
		var err error
		if p.CompanyID != "" {
			rows, err = t.query(ctx, `SELECT location_id FROM oauth_tokens WHERE company_id = ? AND kind = ? AND derived`+t.s.d.LockRows,
				p.CompanyID, rankr.TokenLocation)
		} else {
			rows, err = t.query(ctx, `SELECT location_id FROM oauth_tokens WHERE id = ?`+t.s.d.LockRows, rankr.LocationTokenID(p.LocationID))
		}
		if err != nil {
			return err
		}
		locs, err := rowsOf(rows, scanID)
		if err != nil {
			return err
		}
		var res sql.Result
		if p.PendingID != "" {
			// An unclaimed install, and only while it is: a claim that came
			// first keeps it.
			res, err = t.exec(ctx, `DELETE FROM oauth_tokens WHERE pending_id = ? AND state = ?`, p.PendingID, rankr.TokenPending)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return notFound("a pending install " + p.PendingID)
			}
			return t.appendAudit(ctx, p.Audit)
		}
		if p.CompanyID != "" {
			res, err = t.exec(ctx, `DELETE FROM oauth_tokens WHERE id = ? OR (company_id = ? AND kind = ? AND derived)`,
				rankr.CompanyTokenID(p.CompanyID), p.CompanyID, rankr.TokenLocation)
			if err == nil {
				_, err = t.exec(ctx, `DELETE FROM oauth_parked WHERE company_id = ?`, p.CompanyID)
			}
		} else {
			res, err = t.exec(ctx, `DELETE FROM oauth_tokens WHERE id = ?`, rankr.LocationTokenID(p.LocationID))
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("an OAuth install of " + cmp.Or(p.CompanyID, p.LocationID))
		}
		for _, loc := range locs {
			res, err := t.exec(ctx, `UPDATE connections SET state = ?, state_message = ?, updated_at = ? WHERE location_id = ?
				AND credential_kind = 'oauth'`, string(rankr.StateSuspended), p.Message, now, loc)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				suspended = append(suspended, loc)
			}
		}
		return t.appendAudit(ctx, p.Audit)
	})
	if err != nil {
		return nil, fmt.Errorf("uninstalling: %w", storeErr(err))
	}
	return suspended, nil
}

// OAuthPark keeps an INSTALL webhook for later.
func (s *Store) OAuthPark(ctx context.Context, companyID, locationID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO oauth_parked (company_id, location_id, received_at) VALUES (?, ?, ?)
		ON CONFLICT (company_id, location_id) DO NOTHING`), companyID, locationID, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("parking the install of %s: %w", locationID, unavailable(err))
	}
	return nil
}

// OAuthParked returns and forgets a company's parked installs.
func (s *Store) OAuthParked(ctx context.Context, companyID string) ([]string, error) {
	var locs []string
	err := s.inTx(ctx, func(t *tx) error {
		rows, err := t.query(ctx, `SELECT location_id FROM oauth_parked WHERE company_id = ? ORDER BY received_at`, companyID)
		if err != nil {
			return err
		}
		if locs, err = rowsOf(rows, scanID); err != nil {
			return err
		}
		_, err = t.exec(ctx, `DELETE FROM oauth_parked WHERE company_id = ?`, companyID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the parked installs of %s: %w", companyID, unavailable(err))
	}
	return locs, nil
}
