package daemon

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/doctor"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store/postgres"
	"github.com/rankr/rankr/internal/store/sqlite"
	"github.com/rankr/rankr/internal/store/sqlstore"
	"github.com/rankr/rankr/internal/syncer"
)

// DoctorDeps returns what rankr doctor checks this rankr with: its store,
// GHL clients built as the syncer's are (this process's rate governor and
// GHL options, the connections' tokens), the webhook intake's settings, the
// mailer's, the outbound webhooks' client, and the push flow for the test
// order. SignWebhook is left nil: rankr cannot sign as GHL (a test or a
// demo holding a sandbox's key sets it).
func (d *Daemon) DoctorDeps() doctor.Deps {
	deps := doctor.Deps{
		Store:          d.Store,
		GHL:            d.doctorClient,
		Webhook:        d.webhookConfig(),
		WebhookStats:   d.WebhookStats,
		RecentWebhooks: d.recentWebhooks,
		Schema:         d.checkSchema,
		Mail:           d.cfg.Mail,
		Outbound:       d.Webhooks.Guard().Client(),
	}
	if d.Vault != nil {
		// Both need the connections' tokens.
		deps.Pusher = d.Pusher
		deps.SyncOrder = func(ctx context.Context, locationID, orderID string) error {
			return d.Syncer.Refresh(ctx, locationID, syncer.RefreshOrder, orderID)
		}
	}
	return deps
}

// doctorFor runs the doctor for GET /api/v1/doctor: on the location
// asked, or every location, narrowed to those the caller sees. (The test
// order round trip is the CLI's alone: it changes GHL.)
func (d *Daemon) doctorFor(ctx context.Context, c app.Caller, loc string) (any, error) {
	loc, err := c.OneLocation(loc, "locationId")
	if err != nil {
		return nil, err
	}
	return doctor.Run(ctx, d.DoctorDeps(), doctor.Options{Location: loc})
}

// doctorClient is a GHL client for one connection, with the doctor's own
// options after the daemon's.
func (d *Daemon) doctorClient(conn rankr.Connection, opts ...ghl.Option) *ghl.Client {
	all := append([]ghl.Option{
		ghl.WithBaseURL(conn.BaseURL),
		ghl.WithGovernor(d.Syncer.Clients().Governor()),
		ghl.WithLogger(d.log),
	}, d.cfg.GHL...)
	return ghl.NewClient(doctorTokens{d}, append(all, opts...)...)
}

// doctorTokens gives the doctor's clients the connections' tokens as the
// syncer's get them: a PIT opened by the vault, an OAuth install's access
// token from the OAuth manager (refreshed when due, and once more when GHL
// refuses it).
type doctorTokens struct{ d *Daemon }

func (t doctorTokens) Token(ctx context.Context, locationID string) (string, error) {
	conn, err := t.d.Store.ConnectionGet(ctx, locationID)
	if err != nil {
		return "", fmt.Errorf("loading the connection of %s: %w", locationID, err)
	}
	if conn.CredentialKind == "oauth" {
		if t.d.OAuth == nil {
			return "", errors.New("the OAuth installs need the master key")
		}
		return t.d.OAuth.Token(ctx, locationID)
	}
	if t.d.Vault == nil {
		return "", errors.New("opening the token needs the master key")
	}
	secret, err := t.d.Vault.Open(conn.Credential, syncer.CredentialContext(locationID))
	if err != nil {
		return "", fmt.Errorf("opening the token of %s (is the master key the one it was sealed with?): %w", locationID, err)
	}
	return string(secret), nil
}

func (t doctorTokens) TokenRejected(ctx context.Context, locationID, token string) (bool, error) {
	conn, err := t.d.Store.ConnectionGet(ctx, locationID)
	if err != nil || conn.CredentialKind != "oauth" || t.d.OAuth == nil {
		return false, nil
	}
	return t.d.OAuth.TokenRejected(ctx, locationID, token)
}

// recentWebhooks reads the webhooks stored last, from the inbox's database.
// (The store has no such read: the intake only appends and the processor
// claims; this is the doctor's alone.)
func (d *Daemon) recentWebhooks(ctx context.Context, limit int) ([]doctor.WebhookSeen, error) {
	st, ok := d.Store.(*sqlstore.Store)
	if !ok {
		return nil, errors.New("the store keeps no inbox to read")
	}
	// No placeholder: the limit is an int, and each dialect numbers its
	// own.
	rows, err := st.InboxDB().QueryContext(ctx, `SELECT type, location_id, received_at, event_at FROM webhook_inbox ORDER BY seq DESC LIMIT `+
		strconv.Itoa(max(limit, 1)))
	if err != nil {
		return nil, fmt.Errorf("reading the webhook inbox: %w", err)
	}
	defer rows.Close()
	var out []doctor.WebhookSeen
	for rows.Next() {
		var w doctor.WebhookSeen
		var received int64
		var event sql.NullInt64
		if err := rows.Scan(&w.Type, &w.LocationID, &received, &event); err != nil {
			return nil, fmt.Errorf("reading the webhook inbox: %w", err)
		}
		w.ReceivedAt = time.UnixMilli(received).UTC()
		if event.Valid {
			w.EventAt = time.UnixMilli(event.Int64).UTC()
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the webhook inbox: %w", err)
	}
	return out, nil
}

// checkSchema opens the database again the way Open does, with its
// migrator, and closes it: the migrator refuses a database with
// migrations this binary does not know (a newer rankr migrated it) or whose
// applied migrations were edited, and applies what is pending, as every
// rankr start does (this process migrated when it started, so normally
// nothing is). Then it counts what is applied.
func (d *Daemon) checkSchema(ctx context.Context) (doctor.Schema, error) {
	s := doctor.Schema{Kind: d.kind}
	kind, target, err := ParseDB(d.cfg.DB)
	if err != nil {
		return s, err
	}
	migrateJobs := func(ctx context.Context, db *sql.DB, tx *sql.Tx) error {
		return jobs.Migrate(ctx, riverDriver(kind, db), tx)
	}
	var again *sqlstore.Store
	if kind == "sqlite" {
		if _, serr := os.Stat(filepath.Dir(target)); serr != nil {
			return s, fmt.Errorf("the database's directory: %w", serr)
		}
		again, err = sqlite.Open(ctx, target, migrateJobs)
	} else {
		again, err = postgres.Open(ctx, target, migrateJobs)
	}
	if err != nil {
		return s, err
	}
	defer again.Close()
	rows, err := again.DB().QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return s, fmt.Errorf("reading schema_migrations: %w", err)
	}
	defer rows.Close()
	newest := -1
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return s, fmt.Errorf("reading schema_migrations: %w", err)
		}
		s.Applied++
		digits, _, _ := strings.Cut(v, "_")
		if n, err := strconv.Atoi(digits); err == nil && n > newest {
			newest, s.Newest = n, strings.TrimSuffix(v, ".sql")
		}
	}
	return s, rows.Err()
}
