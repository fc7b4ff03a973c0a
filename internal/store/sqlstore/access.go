package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// Installation returns the installation's settings, creating them once.
func (s *Store) Installation(ctx context.Context) (rankr.Installation, error) {
	in, err := s.installation(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		id := make([]byte, 10)
		rand.Read(id)
		// A process racing this one may insert first: either way one row
		// stands, and everyone reads it.
		_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO installation (id, install_id, allow_ips, created_at) VALUES (1, ?, '', ?)
			ON CONFLICT (id) DO NOTHING`), "ins_"+hex.EncodeToString(id), time.Now().UnixMilli())
		if err == nil {
			in, err = s.installation(ctx)
		}
	}
	if err != nil {
		return rankr.Installation{}, fmt.Errorf("reading the installation: %w", unavailable(err))
	}
	return in, nil
}

func (s *Store) installation(ctx context.Context) (rankr.Installation, error) {
	var in rankr.Installation
	var allow string
	var created int64
	err := s.read().QueryRowContext(ctx, `SELECT install_id, allow_ips, created_at FROM installation WHERE id = 1`).
		Scan(&in.ID, &allow, &created)
	in.AllowIPs, in.CreatedAt = words(allow), time.UnixMilli(created).UTC()
	return in, err
}

// InstallationSetAllowIPs replaces the installation's allow-list.
func (s *Store) InstallationSetAllowIPs(ctx context.Context, cidrs []string, audit rankr.AuditEntry) error {
	if _, err := s.Installation(ctx); err != nil {
		return err
	}
	err := s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(ctx, `UPDATE installation SET allow_ips = ? WHERE id = 1`, strings.Join(cidrs, " ")); err != nil {
			return err
		}
		return t.appendAudit(ctx, audit)
	})
	if err != nil {
		return fmt.Errorf("saving the installation's allow-list: %w", unavailable(err))
	}
	return nil
}

// SecretPut stores a sealed secret unless one of that name exists.
func (s *Store) SecretPut(ctx context.Context, name string, sealed []byte) ([]byte, error) {
	if name == "" || len(sealed) == 0 {
		return nil, invalid("a secret needs a name and a value")
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO install_secrets (name, sealed, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`), name, sealed, time.Now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("saving secret %s: %w", name, unavailable(err))
	}
	return s.SecretGet(ctx, name)
}

// SecretGet returns a sealed secret.
func (s *Store) SecretGet(ctx context.Context, name string) ([]byte, error) {
	var sealed []byte
	err := s.read().QueryRowContext(ctx, s.q(`SELECT sealed FROM install_secrets WHERE name = ?`), name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("secret " + name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading secret %s: %w", name, unavailable(err))
	}
	return sealed, nil
}

// SecretList returns the sealed secrets under a name prefix.
func (s *Store) SecretList(ctx context.Context, prefix string) (map[string][]byte, error) {
	rows, err := s.read().QueryContext(ctx, s.q(`SELECT name, sealed FROM install_secrets WHERE substr(name, 1, ?) = ?`),
		len(prefix), prefix)
	if err != nil {
		return nil, fmt.Errorf("listing secrets: %w", unavailable(err))
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var name string
		var sealed []byte
		if err := rows.Scan(&name, &sealed); err != nil {
			return nil, fmt.Errorf("listing secrets: %w", unavailable(err))
		}
		out[name] = sealed
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing secrets: %w", unavailable(err))
	}
	return out, nil
}

const keyColumns = `id, name, test, hash, last4, role, scopes, locations, allow_ips, created_by, created_at, expires_at,
	revoked_at, rotated_from, last_used_at, last_used_ip, last_used_ua, expiry_warned`

func scanKey(r scanner) (rankr.APIKey, error) {
	var k rankr.APIKey
	var scopes, locations, allow string
	var created, expires int64
	var revoked, used sql.NullInt64
	err := r.Scan(&k.ID, &k.Name, &k.Test, &k.Hash, &k.Last4, &k.Role, &scopes, &locations, &allow, &k.CreatedBy,
		&created, &expires, &revoked, &k.RotatedFrom, &used, &k.LastUsedIP, &k.LastUsedUA, &k.ExpiryWarned)
	k.Scopes, k.Locations, k.AllowIPs = words(scopes), words(locations), words(allow)
	k.CreatedAt, k.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	k.RevokedAt, k.LastUsedAt = fromMS(revoked), fromMS(used)
	return k, err
}

// words splits a space-separated column; an empty one is nil.
func words(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

func (t *tx) insertKey(ctx context.Context, k rankr.APIKey) error {
	if k.ID == "" || len(k.Hash) == 0 || k.Role == "" || k.CreatedBy == "" || k.ExpiresAt.IsZero() {
		return invalid("a key needs an id, a hash, a role, a creator and an expiry")
	}
	_, err := t.exec(ctx, `INSERT INTO api_keys (id, name, test, hash, last4, role, scopes, locations, allow_ips, created_by,
		created_at, expires_at, rotated_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Name, k.Test, k.Hash, k.Last4, k.Role, strings.Join(k.Scopes, " "), strings.Join(k.Locations, " "),
		strings.Join(k.AllowIPs, " "), k.CreatedBy, cmp.Or(k.CreatedAt, time.Now()).UnixMilli(), k.ExpiresAt.UnixMilli(),
		k.RotatedFrom)
	return err
}

// KeyCreate stores a key with its audit entry.
func (s *Store) KeyCreate(ctx context.Context, k rankr.APIKey, audit rankr.AuditEntry) error {
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.insertKey(ctx, k); err != nil {
			return err
		}
		return t.appendAudit(ctx, audit)
	})
	if err != nil {
		return fmt.Errorf("saving key %s: %w", k.ID, storeErr(err))
	}
	return nil
}

// storeErr marks an error as the database's unless it is already one of
// the domain's.
func storeErr(err error) error {
	if errors.Is(err, rankr.ErrInvalid) || errors.Is(err, rankr.ErrNotFound) || errors.Is(err, rankr.ErrConflict) {
		return err
	}
	return unavailable(err)
}

// KeyGet returns a key.
func (s *Store) KeyGet(ctx context.Context, id string) (rankr.APIKey, error) {
	k, err := scanKey(s.read().QueryRowContext(ctx, s.q(`SELECT `+keyColumns+` FROM api_keys WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return rankr.APIKey{}, notFound("key " + id)
	}
	if err != nil {
		return rankr.APIKey{}, fmt.Errorf("reading key %s: %w", id, unavailable(err))
	}
	return k, nil
}

// KeyList returns every key, newest first.
func (s *Store) KeyList(ctx context.Context) ([]rankr.APIKey, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", unavailable(err))
	}
	return rowsOf(rows, scanKey)
}

// KeyUpdate changes a key that is not revoked.
func (s *Store) KeyUpdate(ctx context.Context, p store.KeyUpdateParams, audit rankr.AuditEntry) error {
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.liveKey(ctx, p.ID); err != nil {
			return err
		}
		set := map[string]any{}
		if p.Role != nil {
			set["role"] = *p.Role
		}
		if p.AllowIPs != nil {
			set["allow_ips"] = strings.Join(*p.AllowIPs, " ")
		}
		if p.ExpiresAt != nil {
			set["expires_at"] = p.ExpiresAt.UnixMilli()
		}
		if p.RevokedAt != nil {
			set["revoked_at"] = p.RevokedAt.UnixMilli()
		}
		for _, col := range []string{"role", "allow_ips", "expires_at", "revoked_at"} {
			v, ok := set[col]
			if !ok {
				continue
			}
			if _, err := t.exec(ctx, `UPDATE api_keys SET `+col+` = ? WHERE id = ?`, v, p.ID); err != nil {
				return err
			}
		}
		return t.appendAudit(ctx, audit)
	})
	if err != nil {
		return fmt.Errorf("updating key %s: %w", p.ID, storeErr(err))
	}
	return nil
}

// liveKey locks a key that exists and is not revoked.
func (t *tx) liveKey(ctx context.Context, id string) error {
	var revoked sql.NullInt64
	err := t.queryRow(ctx, `SELECT revoked_at FROM api_keys WHERE id = ?`+t.s.d.LockRows, id).Scan(&revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("key " + id)
	}
	if err != nil {
		return err
	}
	if revoked.Valid {
		return fmt.Errorf("%w: key %s is revoked", rankr.ErrConflict, id)
	}
	return nil
}

// KeyRoll stores the new key and shortens the old one's life.
func (s *Store) KeyRoll(ctx context.Context, p store.KeyRollParams, audit rankr.AuditEntry) error {
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.liveKey(ctx, p.Old); err != nil {
			return err
		}
		if err := t.insertKey(ctx, p.New); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE api_keys SET expires_at = CASE WHEN expires_at < ? THEN expires_at ELSE ? END
			WHERE id = ?`, p.OldExpiresAt.UnixMilli(), p.OldExpiresAt.UnixMilli(), p.Old); err != nil {
			return err
		}
		// The keys the old key made are the new one's now: their rights
		// follow it, and outlive the old key's expiry.
		if _, err := t.exec(ctx, `UPDATE api_keys SET created_by = ? WHERE created_by = ?`, p.New.ID, p.Old); err != nil {
			return err
		}
		return t.appendAudit(ctx, audit)
	})
	if err != nil {
		return fmt.Errorf("rolling key %s: %w", p.Old, storeErr(err))
	}
	return nil
}

// KeyTouch records a key's last use, at most once per p.Every.
func (s *Store) KeyTouch(ctx context.Context, p store.KeyTouchParams) error {
	at := cmp.Or(p.At, time.Now()).UnixMilli()
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE api_keys SET last_used_at = ?, last_used_ip = ?, last_used_ua = ?
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`), at, p.IP, truncateUA(p.UA), p.ID, at-p.Every.Milliseconds())
	if err != nil {
		return fmt.Errorf("recording the use of key %s: %w", p.ID, unavailable(err))
	}
	return nil
}

// truncateUA bounds what a client's user agent may make us store.
func truncateUA(ua string) string {
	if len(ua) > 256 {
		return ua[:256]
	}
	return ua
}

// KeyWarnExpiring marks and reports keys entering their last week or day.
func (s *Store) KeyWarnExpiring(ctx context.Context, now time.Time) ([]rankr.APIKey, error) {
	var warned []rankr.APIKey
	err := s.inTx(ctx, func(t *tx) error {
		warned = nil
		rows, err := t.query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE revoked_at IS NULL AND expires_at > ?
			AND expires_at <= ? ORDER BY expires_at`+t.s.d.LockRows, now.UnixMilli(), now.Add(7*24*time.Hour).UnixMilli())
		if err != nil {
			return err
		}
		keys, err := rowsOf(rows, scanKey)
		if err != nil {
			return err
		}
		for _, k := range keys {
			window := 7
			if k.ExpiresAt.Sub(now) <= 24*time.Hour {
				window = 1
			}
			if k.ExpiryWarned != 0 && k.ExpiryWarned <= window {
				continue
			}
			if _, err := t.exec(ctx, `UPDATE api_keys SET expiry_warned = ? WHERE id = ?`, window, k.ID); err != nil {
				return err
			}
			data := map[string]any{"keyId": k.ID, "name": k.Name, "expiresAt": k.ExpiresAt, "days": window}
			if err := t.appendEvent(ctx, "", "key.expiring", "api_key", k.ID, now, data); err != nil {
				return err
			}
			k.ExpiryWarned = window
			warned = append(warned, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("warning of expiring keys: %w", unavailable(err))
	}
	return warned, nil
}

// KeyCount counts usable keys.
func (s *Store) KeyCount(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.read().QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL AND expires_at > ?`),
		now.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting keys: %w", unavailable(err))
	}
	return n, nil
}

// appendAudit appends entries to the audit log within the transaction. It
// locks the log's head first: appends are numbered and chained in the
// order they commit.
func (t *tx) appendAudit(ctx context.Context, entries ...rankr.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var size int64
	var prev []byte
	if err := t.queryRow(ctx, `SELECT size, hash FROM audit_head WHERE id = 1`+t.s.d.LockRows).Scan(&size, &prev); err != nil {
		return fmt.Errorf("locking the audit log: %w", err)
	}
	for _, e := range entries {
		if e.Action == "" || e.Outcome == "" || e.Actor.Type == "" {
			return invalid("an audit entry needs an action, an outcome and an actor")
		}
		e.At = cmp.Or(e.At, time.Now())
		size++
		body, err := rankr.AuditBody(size, e)
		if err != nil {
			return fmt.Errorf("encoding audit record %d: %w", size, err)
		}
		prev = rankr.AuditChain(prev, body)
		if _, err := t.exec(ctx, `INSERT INTO audit_log (seq, at, actor_type, actor_id, action, outcome, body, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, size, e.At.UnixMilli(), e.Actor.Type, e.Actor.ID, e.Action, e.Outcome,
			body, prev); err != nil {
			return fmt.Errorf("appending audit record %d: %w", size, err)
		}
	}
	_, err := t.exec(ctx, `UPDATE audit_head SET size = ?, hash = ? WHERE id = 1`, size, prev)
	return err
}

// AuditAppend appends entries in one transaction.
func (s *Store) AuditAppend(ctx context.Context, entries ...rankr.AuditEntry) error {
	if err := s.inTx(ctx, func(t *tx) error { return t.appendAudit(ctx, entries...) }); err != nil {
		return fmt.Errorf("writing the audit log: %w", storeErr(err))
	}
	return nil
}

// AuditList lists records in order.
func (s *Store) AuditList(ctx context.Context, p store.AuditListParams) ([]rankr.AuditRecord, error) {
	q := `SELECT seq, body, hash, at, actor_type, actor_id, action, outcome FROM audit_log WHERE seq > ?`
	args := []any{p.AfterSeq}
	if p.BeforeSeq > 0 {
		q += ` AND seq < ?`
		args = append(args, p.BeforeSeq)
	}
	if !p.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, p.Since.UnixMilli())
	}
	if p.Actor != "" {
		q += ` AND (actor_id = ? OR actor_type = ?)`
		args = append(args, p.Actor, p.Actor)
	}
	if p.Action != "" {
		if strings.HasSuffix(p.Action, ".") {
			q += ` AND substr(action, 1, ?) = ?`
			args = append(args, len(p.Action), p.Action)
		} else {
			q += ` AND action = ?`
			args = append(args, p.Action)
		}
	}
	q += ` ORDER BY seq`
	if p.Newest {
		q += ` DESC`
	}
	q += ` LIMIT ?`
	args = append(args, limit(p.Limit, 100, 10000))
	rows, err := s.read().QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("listing the audit log: %w", unavailable(err))
	}
	return rowsOf(rows, scanAudit)
}

// scanAudit reads a record. A body that does not parse is returned with
// its seq and bytes, for verification to name it.
func scanAudit(r scanner) (rankr.AuditRecord, error) {
	var rec rankr.AuditRecord
	var at int64
	ix := &rec.Index
	if err := r.Scan(&rec.Seq, &rec.Body, &rec.Hash, &at, &ix.ActorType, &ix.ActorID, &ix.Action, &ix.Outcome); err != nil {
		return rec, err
	}
	ix.At = time.UnixMilli(at).UTC()
	if _, e, err := rankr.ParseAuditBody(rec.Body); err == nil {
		rec.AuditEntry = e
	}
	return rec, nil
}

// AuditHead returns the log's size and last hash.
func (s *Store) AuditHead(ctx context.Context) (int64, []byte, error) {
	var size int64
	var hash []byte
	if err := s.read().QueryRowContext(ctx, `SELECT size, hash FROM audit_head WHERE id = 1`).Scan(&size, &hash); err != nil {
		return 0, nil, fmt.Errorf("reading the audit log's head: %w", unavailable(err))
	}
	return size, hash, nil
}

// AuditCheckpointAdd stores a checkpoint.
func (s *Store) AuditCheckpointAdd(ctx context.Context, cp rankr.AuditCheckpoint) error {
	if cp.Size <= 0 || len(cp.Hash) == 0 || len(cp.Signature) == 0 || cp.KeyID == "" {
		return invalid("a checkpoint needs a size, a hash, a key id and a signature")
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO audit_checkpoints (size, hash, key_id, signature, at, base)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (size) DO NOTHING`), cp.Size, cp.Hash, cp.KeyID, cp.Signature,
		cmp.Or(cp.At, time.Now()).UnixMilli(), cp.Base)
	if err != nil {
		return fmt.Errorf("saving audit checkpoint %d: %w", cp.Size, unavailable(err))
	}
	return nil
}

// AuditCheckpoints returns the checkpoints by size.
func (s *Store) AuditCheckpoints(ctx context.Context) ([]rankr.AuditCheckpoint, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT size, hash, key_id, signature, at, base FROM audit_checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("listing audit checkpoints: %w", unavailable(err))
	}
	return rowsOf(rows, func(r scanner) (rankr.AuditCheckpoint, error) {
		var cp rankr.AuditCheckpoint
		var at int64
		err := r.Scan(&cp.Size, &cp.Hash, &cp.KeyID, &cp.Signature, &at, &cp.Base)
		cp.At = time.UnixMilli(at).UTC()
		return cp, err
	})
}

// AuditPrune drops the records a base checkpoint covers.
func (s *Store) AuditPrune(ctx context.Context, base rankr.AuditCheckpoint) (int, error) {
	var n int64
	err := s.inTx(ctx, func(t *tx) error {
		var hash []byte
		err := t.queryRow(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, base.Size).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) {
			return invalid("record %d is not in the audit log", base.Size)
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(hash, base.Hash) {
			return invalid("the base checkpoint's hash is not record %d's", base.Size)
		}
		res, err := t.exec(ctx, `DELETE FROM audit_log WHERE seq <= ?`, base.Size)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		if _, err := t.exec(ctx, `DELETE FROM audit_checkpoints WHERE size <= ?`, base.Size); err != nil {
			return err
		}
		_, err = t.exec(ctx, `INSERT INTO audit_checkpoints (size, hash, key_id, signature, at, base) VALUES (?, ?, ?, ?, ?, ?)`,
			base.Size, base.Hash, base.KeyID, base.Signature, cmp.Or(base.At, time.Now()).UnixMilli(), true)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning the audit log: %w", storeErr(err))
	}
	return int(n), nil
}
