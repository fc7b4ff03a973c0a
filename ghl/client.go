package ghl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultBaseURL is GHL's API host.
const DefaultBaseURL = "https://services.leadconnectorhq.com"

// DefaultVersion is the Version header the Payments spec requires.
const DefaultVersion = "2021-07-28"

// DefaultPageSize is the page size the iterators ask for.
const DefaultPageSize = 100

// maxResponseBytes bounds how much of one response the client reads.
const maxResponseBytes = 64 << 20

// Client calls the GHL API. Create one with NewClient; it is safe for
// concurrent use.
type Client struct {
	base           *url.URL
	hc             *http.Client
	tokens         TokenSource
	version        string
	governor       *Governor
	retry          RetryPolicy
	attemptTimeout time.Duration
	pageSize       int
	userAgent      string
	log            *slog.Logger
	observer       Observer
}

// RetryPolicy says how often and how patiently the client retries.
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, first included; 1 disables retries
	BaseDelay   time.Duration // the first backoff, doubled each attempt
	MaxDelay    time.Duration // the longest backoff
}

// DefaultRetryPolicy retries up to six times over about a minute.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 7, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}

// Option configures a Client.
type Option func(*Client)

// WithBaseURL points the client at another host, such as a sandbox.
func WithBaseURL(u string) Option {
	return func(c *Client) {
		parsed, err := url.Parse(strings.TrimRight(u, "/"))
		if err == nil {
			c.base = parsed
		}
	}
}

// WithHTTPClient sets the HTTP client used to send requests.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithVersion sets the Version header.
func WithVersion(v string) Option { return func(c *Client) { c.version = v } }

// WithGovernor shares a rate governor between clients of the same app.
func WithGovernor(g *Governor) Option { return func(c *Client) { c.governor = g } }

// WithLimits sets the limits the client's own governor starts from.
func WithLimits(l Limits) Option { return func(c *Client) { c.governor = NewGovernor(l) } }

// WithRetryPolicy sets the retry policy.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithAttemptTimeout bounds each attempt (default 30 s). The caller's context
// still bounds the whole call.
func WithAttemptTimeout(d time.Duration) Option { return func(c *Client) { c.attemptTimeout = d } }

// WithPageSize sets the page size the iterators ask for.
func WithPageSize(n int) Option { return func(c *Client) { c.pageSize = n } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithLogger logs retries and throttling at debug level.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// Observer hears of every attempt the client sends, for metrics. It is
// called on the attempt's goroutine once its answer (or its failure) is in,
// so it must be quick and safe for concurrent use.
type Observer interface {
	ObserveRequest(RequestReport)
}

// RequestReport is one attempt of an operation.
type RequestReport struct {
	Op         string // the operation's name, as in Operations()
	LocationID string
	// Status is GHL's HTTP status, 0 when no answer came (a network
	// error, a timeout).
	Status int
	// Duration is from sending to the answer's body read.
	Duration time.Duration
	// Waited is how long the rate governor held the attempt back for the
	// location's budget before it was sent.
	Waited time.Duration
}

// WithObserver reports every attempt to o.
func WithObserver(o Observer) Option { return func(c *Client) { c.observer = o } }

// NewClient returns a client that authenticates with tokens.
func NewClient(tokens TokenSource, opts ...Option) *Client {
	base, _ := url.Parse(DefaultBaseURL)
	c := &Client{
		base:           base,
		hc:             http.DefaultClient,
		tokens:         tokens,
		version:        DefaultVersion,
		retry:          DefaultRetryPolicy,
		attemptTimeout: 30 * time.Second,
		pageSize:       DefaultPageSize,
		userAgent:      "rankr-ghl-go",
		log:            slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(c)
	}
	if c.governor == nil {
		c.governor = NewGovernor(DefaultLimits)
	}
	if c.retry.MaxAttempts < 1 {
		c.retry.MaxAttempts = 1
	}
	return c
}

// Governor returns the client's rate governor.
func (c *Client) Governor() *Governor { return c.governor }

// BaseURL returns the host the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

// call is one request to make.
type call struct {
	op       Operation
	location string
	pathArgs []string // values for the path's placeholders, in order
	query    url.Values
	body     any
	// abs, when set, is the whole URL, not one under the base URL (GHL
	// hands out some, such as a workflow trigger's target).
	abs *url.URL
}

// path fills the operation's placeholders.
func (cl call) path() string {
	p := cl.op.Path
	for _, arg := range cl.pathArgs {
		open := strings.IndexByte(p, '{')
		end := strings.IndexByte(p, '}')
		if open < 0 || end < open {
			break
		}
		p = p[:open] + url.PathEscape(arg) + p[end+1:]
	}
	return p
}

// do sends the call, retrying what is safe to retry, and decodes a 2xx body
// into out (when out is not nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("ghl: %s: encoding request: %w", cl.op.Name, err)
		}
	}
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + cl.path()
	u.RawQuery = cl.query.Encode()
	if cl.abs != nil {
		u = *cl.abs
	}

	rejectedOnce := false
	for attempt := 1; ; attempt++ {
		var used string
		res, err := c.attempt(ctx, cl, u.String(), body, &used)
		if err == nil {
			if out == nil || len(bytes.TrimSpace(res)) == 0 {
				return nil
			}
			if err := json.Unmarshal(res, out); err != nil {
				return &Error{Op: cl.op.Name, Method: cl.op.Method, Path: u.Path, LocationID: cl.location,
					StatusCode: http.StatusOK, Attempts: attempt,
					Err: fmt.Errorf("decoding response: %w", err), Message: "undecodable response: " + err.Error()}
			}
			return nil
		}
		var gerr *Error
		if !errors.As(err, &gerr) {
			return err
		}
		gerr.Attempts = attempt
		if r, ok := c.tokens.(TokenRejecter); ok && !rejectedOnce && used != "" && errors.Is(gerr, ErrUnauthorized) {
			// GHL did nothing with a request it refused for its token: once
			// the source has a new token, the request goes again at once.
			rejectedOnce = true
			replaced, rerr := r.TokenRejected(ctx, cl.location, used)
			if rerr != nil {
				gerr.Err = errors.Join(gerr.Err, fmt.Errorf("replacing the refused token: %w", rerr))
				return gerr
			}
			if replaced {
				c.log.DebugContext(ctx, "ghl: GHL refused the token; trying once with its replacement", "op", cl.op.Name, "location", cl.location)
				continue
			}
		}
		wait, retry := c.shouldRetry(ctx, cl.op, gerr, attempt)
		if !retry {
			return gerr
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			// Waiting out the backoff would end past the caller's deadline:
			// give up now, with GHL's answer.
			gerr.Err = errors.Join(gerr.Err, fmt.Errorf("not retrying in %s, past the deadline: %w", wait.Round(time.Millisecond),
				context.DeadlineExceeded))
			return gerr
		}
		c.log.DebugContext(ctx, "ghl: retrying", "op", cl.op.Name, "location", cl.location,
			"attempt", attempt, "status", gerr.StatusCode, "wait", wait, "error", gerr.Error())
		if err := sleep(ctx, wait); err != nil {
			gerr.Err = errors.Join(gerr.Err, err)
			return gerr
		}
	}
}

// attempt sends the request once. It returns the body of a 2xx answer or an
// *Error.
func (c *Client) attempt(ctx context.Context, cl call, u string, body []byte, used *string) ([]byte, error) {
	e := &Error{Op: cl.op.Name, Method: cl.op.Method, Path: cl.path(), LocationID: cl.location}
	queued := time.Now()
	ticket, err := c.governor.Wait(ctx, cl.location)
	waited := time.Since(queued)
	if err != nil {
		e.Err = err
		return nil, e
	}
	token, err := c.tokens.Token(ctx, cl.location)
	if err != nil {
		ticket.Done(0, nil)
		e.Err = fmt.Errorf("getting token: %w", err)
		return nil, e
	}
	*used = token

	return c.exchange(ctx, ticket, exchange{method: cl.op.Method, url: u, body: body, contentType: "application/json",
		bearer: token, idempotent: cl.op.Idempotent(), scope: cl.op.Scope, waited: waited}, e)
}

// exchange is one request to GHL as its API and OAuth calls both send it.
type exchange struct {
	method, url string
	body        []byte
	contentType string // of the body
	bearer      string // "" sends no Authorization
	idempotent  bool   // a lost answer leaves nothing unknown
	scope       string // the operation's, named when GHL says it is missing
	sent        *time.Time
	waited      time.Duration // held back by the governor, for the observer
	// scrub are secrets the request carries, taken out of any answer
	// quoted in an error.
	scrub []string
}

// exchange sends x once, within the attempt timeout, and reports the
// answer to the governor through ticket. It returns the body of a 2xx
// answer, or e filled in.
func (c *Client) exchange(ctx context.Context, ticket Ticket, x exchange, e *Error) ([]byte, error) {
	actx, cancel := context.WithTimeout(ctx, c.attemptTimeout)
	defer cancel()
	// The transport reports the write from its own goroutine.
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) { wrote.Store(info.Err == nil) },
	})
	var rdr io.Reader
	if x.body != nil {
		rdr = bytes.NewReader(x.body)
	}
	req, err := http.NewRequestWithContext(actx, x.method, x.url, rdr)
	if err != nil {
		ticket.Done(0, nil)
		e.Err = err
		return nil, e
	}
	if x.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+x.bearer)
	}
	req.Header.Set("Version", c.version)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if x.body != nil {
		req.Header.Set("Content-Type", x.contentType)
	}
	start := time.Now()
	if x.sent != nil {
		*x.sent = start
	}
	status := 0
	if c.observer != nil {
		defer func() {
			c.observer.ObserveRequest(RequestReport{Op: e.Op, LocationID: e.LocationID, Status: status,
				Duration: time.Since(start), Waited: x.waited})
		}()
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		ticket.Done(0, nil)
		// Only a request that reached GHL can have been applied (a write,
		// a spent code, a rotated refresh token).
		e.OutcomeUnknown = wrote.Load() && !x.idempotent
		e.Err = redactURL(err)
		return nil, e
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	ticket.Done(resp.StatusCode, resp.Header)
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		e.StatusCode = resp.StatusCode
		e.OutcomeUnknown = !x.idempotent && (resp.StatusCode/100 == 2 || resp.StatusCode >= 500)
		e.Err = fmt.Errorf("reading response: %w", err)
		return nil, e
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	e.StatusCode = resp.StatusCode
	e.fillFromBody(scrub(data, x.scrub))
	e.RetryAfter = retryAfter(resp.Header)
	if e.Is(ErrMissingScope) {
		e.Scope = x.scope
	}
	// A 5xx answer to a write does not say whether GHL applied it first.
	e.OutcomeUnknown = resp.StatusCode >= 500 && !x.idempotent
	return nil, e
}

// shouldRetry decides whether to send the request again, and after how long.
func (c *Client) shouldRetry(ctx context.Context, op Operation, e *Error, attempt int) (time.Duration, bool) {
	if attempt >= c.retry.MaxAttempts || ctx.Err() != nil || e.OutcomeUnknown {
		return 0, false
	}
	switch {
	case e.StatusCode == http.StatusTooManyRequests:
		// Refused, so never applied: safe for any method. The governor
		// already counts the window as full, so its Wait paces the retry.
		return max(e.RetryAfter, c.backoff(1)), true
	case e.StatusCode >= 500:
		return c.backoff(attempt), op.Idempotent()
	case e.Err != nil && (e.StatusCode == 0 || e.StatusCode/100 == 2):
		if errors.Is(e.Err, ErrRateLimited) || errors.Is(e.Err, ErrNoToken) || errors.Is(e.Err, context.DeadlineExceeded) {
			return 0, false
		}
		// Not OutcomeUnknown: either idempotent or never written.
		return c.backoff(attempt), true
	}
	return 0, false
}

// backoff is a full-jitter exponential delay.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.BaseDelay << min(attempt-1, 20)
	if d <= 0 || d > c.retry.MaxDelay {
		d = c.retry.MaxDelay
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// maxRetryAfter bounds the wait a Retry-After asks for. GHL's longest
// limit is daily, so a longer wait is a broken header, and taken as given
// it would overflow a Duration or stall a location for years.
const maxRetryAfter = 24 * time.Hour

// retryAfter is the wait a Retry-After header asks for, in seconds or as
// an HTTP date, within [0, maxRetryAfter]; 0 when there is none.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(min(max(secs, 0), int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), maxRetryAfter)
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// redactURL drops the query from a *url.Error: GHL query strings carry no
// secrets today, but the error should name the path, not echo parameters.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// locationQuery is the altId/altType pair most operations take.
func locationQuery(locationID string) url.Values {
	return url.Values{"altId": {locationID}, "altType": {"location"}}
}

func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

func setIntIf(q url.Values, key string, v int) {
	if v > 0 {
		q.Set(key, strconv.Itoa(v))
	}
}

func setDateIf(q url.Values, key string, t time.Time) {
	if !t.IsZero() {
		q.Set(key, t.UTC().Format(DateLayout))
	}
}
