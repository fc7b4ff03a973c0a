package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/syncer"
)

// SyncCmd syncs locations to completion.
type SyncCmd struct {
	Location []string `help:"Sync only this location (repeatable)." env:"RANKR_SYNC_LOCATIONS"`
	Full     bool     `help:"Also walk everything again, healing gaps and marking records deleted in GHL." env:"RANKR_SYNC_FULL"`
	Workers  int      `help:"Detail fetches in flight per location (GHL's rate limit still applies)." default:"4" env:"RANKR_SYNC_WORKERS"`
	DataFlags
}

// Run backfills each location (resuming an interrupted backfill), then
// makes an incremental pass, and with --full a full walk.
func (c *SyncCmd) Run(ctx context.Context, g *Globals) error {
	d, err := g.open(ctx, false, daemon.Config{Sync: syncer.Options{Workers: c.Workers}})
	if err != nil {
		return err
	}
	defer d.Close()
	conns, err := d.Store.ConnectionList(ctx)
	if err != nil {
		return err
	}
	var locs []string
	for _, conn := range conns {
		if len(c.Location) > 0 && !slices.Contains(c.Location, conn.LocationID) {
			continue
		}
		if conn.State != rankr.StateActive {
			fmt.Fprintf(g.stderr, "rankr: skipping %s: %s (%s)\n", conn.LocationID, conn.State, conn.StateMessage)
			continue
		}
		locs = append(locs, conn.LocationID)
	}
	if len(locs) == 0 {
		return errors.New("no active connection to sync: add one with `rankr connect`")
	}

	start := time.Now()
	results := make([]syncResult, len(locs))
	var wg sync.WaitGroup
	for i, loc := range locs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = syncOne(ctx, d.Syncer, loc, c.Full)
		}()
	}
	stop := watchProgress(g.stdout, d.Syncer, locs, start)
	wg.Wait()
	stop()

	failed := 0
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCATION\tORDERS\tFULFILLMENTS\tPAYMENTS\tSUBSCRIPTIONS\tINVOICES\tGHL CALLS\tCALLS/ORDER\tRESULT")
	for i, loc := range locs {
		counts, _ := d.Store.Counts(ctx, loc)
		calls := d.Syncer.Clients().Calls(loc)
		perOrder := "-"
		if counts.Orders > 0 {
			perOrder = fmt.Sprintf("%.2f", float64(calls)/float64(counts.Orders))
		}
		result := "ok"
		if err := results[i].err; err != nil {
			failed++
			result = err.Error()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", loc, counts.Orders, counts.Fulfillments, counts.Transactions,
			counts.Subscriptions, counts.Invoices, calls, perOrder, result)
	}
	tw.Flush()
	fmt.Fprintf(g.stdout, "synced %d location(s) in %s\n", len(locs), time.Since(start).Round(100*time.Millisecond))
	if failed > 0 {
		return fmt.Errorf("%d of %d locations failed; see above", failed, len(locs))
	}
	return nil
}

type syncResult struct{ err error }

// syncOne runs a location's passes; a failed backfill is retried a few
// times (the client already retried each request) before giving up.
func syncOne(ctx context.Context, s *syncer.Syncer, loc string, full bool) syncResult {
	for attempt := 1; ; attempt++ {
		done, err := s.Backfill(ctx, loc)
		var cerr *syncer.ConnectionError
		switch {
		case err == nil && done:
		case err == nil:
			continue // a slice ended
		case errors.As(err, &cerr), ctx.Err() != nil, attempt == 5:
			return syncResult{err}
		default:
			time.Sleep(time.Duration(attempt) * time.Second)
			continue
		}
		break
	}
	if err := s.Poll(ctx, loc); err != nil {
		return syncResult{err}
	}
	for full {
		done, err := s.FullWalk(ctx, loc)
		if err != nil {
			return syncResult{err}
		}
		if done {
			break
		}
	}
	return syncResult{}
}

// watchProgress shows each location's progress until stop is called: live
// bars on a terminal, a line per location every few seconds otherwise.
func watchProgress(w io.Writer, s *syncer.Syncer, locs []string, start time.Time) (stop func()) {
	tty := isTerminal(w)
	every := 5 * time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		drawn := 0
		for {
			select {
			case <-done:
				if tty && drawn > 0 {
					drawProgress(w, s, locs, start, drawn)
				}
				return
			case <-t.C:
				if tty {
					drawProgress(w, s, locs, start, drawn)
					drawn = len(locs)
				} else {
					for _, loc := range locs {
						fmt.Fprintln(w, progressLine(s, loc, start, false))
					}
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

func drawProgress(w io.Writer, s *syncer.Syncer, locs []string, start time.Time, drawn int) {
	var b strings.Builder
	if drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", drawn) // back to the first bar
	}
	for _, loc := range locs {
		b.WriteString("\x1b[2K" + progressLine(s, loc, start, true) + "\n")
	}
	io.WriteString(w, b.String())
}

// progressLine describes a location: phase, bar, records, GHL calls, rate
// budget and the time left in the phase.
func progressLine(s *syncer.Syncer, loc string, start time.Time, bar bool) string {
	p := s.Progress(loc)
	b := s.Clients().Governor().Budget(loc)
	done, total := p.PhaseDone.Load(), p.PhaseTotal.Load()
	frac, eta := 0.0, ""
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
		if el := time.Since(start); done > 0 && frac < 1 {
			eta = " ETA " + (time.Duration(float64(el)/frac) - el).Round(time.Second).String()
		}
	}
	line := fmt.Sprintf("%-22s %-28s %6d/%-6d orders %-6d payments %-6d calls %-6d budget %d/%d%s",
		loc, p.PhaseName(), done, total, p.Orders.Load(), p.Transactions.Load(), s.Clients().Calls(loc), b.InWindow, b.Burst, eta)
	if bar {
		const width = 20
		n := int(frac * width)
		line = "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] " + line
	}
	return line
}
