package doctor

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/store"
)

// TestWebhookType is the type of the doctor's test webhook: no GHL event
// has it, and it is never stored.
const TestWebhookType = "RankrDoctorTest"

// webhookPath is where serve takes GHL's webhooks (daemon.WebhookPath).
const webhookPath = "/webhooks/ghl"

// keyName names a webhook key for people: GHL's, or the end of its
// encoding (a public key, not a secret).
func keyName(k ed25519.PublicKey) string {
	enc := ghl.EncodeWebhookKey(k)
	if enc == ghl.WebhookPublicKey {
		return "GHL's published key"
	}
	return "key …" + enc[max(len(enc)-12, 0):]
}

func hasKey(keys []ed25519.PublicKey, k ed25519.PublicKey) bool {
	for _, have := range keys {
		if have.Equal(k) {
			return true
		}
	}
	return false
}

// webhookKey checks that the keys the intake verifies with include the
// key of every GHL the locations are connected to: GHL's published key, or
// a sandbox's own.
func (r *run) webhookKey(_ context.Context, locs []locResult) Check {
	cfg := r.deps.Webhook
	c := Check{ID: IDWebhookKey, Title: "Webhook keys",
		Meaning: "The intake verifies each webhook's Ed25519 signature (x-ghl-signature) with these keys; a webhook no key verifies is refused (401) and lost, since GHL retries only 429s."}
	if len(cfg.Keys) == 0 {
		c.Status, c.Detail = Fail, "no webhook key is configured: every webhook is refused"
		c.Fix = "Leave --webhook-key unset for GHL's published key, or give the keys your webhooks are signed with."
		return c
	}
	names := make([]string, len(cfg.Keys))
	for i, k := range cfg.Keys {
		names[i] = keyName(k)
	}
	c.Detail = fmt.Sprintf("%d key(s): %s", len(cfg.Keys), strings.Join(names, ", "))
	if len(cfg.LegacyRSAKeys) > 0 {
		c.Detail += fmt.Sprintf("; %d legacy RSA key(s) for x-wh-signature", len(cfg.LegacyRSAKeys))
	}
	c.Status = Pass
	var missing, fixes []string
	seen := map[string]bool{}
	for _, l := range locs {
		base := l.conn.BaseURL
		if seen[base] {
			continue
		}
		seen[base] = true
		switch {
		case l.sandbox != nil:
			k, err := ghl.ParseWebhookKey(l.sandbox.WebhookPublicKey)
			if err != nil {
				missing = append(missing, fmt.Sprintf("the sandbox at %s has a key that does not parse (%v)", base, err))
				continue
			}
			if !hasKey(cfg.Keys, k) {
				missing = append(missing, fmt.Sprintf("the sandbox at %s signs with %s, which is not configured", base, keyName(k)))
				fixes = append(fixes, "--webhook-key "+l.sandbox.WebhookPublicKey)
			} else {
				c.Detail += fmt.Sprintf("; the sandbox at %s signs with %s", base, keyName(k))
			}
		case isGHL(base):
			k, _ := ghl.ParseWebhookKey(ghl.WebhookPublicKey)
			if !hasKey(cfg.Keys, k) {
				missing = append(missing, fmt.Sprintf("GHL (%s) signs with its published key, which is not configured", base))
				fixes = append(fixes, "--webhook-key "+ghl.WebhookPublicKey)
			}
		}
	}
	if len(missing) > 0 {
		c.Status = Fail
		c.Detail += "; " + strings.Join(missing, "; ")
		c.Fix = "Give serve (and rankr doctor, which reads the same --webhook-key / RANKR_WEBHOOK_KEYS) every key in use: " +
			strings.Join(fixes, " ") + " (repeat the flag for several; keep the old key beside the new one during a rotation)."
	}
	return c
}

// dryInbox is the store as the doctor's intake sees it: appending webhooks
// stores nothing and answers as for new ones. The test webhook goes
// through the intake itself, as GHL's do (reading, signature, parsing,
// timestamp, the writer's batch), but the inbox is not written: a stored
// test webhook would be processed, kept for days, counted as the last
// webhook of a location, and seen by the clock check. The database's own
// writes are the database check's.
type dryInbox struct{ store.Store }

func (dryInbox) InboxAppend(_ context.Context, p store.InboxAppendParams) ([]int64, error) {
	seqs := make([]int64, len(p.Events))
	for i := range seqs {
		seqs[i] = int64(i + 1)
	}
	return seqs, nil
}

// webhookTest sends the intake a test webhook signed the way the sandbox
// signs, and an unsigned copy, and expects the first taken and the second
// refused. Where rankr cannot sign (GHL holds its private key), the
// webhooks stored last stand in: they were verified when they came.
func (r *run) webhookTest(ctx context.Context, locs []locResult) Check {
	c := Check{ID: IDWebhookTest, Title: "Test webhook",
		Meaning: "A webhook signed as GHL signs reaches rankr's intake and is taken, and one that is not signed is refused."}
	if r.deps.SignWebhook == nil {
		return r.lastWebhook(ctx, c)
	}
	loc := ""
	if len(locs) > 0 {
		loc = locs[0].conn.LocationID
	}
	// The webhook is stamped with GHL's clock, as far as it is known, so
	// that it meets the intake as GHL's would.
	stamp := r.deps.Now()
	if skew, _, ok := ghlClock(locs); ok {
		stamp = stamp.Add(-skew)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	body, err := json.Marshal(struct {
		Type       string   `json:"type"`
		LocationID string   `json:"locationId,omitempty"`
		WebhookID  string   `json:"webhookId"`
		Timestamp  ghl.Time `json:"timestamp"`
	}{TestWebhookType, loc, "rankr-doctor-" + hex.EncodeToString(id[:]), ghl.NewTime(stamp)})
	if err != nil {
		c.Status, c.Detail = Fail, "building the test webhook: "+err.Error()
		return c
	}

	cfg := r.deps.Webhook
	cfg.Now = r.deps.Now
	// The doctor's own refusals are no one's attack: not logged, not
	// counted as refused requests in the audit log.
	cfg.Logger, cfg.OnBadSignature = slog.New(slog.DiscardHandler), nil
	in := intake.NewIntake(dryInbox{r.deps.Store}, cfg)
	in.Start()
	defer in.Close()

	signed, signedMsg := post(ctx, in, body, r.deps.SignWebhook(body))
	unsigned, unsignedMsg := post(ctx, in, body, "")
	switch {
	case signed == http.StatusOK && unsigned == http.StatusUnauthorized:
		c.Status = Pass
		c.Detail = fmt.Sprintf("a %s webhook signed with the sandbox's key was taken (%d %s; into a dry inbox, so nothing was stored), and the unsigned copy refused (%d)",
			TestWebhookType, signed, signedMsg, unsigned)
	case signed == http.StatusUnauthorized:
		c.Status = Fail
		c.Detail = fmt.Sprintf("the signed test webhook was refused (%d): %s", signed, signedMsg)
		c.Meaning = "The intake's keys do not verify the sandbox's signatures: its webhooks are refused and lost."
		c.Fix = "Configure the sandbox's key (see the webhook keys check): --webhook-key on serve and doctor."
	case signed == http.StatusBadRequest && strings.Contains(signedMsg, "stale"):
		c.Status = Fail
		c.Detail = fmt.Sprintf("the signed test webhook, stamped with GHL's time, was refused (%d): %s", signed, signedMsg)
		c.Meaning = "This host's clock is so far from GHL's that webhooks are refused as stale or replayed (see the clock check)."
		c.Fix = "Synchronize this host's clock (NTP)."
	case unsigned != http.StatusUnauthorized:
		c.Status = Fail
		c.Detail = fmt.Sprintf("an unsigned webhook was answered %d (%s), not refused", unsigned, unsignedMsg)
		c.Meaning = "The intake takes webhooks nobody signed: anyone could feed rankr orders."
		c.Fix = "Report this: the intake must refuse unsigned webhooks."
	default:
		c.Status = Fail
		c.Detail = fmt.Sprintf("the signed test webhook was answered %d: %s", signed, signedMsg)
		c.Fix = "Look at the message; serve's log says more."
	}
	return c
}

// lastWebhook stands in for the test webhook where rankr cannot sign: the
// inbox keeps only webhooks whose signature verified, so a recent one
// shows that GHL's webhooks reach rankr and verify.
func (r *run) lastWebhook(ctx context.Context, c Check) Check {
	const why = "rankr cannot sign as GHL (only GHL holds its private key), so it sent no test webhook"
	c.Fix = "Point the GHL app's webhook URL at https://YOUR-HOST" + webhookPath + ", make a change GHL sends a webhook for (a test-mode order), and run rankr doctor again."
	cctx, cancel := r.step(ctx)
	seen, err := r.deps.Store.InboxRecent(cctx, store.InboxRecentParams{LocationID: r.opts.Location, Limit: 1})
	cancel()
	switch {
	case err != nil:
		c.Status, c.Detail = Warn, why+"; the webhooks received could not be read: "+err.Error()
	case len(seen) == 0:
		c.Status, c.Detail = Skip, why+", and none has been received yet"
	default:
		w := seen[0]
		age := r.deps.Now().Sub(w.ReceivedAt)
		c.Detail = fmt.Sprintf("%s; the last webhook stored (%s, location %s) came %s ago, at %s, and its signature verified with the keys serve had then",
			why, w.Type, w.LocationID, round(age), w.ReceivedAt.UTC().Format(time.RFC3339))
		c.Meaning = "GHL's webhooks reach rankr's intake and verify (the inbox keeps only those that did)."
		c.Status, c.Fix = Pass, ""
		if age > 7*24*time.Hour {
			c.Status = Skip
			c.Detail += "; that is more than a week ago"
			c.Fix = "If webhooks should be coming, check the app's webhook URL in GHL, then make a change and run rankr doctor again."
		}
	}
	return c
}

// post sends a webhook to the intake in process and returns its answer.
func post(ctx context.Context, h http.Handler, body []byte, signature string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookPath, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set(ghl.SignatureHeader, signature)
	}
	req.RemoteAddr = "127.0.0.1:0"
	w := &answer{header: http.Header{}}
	h.ServeHTTP(w, req)
	var msg struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(w.body.Bytes(), &msg); err != nil || msg.Message == "" {
		msg.Message = strings.TrimSpace(string(w.body.Bytes()))
	}
	return w.status, msg.Message
}

// answer keeps a handler's response.
type answer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *answer) Header() http.Header { return a.header }
func (a *answer) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}
func (a *answer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}
