package sqlstore

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/rankr/rankr/internal/store"
)

// keyIDSQL extracts the master key's id from a sealed column, as bytes:
// the vault writes it in clear after its 4-byte format tag (vault.KeyIDOffset).
// substr counts from 1 and reads bytes of a BLOB or BYTEA alike.
func keyIDSQL(col string) string { return "substr(" + col + ", 5, 8)" }

// SealedCount counts the sealed secrets of every kind by master key id.
func (s *Store) SealedCount(ctx context.Context) ([]store.SealedCount, error) {
	var out []store.SealedCount
	for _, c := range store.SealedColumns {
		id := keyIDSQL(c.Column)
		rows, err := s.read().QueryContext(ctx, `SELECT `+id+`, COUNT(*) FROM `+c.Table+` WHERE `+c.Column+` IS NOT NULL
			AND length(`+c.Column+`) > 0 GROUP BY `+id+` ORDER BY `+id)
		if err != nil {
			return nil, fmt.Errorf("counting sealed secrets (%s): %w", c.Kind, unavailable(err))
		}
		counts, err := rowsOf(rows, func(r scanner) (store.SealedCount, error) {
			n := store.SealedCount{Kind: c.Kind}
			var id []byte
			err := r.Scan(&id, &n.Count)
			n.KeyID = hex.EncodeToString(id)
			return n, err
		})
		if err != nil {
			return nil, fmt.Errorf("counting sealed secrets (%s): %w", c.Kind, unavailable(err))
		}
		out = append(out, counts...)
	}
	return out, nil
}

// SealedPage returns a page of one kind's sealed secrets, by key.
func (s *Store) SealedPage(ctx context.Context, p store.SealedPageParams) ([]store.SealedSecret, error) {
	c, ok := store.SealedColumnOf(p.Kind)
	if !ok {
		return nil, invalid("no sealed secrets are of kind %q", p.Kind)
	}
	q := `SELECT ` + c.Key + `, ` + c.Column + ` FROM ` + c.Table + ` WHERE ` + c.Column + ` IS NOT NULL AND length(` + c.Column + `) > 0 AND ` + c.Key + ` > ?`
	args := []any{p.AfterKey}
	if p.ExceptKeyID != "" {
		id, err := hex.DecodeString(p.ExceptKeyID)
		if err != nil {
			return nil, invalid("master key id %q is not hex", p.ExceptKeyID)
		}
		q += ` AND ` + keyIDSQL(c.Column) + ` <> ?`
		args = append(args, id)
	}
	q += ` ORDER BY ` + c.Key + ` LIMIT ?`
	rows, err := s.read().QueryContext(ctx, s.q(q), append(args, limit(p.Limit, 500, 5000))...)
	if err != nil {
		return nil, fmt.Errorf("reading sealed secrets (%s): %w", c.Kind, unavailable(err))
	}
	out, err := rowsOf(rows, func(r scanner) (store.SealedSecret, error) {
		x := store.SealedSecret{Kind: c.Kind}
		return x, r.Scan(&x.Key, &x.Sealed)
	})
	if err != nil {
		return nil, fmt.Errorf("reading sealed secrets (%s): %w", c.Kind, unavailable(err))
	}
	return out, nil
}

// SealedReplace replaces secrets that still hold their old value.
func (s *Store) SealedReplace(ctx context.Context, r []store.SealedReplacement) (int, error) {
	cols := make([]store.SealedColumn, len(r))
	for i, x := range r {
		c, ok := store.SealedColumnOf(x.Kind)
		if !ok {
			return 0, invalid("no sealed secrets are of kind %q", x.Kind)
		}
		if len(x.Old) == 0 || len(x.New) == 0 {
			return 0, invalid("a sealed secret is replaced from its old value by a new one")
		}
		cols[i] = c
	}
	var n int
	err := s.inTx(ctx, func(t *tx) error {
		n = 0
		for i, x := range r {
			c := cols[i]
			// The comparison is the whole compare-and-set: a secret written
			// since it was read (by any process) differs from Old.
			res, err := t.exec(ctx, `UPDATE `+c.Table+` SET `+c.Column+` = ? WHERE `+c.Key+` = ? AND `+c.Column+` = ?`,
				x.New, x.Key, x.Old)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("replacing sealed secrets: %w", unavailable(err))
	}
	return n, nil
}
