package doctor

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/store"
)

// maxAge is the intake's tolerance for a webhook's timestamp.
func (r *run) maxAge() time.Duration { return cmp.Or(r.deps.Webhook.MaxAge, 5*time.Minute) }

// ghlClock estimates how far this host's clock is ahead of GHL's (behind
// when negative), from the first Date header GHL sent; ok is false when
// none came.
func ghlClock(locs []locResult) (skew time.Duration, base string, ok bool) {
	for _, l := range locs {
		if !l.date.IsZero() {
			// Date is truncated to the second: GHL's time was within the
			// second after it, the middle of which is the best guess.
			return l.dateAt.Sub(l.date.Add(500 * time.Millisecond)), l.conn.BaseURL, true
		}
	}
	return 0, "", false
}

// clock compares this host's clock with GHL's (its Date header) and with
// the timestamps of the webhooks received last.
func (r *run) clock(ctx context.Context, locs []locResult) Check {
	maxAge := r.maxAge()
	c := Check{ID: IDClock, Title: "Clock",
		Meaning: fmt.Sprintf("GHL stamps each webhook, and the intake refuses one more than %s from this host's clock as stale or replayed; "+
			"GHL does not send such a webhook again (it retries only 429s), so a wrong clock loses events.", maxAge)}
	var parts []string
	statuses := []Status{}

	if skew, base, ok := ghlClock(locs); ok {
		abs := max(skew, -skew)
		dir := "ahead of"
		if skew < 0 {
			dir = "behind"
		}
		p := fmt.Sprintf("this host's clock is %s %s GHL's (Date header of %s)", round(abs), dir, base)
		if abs < time.Second {
			// Date counts whole seconds: closer than that cannot be told.
			p = fmt.Sprintf("this host's clock is within a second of GHL's (Date header of %s)", base)
		}
		switch {
		case abs >= maxAge:
			statuses = append(statuses, Fail)
			p += fmt.Sprintf(": beyond the intake's %s, every webhook is refused as stale", maxAge)
		case abs >= min(30*time.Second, maxAge/4):
			statuses = append(statuses, Warn)
			p += fmt.Sprintf(": webhooks GHL delivers later than %s after the event are refused", round(maxAge-abs))
		default:
			statuses = append(statuses, Pass)
		}
		parts = append(parts, p)
	} else {
		parts = append(parts, "GHL's clock is not known (no answer with a Date header)")
	}

	cctx, cancel := r.step(ctx)
	seen, err := r.deps.Store.InboxRecent(cctx, store.InboxRecentParams{Limit: 50})
	cancel()
	var lags []time.Duration
	for _, w := range seen {
		if !w.EventAt.IsZero() {
			lags = append(lags, w.ReceivedAt.Sub(w.EventAt))
		}
	}
	switch {
	case err != nil:
		statuses = append(statuses, Warn)
		parts = append(parts, "the webhooks received could not be read: "+err.Error())
	case len(lags) == 0:
		parts = append(parts, "no stored webhook to compare with")
	default:
		slices.Sort(lags)
		median, top := lags[len(lags)/2], lags[len(lags)-1]
		p := fmt.Sprintf("the last %d webhooks arrived a median %s after GHL stamped them (the latest %s, the earliest %s)",
			len(lags), round(median), round(top), round(lags[0]))
		switch {
		case top > maxAge/2:
			statuses = append(statuses, Warn)
			p += fmt.Sprintf(": close to the intake's %s", maxAge)
		case median < -2*time.Second:
			statuses = append(statuses, Warn)
			p += ": stamped in this host's future, so its clock is behind GHL's"
		default:
			statuses = append(statuses, Pass)
		}
		parts = append(parts, p)
	}
	if r.deps.WebhookStats != nil {
		if st := r.deps.WebhookStats(); st.Stale > 0 {
			statuses = append(statuses, Warn)
			parts = append(parts, fmt.Sprintf("serve refused %d webhooks as stale or from the future since it started", st.Stale))
		}
	}
	c.Status = worst(statuses...)
	c.Detail = strings.Join(parts, "; ")
	if c.Status == Fail || c.Status == Warn {
		c.Fix = "Synchronize this host's clock (NTP: chrony or systemd-timesyncd; timedatectl status shows whether it is); " +
			"a webhook delay near the tolerance is GHL's: --webhook-max-age widens it, at the cost of a longer replay window."
	}
	return c
}
