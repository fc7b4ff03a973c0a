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

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

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
			g.Logger().Warn("skipping a connection that is not active", "location", conn.LocationID, "state", conn.State, "reason", conn.StateMessage)
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
	stop := watchProgress(g.stdout, d.Syncer, locs)
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
// bars when w is a terminal, fitted to its width, and nothing otherwise, so
// that pipes and logs get no escape codes and no lines of bars (the caller
// prints a summary at the end).
func watchProgress(w io.Writer, s *syncer.Syncer, locs []string) (stop func()) {
	if !isTerminal(w) {
		return func() {}
	}
	return showProgress(s, locs, mpb.WithOutput(w))
}

// The lists a walk pages through, in the order it does: a bar each.
var progressLists = []string{"orders", "transactions", "subscriptions", "invoices"}

// listOfPhase says which of progressLists a walk's phase is at; after the
// last paged list (deletions, done) it is len(progressLists).
func listOfPhase(phase string) int {
	switch phase {
	case "subscription details": // subscriptions are listed; invoices are next
		return slices.Index(progressLists, "invoices")
	case "products", "deletions", "done": // the catalog has no bar
		return len(progressLists)
	}
	return slices.Index(progressLists, phase) // -1: not a walk's phase
}

// showProgress draws, with mpb, a line per location (its phase, GHL calls,
// rate budget and the time left in the phase) and a bar per list under it,
// refreshed five times a second until stop is called. opts say where to
// draw and, where the output is not a terminal, how wide.
func showProgress(s *syncer.Syncer, locs []string, opts ...mpb.ContainerOption) (stop func()) {
	refresh := make(chan any)
	p := mpb.New(append([]mpb.ContainerOption{mpb.WithManualRefresh(refresh)}, opts...)...)
	var views []*locationProgress
	for _, loc := range locs {
		views = append(views, newLocationProgress(p, s, loc))
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			for _, v := range views {
				v.update(time.Now())
			}
			select {
			case <-done:
				return
			case <-t.C:
				select {
				case refresh <- struct{}{}:
				case <-done: // mpb stops listening after a failed write
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		for _, v := range views {
			v.update(time.Now())
		}
		// Aborting keeps each bar as it stands (a failed location's too) and
		// draws them a last time.
		for _, v := range views {
			v.header.Abort(false)
			for _, b := range v.bars {
				b.Abort(false)
			}
		}
		p.Wait()
	}
}

// locationProgress is a location's part of the display.
type locationProgress struct {
	s      *syncer.Syncer
	loc    string
	header *mpb.Bar
	bars   []*mpb.Bar // one per progressLists entry

	mu sync.Mutex // guards what follows, read while drawing
	// seen holds each list's last counts (walked, GHL's total) and
	// whether its walk has moved past it.
	seen []listSeen
	// The current phase and when it was first seen, for the time left.
	phase      string
	phaseSince time.Time
}

type listSeen struct {
	done, total int64
	finished    bool
}

func newLocationProgress(p *mpb.Progress, s *syncer.Syncer, loc string) *locationProgress {
	v := &locationProgress{s: s, loc: loc, seen: make([]listSeen, len(progressLists))}
	v.header = p.New(0, mpb.NopStyle(), mpb.BarFillerTrim(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return v.headerText(time.Now()) })))
	for i, name := range progressLists {
		v.bars = append(v.bars, p.New(0, mpb.BarStyle(), mpb.BarWidth(50),
			mpb.PrependDecorators(decor.Name("  "+name, decor.WC{W: 16, C: decor.DindentRight})),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return v.countText(i) }, decor.WC{W: 13}))))
	}
	return v
}

// update folds the syncer's progress into the bars.
func (v *locationProgress) update(now time.Time) {
	p := v.s.Progress(v.loc)
	phase := p.PhaseName()
	v.mu.Lock()
	if phase != v.phase {
		v.phase, v.phaseSince = phase, now
	}
	walk, step, _ := strings.Cut(phase, ": ")
	if at := listOfPhase(step); at >= 0 && walk != "poll" { // a poll has no counts: the bars keep what the walks showed
		for i := range v.seen {
			seen := &v.seen[i]
			switch {
			case i < at:
				seen.finished = true
				seen.done = max(seen.done, seen.total)
				seen.total = seen.done
			case i == at:
				// A new walk (a full walk after the backfill) starts it again.
				seen.finished = false
				seen.done, seen.total = p.PhaseDone.Load(), p.PhaseTotal.Load()
			}
		}
	}
	seen := slices.Clone(v.seen)
	// Unlocked before touching the bars: they read v while drawing.
	v.mu.Unlock()
	for i, b := range v.bars {
		done, total := seen[i].done, seen[i].total
		if seen[i].finished && total == 0 {
			done, total = 1, 1 // an empty list, or one walked before this run: full
		}
		b.SetTotal(max(total, done), false)
		b.SetCurrent(done)
	}
}

func (v *locationProgress) countText(i int) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	seen := v.seen[i]
	switch {
	case seen.total > 0:
		return fmt.Sprintf("%d/%d", seen.done, seen.total)
	case seen.finished:
		return "done"
	}
	return "-"
}

// headerText describes the location: its phase, GHL calls so far, rate
// budget in use, and the time left in a paged phase.
func (v *locationProgress) headerText(now time.Time) string {
	p := v.s.Progress(v.loc)
	b := v.s.Clients().Governor().Budget(v.loc)
	v.mu.Lock()
	phase, since := v.phase, v.phaseSince
	v.mu.Unlock()
	text := fmt.Sprintf("%s  %s  %d calls  budget %d/%d", v.loc, dash(phase), v.s.Clients().Calls(v.loc), b.InWindow, b.Burst)
	done, total := p.PhaseDone.Load(), p.PhaseTotal.Load()
	if el := now.Sub(since); total > 0 && done > 0 && done < total && !since.IsZero() {
		frac := float64(done) / float64(total)
		text += "  ETA " + (time.Duration(float64(el)/frac) - el).Round(time.Second).String()
	}
	return text
}
