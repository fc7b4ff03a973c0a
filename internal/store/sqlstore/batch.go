package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// batch is one upsert call: its records and the work around them that every
// kind of record shares.
type batch[T any] struct {
	loc        string
	what       string // "order", for messages
	table      string
	items      []T
	key        func(T) (id string, updated time.Time)
	seen       time.Time
	checkpoint *rankr.Cursor
	now        time.Time
}

// upsert validates the batch, then in one transaction: lock reads (and
// locks) the stored states of its records, one stores each record, after
// runs once they are all in, the records are marked seen and the checkpoint
// is written. A failure anywhere rolls all of it back.
func (b batch[T]) upsert(ctx context.Context, s *Store, lock func(t *tx, ids []string) error,
	one func(t *tx, item T, res *store.UpsertResult) error, after func(t *tx, res *store.UpsertResult) error) (store.UpsertResult, error) {
	if b.loc == "" {
		return store.UpsertResult{}, invalid("a location id is required")
	}
	ids := make([]string, len(b.items))
	for i, item := range b.items {
		id, updated := b.key(item)
		switch {
		case id == "":
			return store.UpsertResult{}, invalid("a %s without an id", b.what)
		case updated.IsZero():
			return store.UpsertResult{}, invalid("%s %s has no updatedAt", b.what, id)
		}
		ids[i] = id
	}
	b.now = cmp.Or(b.now, time.Now())
	var res store.UpsertResult
	err := s.inTx(ctx, func(t *tx) error {
		res = store.UpsertResult{} // a retried transaction starts over
		if err := lock(t, ids); err != nil {
			return err
		}
		for i, item := range b.items {
			if err := one(t, item, &res); err != nil {
				return fmt.Errorf("%s %s: %w", b.what, ids[i], err)
			}
		}
		if after != nil {
			if err := after(t, &res); err != nil {
				return err
			}
		}
		if err := t.markSeen(ctx, b.table, b.loc, ids, b.seen); err != nil {
			return err
		}
		return t.putCursor(ctx, b.checkpoint, b.now)
	})
	return res, err
}

// stored returns a record's stored state. When there is none it inserts the
// record (insert reports whether it did); if another writer inserted it in
// the meantime, their state is read (and locked) instead. created is true
// when this call inserted the record.
func stored[S any](states map[string]S, id string, insert func() (bool, error), reload func([]string) (map[string]S, error)) (st S, created bool, err error) {
	if st, ok := states[id]; ok {
		return st, false, nil
	}
	if created, err = insert(); err != nil || created {
		return st, created, err
	}
	again, err := reload([]string{id})
	if err != nil {
		return st, false, err
	}
	st, ok := again[id]
	if !ok {
		return st, false, errors.New("the record vanished during the upsert")
	}
	states[id] = st
	return st, false, nil
}

// olderOrSame handles the versions that change nothing: an older one is
// stale, and the same one only brings back a record marked deleted. It
// reports whether the caller has a newer version to apply.
func (t *tx) olderOrSame(ctx context.Context, in, have version, deleted *bool, table, recordType, kind, loc, id string,
	now time.Time, res *store.UpsertResult) (newer bool, err error) {
	switch in.compare(have) {
	case -1:
		res.Stale++
		return false, nil
	case 0:
		if !*deleted {
			res.Unchanged++
			return false, nil
		}
		res.Changed = append(res.Changed, id)
		res.Events++
		return false, t.restore(ctx, table, recordType, kind, loc, id, now, deleted)
	}
	return true, nil
}

// changed records an effective change: its one event, of the most specific
// kind the changed fields call for (fallback when none does).
func (t *tx) changed(ctx context.Context, loc, recordType, id string, c changes, specific [][2]string, fallback string,
	updatedAt, now time.Time, res *store.UpsertResult) error {
	kind := c.kind(specific...)
	if kind == "" {
		kind = fallback
	}
	res.Changed = append(res.Changed, id)
	res.Events++
	return t.appendEvent(ctx, loc, kind, recordType, id, now, map[string]any{"changes": c, "updatedAt": updatedAt})
}
