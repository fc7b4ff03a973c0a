package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

type invState struct {
	version
	status  string
	paid    int64
	deleted bool
}

func invHash(x rankr.Invoice) string {
	return contentHash(x.Number, x.Name, x.Status, x.ContactID, x.ContactName, x.ContactEmail, x.Currency, x.Total,
		x.AmountPaid, x.AmountDue, x.LiveMode, x.IssueDate, x.DueDate, x.CreatedAt.UnixMilli())
}

func (t *tx) invStates(ctx context.Context, loc string, ids []string) (map[string]*invState, error) {
	return lockStates(ctx, t, `SELECT id, updated_at, content_hash, status, amount_paid, deleted_at IS NOT NULL
		FROM invoices WHERE location_id = ? AND id IN (%s)`, loc, ids,
		func(r scanner) (string, *invState, error) {
			var id string
			st := &invState{}
			err := r.Scan(&id, &st.at, &st.hash, &st.status, &st.paid, &st.deleted)
			return id, st, err
		})
}

// InvoiceUpsert stores a batch of invoices.
func (s *Store) InvoiceUpsert(ctx context.Context, p store.InvoiceUpsertParams) (store.UpsertResult, error) {
	ids := make([]string, len(p.Invoices))
	for i, x := range p.Invoices {
		ids[i] = x.ID
		if x.UpdatedAt.IsZero() {
			return store.UpsertResult{}, invalid("invoice %s has no updatedAt", x.ID)
		}
	}
	if err := validateBatch(p.LocationID, ids); err != nil {
		return store.UpsertResult{}, err
	}
	now := cmp.Or(p.Now, time.Now())
	var res store.UpsertResult
	err := s.inTx(ctx, func(t *tx) error {
		res = store.UpsertResult{}
		states, err := t.invStates(ctx, p.LocationID, ids)
		if err != nil {
			return err
		}
		for _, x := range p.Invoices {
			if err := t.upsertInvoice(ctx, p.LocationID, x, states, now, &res); err != nil {
				return fmt.Errorf("invoice %s: %w", x.ID, err)
			}
		}
		if err := t.markSeen(ctx, "invoices", p.LocationID, ids, p.SeenAt); err != nil {
			return err
		}
		return t.putCursor(ctx, p.Checkpoint, now)
	})
	return res, err
}

func (t *tx) upsertInvoice(ctx context.Context, loc string, x rankr.Invoice, states map[string]*invState, now time.Time, res *store.UpsertResult) error {
	in := version{x.UpdatedAt.UnixMilli(), invHash(x)}
	st, ok := states[x.ID]
	if !ok {
		var got string
		err := t.queryRow(ctx, `INSERT INTO invoices (location_id, id, number, name, status, contact_id, contact_name,
			contact_email, currency, total, amount_paid, amount_due, live_mode, issue_date, due_date, created_at, updated_at,
			content_hash, raw, inserted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (location_id, id) DO NOTHING RETURNING id`,
			loc, x.ID, x.Number, x.Name, x.Status, x.ContactID, x.ContactName, x.ContactEmail, x.Currency, x.Total, x.AmountPaid,
			x.AmountDue, x.LiveMode, x.IssueDate, x.DueDate, x.CreatedAt.UnixMilli(), in.at, in.hash, string(x.Raw), now.UnixMilli()).Scan(&got)
		switch {
		case err == nil:
			states[x.ID] = &invState{version: in, status: x.Status, paid: x.AmountPaid}
			res.Created = append(res.Created, x.ID)
			res.Events++
			return t.appendEvent(ctx, loc, rankr.InvoiceCreated, rankr.RecordInvoice, x.ID, now, map[string]any{
				"status": x.Status, "total": x.Total, "amountPaid": x.AmountPaid, "currency": x.Currency, "updatedAt": x.UpdatedAt,
			})
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		again, err := t.invStates(ctx, loc, []string{x.ID})
		if err != nil {
			return err
		}
		st = again[x.ID]
		states[x.ID] = st
	}
	switch in.compare(st.version) {
	case -1:
		res.Stale++
		return nil
	case 0:
		if st.deleted {
			res.Changed = append(res.Changed, x.ID)
			res.Events++
			return t.restore(ctx, "invoices", rankr.RecordInvoice, rankr.InvoiceUpdated, loc, x.ID, now, &st.deleted)
		}
		res.Unchanged++
		return nil
	}
	c := changes{}
	c.note("status", st.status, x.Status)
	c.note("amountPaid", st.paid, x.AmountPaid)
	if st.deleted {
		c.note("deleted", true, false)
	}
	if _, err := t.exec(ctx, `UPDATE invoices SET number = ?, name = ?, status = ?, contact_id = ?, contact_name = ?,
		contact_email = ?, currency = ?, total = ?, amount_paid = ?, amount_due = ?, live_mode = ?, issue_date = ?, due_date = ?,
		created_at = ?, updated_at = ?, content_hash = ?, raw = ?, deleted_at = NULL WHERE location_id = ? AND id = ?`,
		x.Number, x.Name, x.Status, x.ContactID, x.ContactName, x.ContactEmail, x.Currency, x.Total, x.AmountPaid, x.AmountDue,
		x.LiveMode, x.IssueDate, x.DueDate, x.CreatedAt.UnixMilli(), in.at, in.hash, string(x.Raw), loc, x.ID); err != nil {
		return err
	}
	*st = invState{version: in, status: x.Status, paid: x.AmountPaid}
	kind := c.kind([2]string{"status", rankr.InvoiceStatusChanged})
	if kind == "" {
		kind = rankr.InvoiceUpdated
	}
	res.Changed = append(res.Changed, x.ID)
	res.Events++
	return t.appendEvent(ctx, loc, kind, rankr.RecordInvoice, x.ID, now, map[string]any{"changes": c, "updatedAt": x.UpdatedAt})
}

const invColumns = `location_id, id, number, name, status, contact_id, contact_name, contact_email, currency, total,
	amount_paid, amount_due, live_mode, issue_date, due_date, created_at, updated_at, deleted_at, raw`

func scanInvoice(r scanner) (rankr.Invoice, error) {
	var x rankr.Invoice
	var created, updated int64
	var deleted sql.NullInt64
	var raw string
	err := r.Scan(&x.LocationID, &x.ID, &x.Number, &x.Name, &x.Status, &x.ContactID, &x.ContactName, &x.ContactEmail,
		&x.Currency, &x.Total, &x.AmountPaid, &x.AmountDue, &x.LiveMode, &x.IssueDate, &x.DueDate, &created, &updated, &deleted, &raw)
	x.CreatedAt, x.UpdatedAt, x.DeletedAt, x.Raw = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC(), fromMS(deleted), []byte(raw)
	return x, err
}

// InvoiceGet returns one invoice.
func (s *Store) InvoiceGet(ctx context.Context, locationID, id string) (rankr.Invoice, error) {
	return getOne(ctx, s, "invoice", invColumns, "invoices", locationID, id, scanInvoice)
}

// InvoiceList lists invoices newest first.
func (s *Store) InvoiceList(ctx context.Context, p store.ListParams) ([]rankr.Invoice, error) {
	query, args := listQuery(invColumns, "invoices", p, false)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing invoices: %w", unavailable(err))
	}
	return rowsOf(rows, scanInvoice)
}
