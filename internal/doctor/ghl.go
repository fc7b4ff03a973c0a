package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/rankr"
)

// locResult is what the checks of one location found, for the checks
// that follow (the clock, the webhook keys, the test order).
type locResult struct {
	conn    rankr.Connection
	checks  []Check
	client  *ghl.Client
	tokenOK bool // GHL took the token
	// date is GHL's clock, from the Date header of its first answer, and
	// at the local time that answer arrived.
	date, dateAt time.Time
	sandbox      *sandboxInfo // nil: GHL itself, or not known
}

func (l *locResult) add(c Check) {
	c.Location = l.conn.LocationID
	l.checks = append(l.checks, c)
}

// recorder keeps what the doctor's GHL client saw: how many requests went
// out, and the last answer's status and headers (the rate headers, Date).
type recorder struct {
	next http.RoundTripper
	now  func() time.Time

	mu     sync.Mutex
	sent   int
	status int
	header http.Header
	at     time.Time
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.sent++
	r.mu.Unlock()
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		at := r.now()
		r.mu.Lock()
		r.status, r.header, r.at = resp.StatusCode, resp.Header.Clone(), at
		r.mu.Unlock()
	}
	return resp, err
}

func (r *recorder) last() (sent, status int, h http.Header, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent, r.status, r.header, r.at
}

// feature is something rankr does with GHL, the scope it needs (taken
// from the operation it calls, see ghl.Operations) and a harmless call
// that needs the scope.
type feature struct {
	what  string
	op    ghl.Operation
	write bool // optional: rankr syncs without it
	probe func(ctx context.Context, c *ghl.Client, loc string) error
}

// probeOrder is an order id no GHL location has: a write probed on it
// cannot change anything.
const probeOrder = "000000000000000000000000"

var features = []feature{
	{"syncing orders, their items and fulfillments", ghl.OpListOrders, false, func(ctx context.Context, c *ghl.Client, loc string) error {
		_, err := c.ListOrders(ctx, ghl.ListOrdersParams{LocationID: loc, Limit: 1})
		return err
	}},
	{"syncing payments (transactions) and reconciling them", ghl.OpListTransactions, false, func(ctx context.Context, c *ghl.Client, loc string) error {
		_, err := c.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: loc, Limit: 1})
		return err
	}},
	{"syncing subscriptions (renewals, cancellations)", ghl.OpListSubscriptions, false, func(ctx context.Context, c *ghl.Client, loc string) error {
		_, err := c.ListSubscriptions(ctx, ghl.ListSubscriptionsParams{LocationID: loc, Limit: 1})
		return err
	}},
	{"syncing invoices, which reconciliation matches payments with", ghl.OpListInvoices, false, func(ctx context.Context, c *ghl.Client, loc string) error {
		_, err := c.ListInvoices(ctx, ghl.ListInvoicesParams{LocationID: loc, Limit: 1})
		return err
	}},
	// GHL checks the scope before the request: with no items, and for an
	// order that does not exist, the request is refused either for the
	// scope or as invalid, and creates nothing either way.
	{"pushing fulfillments (tracking numbers) to GHL", ghl.OpCreateFulfillment, true, func(ctx context.Context, c *ghl.Client, loc string) error {
		_, err := c.CreateFulfillment(ctx, loc, probeOrder, ghl.CreateFulfillmentParams{})
		return err
	}},
}

// location checks one connection: its state, its token, its scopes and
// GHL's answer.
func (r *run) location(ctx context.Context, conn rankr.Connection) locResult {
	l := locResult{conn: conn}
	l.add(connectionCheck(conn))
	l.sandbox = r.sandboxAt(ctx, conn.BaseURL)

	rec := &recorder{next: r.hc.Transport, now: r.deps.Now}
	l.client = r.deps.GHL(conn, ghl.WithHTTPClient(&http.Client{Transport: rec}),
		ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 2, BaseDelay: 200 * time.Millisecond, MaxDelay: time.Second}),
		ghl.WithAttemptTimeout(r.deps.Timeout), ghl.WithUserAgent("rankr-doctor"))

	cctx, cancel := context.WithTimeout(ctx, 2*r.deps.Timeout)
	began := time.Now()
	page, err := l.client.ListOrders(cctx, ghl.ListOrdersParams{LocationID: conn.LocationID, Limit: 1})
	took := time.Since(began)
	cancel()
	sent, status, h, at := rec.last()
	if status != 0 {
		if d, perr := http.ParseTime(h.Get("Date")); perr == nil {
			l.date, l.dateAt = d, at
		}
	}

	var gerr *ghl.Error
	errors.As(err, &gerr)
	reached := status != 0
	switch {
	case err == nil:
		l.tokenOK = true
		l.add(r.tokenPass(ctx, conn, fmt.Sprintf("GHL accepted the token (%d orders)", page.TotalCount)))
	case errors.Is(err, ghl.ErrRateLimited) && sent == 0:
		l.add(Check{ID: IDToken, Title: "GHL token", Status: Skip, Detail: "not tried: " + err.Error(),
			Meaning: "This process's rate governor holds the location's calls until its daily budget resets.",
			Fix:     "Run rankr doctor again after the reset."})
	case sent == 0:
		// Nothing went out: the token could not be had (the vault, an
		// OAuth install that needs claiming or reinstalling).
		l.add(tokenFail(conn, "rankr could not get the token: "+err.Error()))
	case !reached:
		l.add(Check{ID: IDToken, Title: "GHL token", Status: Skip, Detail: "not checked: GHL did not answer",
			Meaning: "Whether GHL takes the token is unknown until GHL can be reached (see the GHL API check)."})
	case errors.Is(err, ghl.ErrMissingScope):
		l.tokenOK = true
		l.add(r.tokenPass(ctx, conn, "GHL accepted the token (it lacks the orders scope: see the scopes check)"))
	case errors.Is(err, ghl.ErrUnauthorized):
		l.add(tokenFail(conn, "GHL rejected the token: "+err.Error()))
	case errors.Is(err, ghl.ErrForbidden):
		c := tokenFail(conn, "GHL answered 403: the token may not act on this location: "+err.Error())
		c.Fix = "Check that the token belongs to this sub-account (location " + conn.LocationID + "), not another one or the agency; then connect again with the right one."
		l.add(c)
	case errors.Is(err, ghl.ErrRateLimited), errors.Is(err, ghl.ErrServer):
		l.add(Check{ID: IDToken, Title: "GHL token", Status: Skip, Detail: "not checked: " + err.Error(),
			Meaning: "GHL refused the call before looking at the token (rate limit or its own failure)."})
	default:
		l.add(Check{ID: IDToken, Title: "GHL token", Status: Warn, Detail: "GHL answered unexpectedly: " + err.Error(),
			Meaning: "The token may work, but GHL's answer to a plain order list was not one rankr expects.",
			Fix:     "Look at the message; check the connection's base URL (" + conn.BaseURL + ") and the location id."})
	}
	if l.tokenOK {
		l.add(r.scopes(ctx, l.client, conn, err))
	} else {
		l.add(Check{ID: IDScopes, Title: "GHL scopes", Status: Skip, Detail: "not checked: the token was not accepted",
			Meaning: "Scopes are checked once GHL takes the token."})
	}
	l.add(apiCheck(conn, err, gerr, sent, status, h, took))
	return l
}

// connectionCheck reports the connection's state as rankr holds it.
func connectionCheck(c rankr.Connection) Check {
	ch := Check{ID: IDConnection, Title: "Connection", Detail: fmt.Sprintf("%s, %s at %s", c.State, credentialName(c), c.BaseURL)}
	switch c.State {
	case rankr.StateActive:
		ch.Status = Pass
		ch.Meaning = "rankr syncs this location and takes its webhooks."
		if !c.LastSyncAt.IsZero() {
			ch.Detail += "; last sync " + c.LastSyncAt.UTC().Format(time.RFC3339)
		}
		if c.LastError != "" {
			ch.Status = Warn
			ch.Detail += "; it ended with: " + c.LastError
			ch.Meaning = "rankr syncs this location, but its last pass did not finish cleanly; the next one tries again."
			ch.Fix = "Read the error; if it repeats, fix its cause (see the checks below)."
		}
	default:
		// Stopped for GHL's refusal (the token, a scope, an uninstall), or
		// paused by an operator: either way nothing syncs.
		ch.Status = Fail
		ch.Detail += ": " + c.StateMessage
		ch.Meaning = "rankr does not sync this location now; it stays so until someone acts."
		ch.Fix = "Do what the message says: connect the location again (rankr connect, or reinstall the app for OAuth) once the checks below pass, or resume it if it was paused."
	}
	return ch
}

func credentialName(c rankr.Connection) string {
	if c.CredentialKind == "oauth" {
		return "OAuth install"
	}
	return "Private Integration Token"
}

// tokenPass is the token check of a token GHL took, with an OAuth
// install's expiry and refresh health.
func (r *run) tokenPass(ctx context.Context, conn rankr.Connection, detail string) Check {
	c := Check{ID: IDToken, Title: "GHL token", Status: Pass, Detail: detail + "; a " + credentialName(conn),
		Meaning: "GHL takes the token rankr holds for this location."}
	if conn.CredentialKind != "oauth" {
		c.Detail += " (it does not expire; it changes only when rotated in GHL)"
		return c
	}
	tok, err := r.deps.Store.OAuthTokenGet(ctx, rankr.LocationTokenID(conn.LocationID))
	if err != nil {
		c.Status = Warn
		c.Detail += "; its install could not be read: " + err.Error()
		c.Fix = "Look at rankr oauth installs."
		return c
	}
	now := r.deps.Now()
	left := tok.ExpiresAt.Sub(now)
	c.Detail += fmt.Sprintf("; the access token expires in %s (at %s), refreshed before then; install %s", round(left),
		tok.ExpiresAt.UTC().Format(time.RFC3339), tok.State)
	c.Meaning = "GHL takes the install's access token, and rankr refreshes it (single-use refresh tokens, one refresh at a time) before it expires."
	switch {
	case tok.State != rankr.TokenActive:
		c.Status = Warn
		c.Detail += ": " + tok.StateMessage
		c.Fix = "Look at rankr oauth installs; reinstall the app on the location if it says so."
	case left <= 0:
		// The call worked with this token, so a refresh is due and failed,
		// or was not tried yet: the next call tries.
		c.Status = Warn
		c.Detail += "; it is past its expiry"
		c.Meaning = "The refresh is overdue: if it keeps failing, GHL will refuse the token."
		c.Fix = "Look at rankr serve's log for refresh errors, and at rankr oauth installs."
	}
	return c
}

// tokenFail is the token check of a token GHL refused or rankr could not
// get.
func tokenFail(conn rankr.Connection, detail string) Check {
	c := Check{ID: IDToken, Title: "GHL token", Status: Fail, Detail: detail,
		Meaning: "Without a token GHL takes, rankr can neither sync this location nor push fulfillments to it."}
	if conn.CredentialKind == "oauth" {
		c.Fix = "Install the app on location " + conn.LocationID + " again (rankr oauth link makes an install link), or look at rankr oauth installs."
		return c
	}
	c.Fix = "Create a new Private Integration Token for location " + conn.LocationID + " in GHL (Settings > Private Integrations) with the scopes rankr needs, " +
		"then run rankr connect --location " + conn.LocationID + " --token - (reading it from stdin)."
	return c
}

// scopes probes each feature's scope. first is the order list's outcome,
// made already.
func (r *run) scopes(ctx context.Context, c *ghl.Client, conn rankr.Connection, first error) Check {
	var missing, missingWrite, unknown, have []string
	for i, f := range features {
		var err error
		if i == 0 {
			err = first
		} else {
			cctx, cancel := r.step(ctx)
			err = f.probe(cctx, c, conn.LocationID)
			cancel()
		}
		name := fmt.Sprintf("%s (for %s)", f.op.Scope, f.what)
		switch {
		case err == nil, f.write && (errors.Is(err, ghl.ErrInvalidRequest) || errors.Is(err, ghl.ErrNotFound)):
			have = append(have, f.op.Scope)
		case errors.Is(err, ghl.ErrMissingScope) && f.write:
			missingWrite = append(missingWrite, name)
		case errors.Is(err, ghl.ErrMissingScope):
			missing = append(missing, name)
		default:
			unknown = append(unknown, fmt.Sprintf("%s: %v", f.op.Scope, err))
		}
	}
	ch := Check{ID: IDScopes, Title: "GHL scopes", Status: Pass,
		Detail:  "the token has " + strings.Join(have, ", "),
		Meaning: "The token carries every scope rankr's features use."}
	if conn.CredentialKind == "oauth" {
		if tok, err := r.deps.Store.OAuthTokenGet(ctx, rankr.LocationTokenID(conn.LocationID)); err == nil {
			ch.Detail += "; the install granted " + strings.Join(tok.Scopes, " ")
		}
	}
	var fix []string
	if len(missing) > 0 {
		ch.Status = Fail
		ch.Detail = "missing " + strings.Join(missing, ", ") + "; " + ch.Detail
		ch.Meaning = "GHL refuses rankr's calls for these features: the sync stops at the first (the connection is marked missing_scope)."
	}
	if len(missingWrite) > 0 {
		ch.Status = worst(ch.Status, Warn)
		ch.Detail = "missing " + strings.Join(missingWrite, ", ") + "; " + ch.Detail
		if len(missing) == 0 {
			ch.Meaning = "rankr syncs, but GHL will refuse fulfillment pushes (rankr fulfill) until the token has the write scope."
		}
	}
	if len(missing)+len(missingWrite) > 0 {
		if conn.CredentialKind == "oauth" {
			fix = append(fix, "Add the scopes to the marketplace app (for pushes: rankr oauth configure --push), then install it on location "+
				conn.LocationID+" again so the install grants them.")
		} else {
			fix = append(fix, "Tick the scopes on the Private Integration in GHL (Settings > Private Integrations), or make a new token with them, then run rankr connect --location "+
				conn.LocationID+" --token - again.")
		}
	}
	if len(unknown) > 0 {
		ch.Status = worst(ch.Status, Warn)
		ch.Detail += "; not known: " + strings.Join(unknown, "; ")
		fix = append(fix, "Some scopes could not be told (see the messages): run rankr doctor again.")
	}
	ch.Fix = strings.Join(fix, " ")
	return ch
}

// apiCheck reports GHL's reachability, its latency and the rate budget
// its headers report, from the first call.
func apiCheck(conn rankr.Connection, err error, gerr *ghl.Error, sent, status int, h http.Header, took time.Duration) Check {
	c := Check{ID: IDGHLAPI, Title: "GHL API", Meaning: "GHL answers rankr at " + conn.BaseURL + ", and its rate headers say how much of the location's budget is left."}
	if sent == 0 {
		c.Status, c.Detail = Skip, "no call was made (see the token check)"
		return c
	}
	if status == 0 {
		c.Status = Fail
		c.Detail = fmt.Sprintf("no answer from %s: %v", conn.BaseURL, err)
		c.Meaning = "rankr cannot reach GHL: nothing syncs, and pushes wait in the outbox."
		c.Fix = "Check this host's DNS, firewall and proxy for outgoing HTTPS to " + conn.BaseURL + "; check the connection's base URL."
		return c
	}
	c.Status = Pass
	c.Detail = fmt.Sprintf("answered %d in %s", status, round(took))
	if gerr != nil && gerr.TraceID != "" {
		c.Detail += " (trace " + gerr.TraceID + ")"
	}
	budget, warn, seen := rateBudget(h)
	if status/100 != 2 && !seen {
		// GHL refuses a token before counting the call: no budget to tell.
		budget, warn = "no rate headers on a refusal", ""
	}
	c.Detail += "; " + budget
	switch {
	case errors.Is(err, ghl.ErrServer):
		c.Status = Fail
		c.Meaning = "GHL is failing (5xx): rankr retries what it safely can, and the sync waits."
		c.Fix = "Wait and run rankr doctor again; if it lasts, look at GHL's status page."
	case errors.Is(err, ghl.ErrRateLimited):
		c.Status = Warn
		c.Meaning = "GHL refused the call for its rate limit: the location's budget is spent (by rankr or another app sharing it)."
		c.Fix = "Wait for the budget to refill; look at what else spends the location's budget."
	case warn != "":
		c.Status = Warn
		c.Meaning = warn
		c.Fix = "Look at what spends the location's budget (rankr status shows rankr's calls); rankr paces itself by these headers."
	}
	return c
}

// rateBudget describes GHL's X-RateLimit-* headers, and says what is
// worrying in them; seen is false when there were none.
func rateBudget(h http.Header) (desc, warn string, seen bool) {
	num := func(k string) (int, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(h.Get(k)))
		return n, err == nil
	}
	burstMax, okMax := num("X-RateLimit-Max")
	burstLeft, okLeft := num("X-RateLimit-Remaining")
	interval, okInterval := num("X-RateLimit-Interval-Milliseconds")
	daily, okDaily := num("X-RateLimit-Limit-Daily")
	dailyLeft, okDailyLeft := num("X-RateLimit-Daily-Remaining")
	if !okMax && !okLeft && !okDaily && !okDailyLeft {
		return "no X-RateLimit-* headers", "GHL sent no rate headers: rankr paces itself by the configured limits (100 per 10 s, 200,000 a day) and cannot see other apps spending the budget.", false
	}
	var parts []string
	if okLeft && okMax {
		p := fmt.Sprintf("burst %d of %d left", burstLeft, burstMax)
		if okInterval {
			p += fmt.Sprintf(" per %s", time.Duration(interval)*time.Millisecond)
		}
		parts = append(parts, p)
	}
	if okDailyLeft {
		p := fmt.Sprintf("daily %d", dailyLeft)
		if okDaily {
			p += fmt.Sprintf(" of %d", daily)
		}
		parts = append(parts, p+" left")
	}
	switch {
	case okDailyLeft && okDaily && daily > 0 && dailyLeft*10 < daily:
		warn = "Less than a tenth of the location's daily budget is left: calls will be refused until it resets."
	case okLeft && burstLeft == 0:
		warn = "The location's burst budget is spent right now: calls wait for it to refill."
	}
	return strings.Join(parts, ", "), warn, true
}
