package daemon

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
		Store:        d.Store,
		GHL:          d.doctorClient,
		Webhook:      d.webhookConfig(),
		WebhookStats: d.WebhookStats,
		Schema:       d.checkSchema,
		Mail:         d.cfg.Mail,
		Outbound:     d.Webhooks.Guard().Client(),
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
	applied, err := again.Migrations(ctx)
	if err != nil {
		return s, err
	}
	s.Applied = len(applied)
	// Files sort by their number, so the last is the newest.
	if len(applied) > 0 {
		s.Newest = strings.TrimSuffix(applied[len(applied)-1], ".sql")
	}
	return s, nil
}
