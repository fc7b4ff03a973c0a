package daemon

import (
	"context"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/automation"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/rankr"
)

// newApp gives the use cases what this daemon holds. What needs the
// master key (connecting, keys) is left out without it, and the use cases
// say so.
func (d *Daemon) newApp() *app.App {
	deps := app.Deps{Store: d.Store, Pusher: d.Pusher, Reconciler: d.Reconciler, Notifier: d.Notifier, Webhooks: d.Webhooks,
		Status: d.sharedStatus, Logger: d.log, AlertTo: d.cfg.AlertEmails}
	if d.Vault != nil {
		deps.Sealing = true
		clients := d.Syncer.Clients()
		deps.GHL = func(conn rankr.Connection) catalog.Invoker { return clients.For(conn) }
		deps.Refresh = d.Syncer.Refresh
		deps.Connect = func(ctx context.Context, actor rankr.AuditActor, loc, name, baseURL, token string) (rankr.Connection, error) {
			return d.ConnectAs(ctx, actor, loc, name, baseURL, token)
		}
		deps.Keys = func(ctx context.Context) (*access.Keys, error) {
			acc, err := d.OpenAccess(ctx)
			if err != nil {
				return nil, err
			}
			return acc.Keys, nil
		}
	}
	return app.New(deps)
}

// newRunner is the automations' runner over the daemon's use cases: a
// location whose automations GHL's refusal paused is alerted about.
func (d *Daemon) newRunner() *automation.Runner {
	deps := d.App.RunnerDeps()
	deps.Paused = d.App.AlertAutomationsPaused
	deps.Observe = d.Metrics.ObserveRunStarted
	deps.Ended = d.Metrics.ObserveRunEnded
	return automation.NewRunner(deps)
}
