package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/jobs"
	"github.com/rankr/rankr/internal/syncer"
)

// ServeCmd runs the connector.
type ServeCmd struct {
	Addr         string        `help:"Where to serve the status page (loopback unless you mean it; empty: no HTTP)." default:"127.0.0.1:8080" env:"RANKR_ADDR"`
	PollInterval time.Duration `help:"How often each location is polled." default:"30s" env:"RANKR_POLL_INTERVAL"`
	PollWindow   time.Duration `help:"How far back each poll re-reads for changes." default:"72h" env:"RANKR_POLL_WINDOW"`
	WalkInterval time.Duration `help:"How often each location is walked in full, to heal gaps and find deletions." default:"6h" env:"RANKR_WALK_INTERVAL"`
	Workers      int           `help:"Sync jobs running at once in this process." default:"8" env:"RANKR_WORKERS"`
	ID           string        `help:"A name for this process among those sharing a PostgreSQL database." env:"RANKR_INSTANCE_ID"`
}

func (c *ServeCmd) config() daemon.Config {
	return daemon.Config{
		Addr: c.Addr,
		Sync: syncer.Options{PollWindow: c.PollWindow, Slice: 30 * time.Second},
		Jobs: jobs.Config{PollInterval: c.PollInterval, WalkInterval: c.WalkInterval, Workers: c.Workers, ID: c.ID},
	}
}

// Run serves until interrupted.
func (c *ServeCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.open(ctx, true, c.config())
	if err != nil {
		return err
	}
	defer d.Close()
	g.Logger().Info("rankr serving", "db", d.Kind(), "addr", c.Addr, "pollInterval", c.PollInterval, "walkInterval", c.WalkInterval)
	return d.Run(ctx)
}

// StatusCmd shows every connection.
type StatusCmd struct {
	JSON bool `help:"Print JSON." name:"json"`
}

// Run prints the status.
func (c *StatusCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.open(ctx, false, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	st, err := d.Status(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.stdout, st)
	}
	if len(st) == 0 {
		fmt.Fprintln(g.stdout, "no connections: add one with `rankr connect`")
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCATION\tSTATE\tORDERS\tFULFILLMENTS\tPAYMENTS\tSUBSCRIPTIONS\tINVOICES\tBACKFILL\tLAST SYNC\tLAST ERROR")
	for _, s := range st {
		backfill := "done"
		if !s.Sync.BackfillDone {
			backfill = "at " + dash(s.Sync.BackfillPhase)
		}
		errMsg := s.Connection.LastError
		if s.Connection.StateMessage != "" {
			errMsg = s.Connection.StateMessage
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Connection.LocationID, s.Connection.State, s.Counts.Orders,
			s.Counts.Fulfillments, s.Counts.Transactions, s.Counts.Subscriptions, s.Counts.Invoices, backfill,
			when(s.Connection.LastSyncAt), dash(errMsg))
	}
	return tw.Flush()
}
