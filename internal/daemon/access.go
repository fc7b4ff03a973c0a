package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/api"
	"github.com/rankr/rankr/internal/oauth"
	"github.com/rankr/rankr/internal/web"
)

// AccessConfig configures who may use rankr serve's HTTP routes.
type AccessConfig struct {
	// TrustedProxies are the CIDRs of reverse proxies whose
	// X-Forwarded-For is believed (default: none; the socket's peer is
	// the client).
	TrustedProxies []string
	// KeyRate bounds each API key's requests per second (default 50).
	KeyRate float64
	// SecureCookies marks the dashboard's cookie Secure (behind HTTPS).
	SecureCookies bool
	// AuditRetention is how long audit records are kept (0: for ever; at
	// least 90 days otherwise).
	AuditRetention time.Duration
	// CheckpointEvery is how often the audit log's head is signed (default
	// 60 s).
	CheckpointEvery time.Duration
}

// Access is what the daemon holds to authenticate and audit: the hasher
// under the installation's pepper, the key manager and the audit log's
// signing keys. It needs the master key.
type Access struct {
	Hasher  *access.Hasher
	Keys    *access.Keys
	Signers []*access.Signer
	Denials *access.Denials
}

// OpenAccess opens (once) what authenticating and auditing need: the
// installation's pepper and signing keys, made on first use, sealed by the
// master key. Only what serves HTTP or manages keys and the audit log
// needs it, so that the rest still works on a database whose secrets an
// earlier master key sealed.
func (d *Daemon) OpenAccess(ctx context.Context) (*Access, error) {
	d.accessMu.Lock()
	defer d.accessMu.Unlock()
	if d.Access != nil {
		return d.Access, nil
	}
	if d.Vault == nil {
		return nil, errors.New("API keys and the audit log need the master key (their secrets are sealed by it)")
	}
	h, err := access.LoadHasher(ctx, d.Store, d.Vault)
	if err != nil {
		return nil, err
	}
	signers, err := access.SigningKeys(ctx, d.Store, d.Vault)
	if err != nil {
		return nil, err
	}
	d.Access = &Access{Hasher: h, Keys: access.NewKeys(d.Store, h), Signers: signers,
		Denials: access.NewDenials(d.Store, d.log)}
	return d.Access, nil
}

// Router returns every HTTP route serve answers, each with its policy:
// GHL's webhooks (when webhooks is set) and the probes open, everything
// else behind an API key.
func (d *Daemon) Router(webhooks http.Handler) (*access.Router, error) {
	if _, err := d.OpenAccess(context.Background()); err != nil {
		return nil, err
	}
	ips, err := access.NewClientIP(d.cfg.Access.TrustedProxies)
	if err != nil {
		return nil, err
	}
	g, err := access.NewGuard(access.GuardConfig{Store: d.Store, Hasher: d.Access.Hasher, ClientIP: ips,
		Denials: d.Access.Denials, Logger: d.log, KeyRate: d.cfg.Access.KeyRate,
		SecureCookies: d.cfg.Access.SecureCookies, SignInPage: web.SignInPage()})
	if err != nil {
		return nil, err
	}
	d.accessMu.Lock()
	d.guards = append(d.guards, g)
	d.accessMu.Unlock()
	rt := access.NewRouter(g)
	if webhooks != nil {
		rt.Handle("POST "+WebhookPath, access.Public(), webhooks)
	}
	d.marketplaceRoutes(rt)
	if d.OAuth != nil {
		rt.Handle("GET "+oauth.StartPath, access.Public(), d.OAuth.StartHandler())
		rt.Handle("POST "+oauth.StartPath, access.Public(), d.OAuth.StartHandler())
		rt.Handle("GET "+oauth.CallbackPath, access.Public(), d.OAuth.CallbackHandler())
	}
	rt.HandleFunc("GET /healthz", access.Probe(), func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	rt.HandleFunc("GET /readyz", access.Probe(), d.ready)
	d.routeMetrics(rt)
	api.Register(rt, d.App, api.Options{Logger: d.log, Doctor: d.doctorFor})
	web.Register(rt, d.sharedStatus, d.Store.EventList, d.log)
	rt.NotFound()
	return rt, nil
}

// ready answers whether this process can serve: its database answers, its
// schema is the one it opened (another binary migrating it since, or a
// database restored from before, makes it not ready: restart it), and,
// under Run, its job queue runs. Probes get nothing more than that and a
// reason code.
func (d *Daemon) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	reason := ""
	if applied, err := d.records.Migrations(ctx); err != nil {
		reason = "database_unavailable"
	} else if len(applied) != d.schemaAt {
		reason = "schema_changed"
	} else if stopped := d.jobsStopped.Load(); stopped != nil && closed(*stopped) {
		reason = "jobs_not_running"
	}
	if reason != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{"ready": false, "reason": reason})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ready": true})
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// checkListen refuses to serve beyond this machine while no API key
// exists: every route but the webhooks would refuse everyone, and the first
// key is made on the host anyway.
func (d *Daemon) checkListen(ctx context.Context, addr net.Addr) error {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() {
		return nil
	}
	n, err := d.Store.KeyCount(ctx, time.Now())
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("not listening on %s: no API key exists yet, so nobody could use it. Make the first one on this host "+
			"(rankr keys create --role owner --expires 90d), then start serve again, or listen on 127.0.0.1", addr)
	}
	return nil
}

// runAccess runs the audit log's checkpoints and pruning, the per-minute
// record of refused requests, and the key expiry warnings, until ctx ends.
func (d *Daemon) runAccess(ctx context.Context) {
	cp := &access.Checkpointer{Store: d.Store, Signer: access.Current(d.Access.Signers), Logger: d.log,
		Interval: d.cfg.Access.CheckpointEvery, Retention: d.cfg.Access.AuditRetention}
	done := make(chan struct{}, 2)
	go func() { cp.Run(ctx); done <- struct{}{} }()
	go func() { d.Access.Denials.Run(ctx); done <- struct{}{} }()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		warned, err := d.Store.KeyWarnExpiring(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			d.log.Warn("checking for expiring API keys", "error", err)
		}
		for _, k := range warned {
			d.log.Warn("an API key expires soon: roll it (rankr keys roll)", "key", k.ID, "name", k.Name, "expires", k.ExpiresAt)
		}
		if d.OAuth != nil {
			if n, err := d.OAuth.ExpirePending(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("dropping unclaimed OAuth installs", "error", err)
			} else if n > 0 {
				d.log.Info("dropped OAuth installs nobody claimed within a day", "tokens", n)
			}
		}
		select {
		case <-ctx.Done():
			<-done
			<-done
			return
		case <-t.C:
		}
	}
}
