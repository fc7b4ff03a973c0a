package daemon

import (
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/marketplace"
	"github.com/rankr/rankr/internal/rankr"
)

// MarketplaceConfig turns on GHL's marketplace workflow contract (see
// package marketplace).
type MarketplaceConfig struct {
	// Secret is the X-Rankr-Secret GHL sends (the static header set in the
	// marketplace app); empty turns the surface off.
	Secret string
	// TargetPrefixes are trigger target URL prefixes accepted besides
	// GHL's (a sandbox's).
	TargetPrefixes []string
	// Interval and BaseDelay tune the firing loop (tests shorten them).
	Interval, BaseDelay time.Duration
}

// newMarketplace is the marketplace surface over the daemon's use cases;
// trigger firings go through each location's GHL client, so they need the
// master key.
func (d *Daemon) newMarketplace() *marketplace.Service {
	mc := d.cfg.Marketplace
	cfg := marketplace.Config{Secret: mc.Secret, TargetPrefixes: mc.TargetPrefixes, Store: d.Store, App: d.App, Logger: d.log,
		Interval: mc.Interval, BaseDelay: mc.BaseDelay}
	if d.Vault != nil {
		clients := d.Syncer.Clients()
		cfg.Clients = func(conn rankr.Connection) marketplace.Executor { return clients.For(conn) }
	}
	return marketplace.New(cfg)
}

// marketplaceRoutes adds GHL's calls to rt. They are public to the API
// keys' guard: the marketplace checks its own secret and the location.
// They are there with the surface off too, answering 404 to everyone:
// left out, the router would ask for an API key instead, telling the
// world something is there.
func (d *Daemon) marketplaceRoutes(rt *access.Router) {
	for pattern, h := range d.Marketplace.Handlers() {
		rt.Handle(pattern, access.Public(), h)
	}
}

// runsMarketplace says whether this process fires the subscriptions.
func (d *Daemon) runsMarketplace() bool { return d.Marketplace.Enabled() && d.Vault != nil }
