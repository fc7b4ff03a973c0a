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
	now := cmp.Or(p.Now, time.Now())
	b := batch[rankr.Invoice]{loc: p.LocationID, what: "invoice", table: "invoices", items: p.Invoices, seen: p.SeenAt,
		checkpoint: p.Checkpoint, now: now, key: func(x rankr.Invoice) (string, time.Time) { return x.ID, x.UpdatedAt }}
	var states map[string]*invState
	return b.upsert(ctx, s,
		func(t *tx, ids []string) (err error) { states, err = t.invStates(ctx, p.LocationID, ids); return err },
		func(t *tx, x rankr.Invoice, res *store.UpsertResult) error {
			return t.upsertInvoice(ctx, p.LocationID, x, states, now, res)
		}, nil)
}

func (t *tx) upsertInvoice(ctx context.Context, loc string, x rankr.Invoice, states map[string]*invState, now time.Time, res *store.UpsertResult) error {
	in := version{x.UpdatedAt.UnixMilli(), invHash(x)}
	st, created, err := stored(states, x.ID,
		func() (bool, error) { return t.insertInvoice(ctx, loc, x, in, now) },
		func(ids []string) (map[string]*invState, error) { return t.invStates(ctx, loc, ids) })
	if err != nil || created {
		if created {
			states[x.ID] = &invState{version: in, status: x.Status, paid: x.AmountPaid}
			res.Created = append(res.Created, x.ID)
			res.Events++
		}
		return err
	}
	if newer, err := t.olderOrSame(ctx, in, st.version, &st.deleted, "invoices", rankr.RecordInvoice, rankr.InvoiceUpdated, loc, x.ID, now, res); !newer || err != nil {
		return err
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
	return t.changed(ctx, loc, rankr.RecordInvoice, x.ID, c, [][2]string{{"status", rankr.InvoiceStatusChanged}},
		rankr.InvoiceUpdated, x.UpdatedAt, now, res)
}

// insertInvoice inserts a new invoice, with its event; false means another
// writer got there first.
func (t *tx) insertInvoice(ctx context.Context, loc string, x rankr.Invoice, in version, now time.Time) (bool, error) {
	var got string
	err := t.queryRow(ctx, `INSERT INTO invoices (location_id, id, number, name, status, contact_id, contact_name,
		contact_email, currency, total, amount_paid, amount_due, live_mode, issue_date, due_date, created_at, updated_at,
		content_hash, raw, inserted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (location_id, id) DO NOTHING RETURNING id`,
		loc, x.ID, x.Number, x.Name, x.Status, x.ContactID, x.ContactName, x.ContactEmail, x.Currency, x.Total, x.AmountPaid,
		x.AmountDue, x.LiveMode, x.IssueDate, x.DueDate, x.CreatedAt.UnixMilli(), in.at, in.hash, string(x.Raw), now.UnixMilli()).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, t.appendEvent(ctx, loc, rankr.InvoiceCreated, rankr.RecordInvoice, x.ID, now, map[string]any{
		"status": x.Status, "total": x.Total, "amountPaid": x.AmountPaid, "currency": x.Currency, "updatedAt": x.UpdatedAt,
	})
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
	query, args := listQuery(invColumns, invoicesTable, p)
	rows, err := s.read().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("listing invoices: %w", unavailable(err))
	}
	return rowsOf(rows, scanInvoice)
}
