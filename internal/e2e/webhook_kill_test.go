package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store/storetest"
	"github.com/rankr/rankr/internal/testwait"
)

// TestServeSIGKILLDuringWebhookStorm sends a storm of signed OrderCreate
// webhooks to `rankr serve` and kills it with SIGKILL in the middle of it.
// After a restart, every webhook that had been answered 200 must be known
// (a redelivery is answered "already received"), and once the storm is
// over every webhook must be in the inbox once, processed, with its order
// stored and one order.created: nothing acknowledged was lost, and
// nothing was applied as new twice.
func TestServeSIGKILLDuringWebhookStorm(t *testing.T) {
	t.Parallel()
	for _, name := range databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testServeSIGKILLDuringWebhookStorm(t, name)
		})
	}
}

func testServeSIGKILLDuringWebhookStorm(t *testing.T, dbName string) {
	sb, url := newSandbox(t, sandbox.Config{Seed: 5, Locations: 1, Orders: 20}, sandbox.Faults{})
	loc := sb.Locations()[0].ID
	dir := t.TempDir()
	db := openDatabase(t, dbName, dir)
	env := newRankrEnv(t, dir, db)
	connectAll(t, env, url, sb.Locations())

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	serveArgs := []string{"serve", "--addr", "127.0.0.1:0", "--webhook-key", base64.StdEncoding.EncodeToString(spki)}

	st := &storm{loc: loc, priv: priv, answers: map[int]string{}}
	first := start(t, env, serveArgs...)
	hook := servingAddr(t, first) + "/webhooks/ghl"

	// Phase 1: 32 senders until SIGKILL; a sender stops at its first
	// failed request (GHL would retry only a 429).
	const killAfter = 1500
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if _, ok := st.send(hook, i); !ok {
					return
				}
			}
		})
	}
	testwait.UntilWhy(t, 60*time.Second, fmt.Sprintf("%d webhooks acknowledged", killAfter), func() (bool, string) {
		n := st.acked()
		return n >= killAfter, fmt.Sprintf("%d acknowledged", n)
	})
	if err := first.signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(t, 10*time.Second)
	wg.Wait()
	sent := int(next.Load())
	ackedBefore := st.ackedIDs()
	t.Logf("killed serve after %d webhooks acknowledged (%d sent)", len(ackedBefore), sent)

	// Phase 2: a new serve on the same database. Every webhook of phase 1
	// is delivered again (as GHL would after a 429, or a sender that never
	// got its answer), then 500 new ones.
	second := start(t, env, serveArgs...)
	hook = servingAddr(t, second) + "/webhooks/ghl"
	var lost []int
	var mu sync.Mutex
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				msg, ok := st.send(hook, i)
				if !ok {
					t.Errorf("webhook %d after the restart: %s", i, msg)
					continue
				}
				if ackedBefore[i] && msg != "already received" {
					mu.Lock()
					lost = append(lost, i)
					mu.Unlock()
				}
			}
		})
	}
	for i := 1; i <= sent+500; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if len(lost) > 0 {
		t.Fatalf("%d webhooks acknowledged before the kill were not stored (redelivered, they were new again): e.g. %v", len(lost), lost[:min(len(lost), 10)])
	}

	// Every webhook processed: the killed process's claims run out (15 s
	// lease) and the new one takes them.
	s := db.open(t)
	raw := s.(interface{ InboxDB() *sql.DB }).InboxDB()
	testwait.UntilWhy(t, 90*time.Second, "the inbox processed", func() (bool, string) {
		n, err := s.InboxPending(context.Background())
		if err != nil {
			return false, err.Error()
		}
		return n == 0, fmt.Sprintf("%d webhooks not processed yet", n)
	})
	if err := second.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	second.wait(t, 20*time.Second)

	total := sent + 500
	var rows, processed int
	if err := raw.QueryRow(`SELECT COUNT(*), COUNT(processed_at) FROM webhook_inbox`).Scan(&rows, &processed); err != nil {
		t.Fatal(err)
	}
	if rows != total || processed != total {
		t.Fatalf("inbox holds %d webhooks (%d processed), want each of the %d sent once, processed", rows, processed, total)
	}
	created := map[string]int{}
	for _, e := range storetest.Events(t, s, "") {
		if e.Kind == rankr.OrderCreated {
			created[e.RecordID]++
		}
	}
	var problems []string
	for i := 1; i <= total; i++ {
		id := stormOrderID(i)
		if _, err := s.OrderGet(context.Background(), loc, id); err != nil {
			problems = append(problems, fmt.Sprintf("order %s: %v", id, err))
		}
		if n := created[id]; n != 1 {
			problems = append(problems, fmt.Sprintf("order %s: %d order.created events", id, n))
		}
	}
	if len(problems) > 0 {
		t.Fatalf("%d problems, e.g.:\n%s", len(problems), strings.Join(problems[:min(len(problems), 20)], "\n"))
	}
	t.Logf("%d webhooks, %d acknowledged before the kill: all stored once and processed, one order.created each", total, len(ackedBefore))
}

// storm sends numbered OrderCreate webhooks and remembers the answers.
type storm struct {
	loc  string
	priv ed25519.PrivateKey

	mu      sync.Mutex
	answers map[int]string // webhook number -> the intake's message, for 200s
}

var stormClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func stormOrderID(i int) string { return fmt.Sprintf("e2estorm%08d", i) }

// send delivers webhook i; ok is true when it was answered 200, and msg is
// the intake's message (or the failure).
func (s *storm) send(url string, i int) (msg string, ok bool) {
	// The timestamp is of this delivery: a redelivery is not stale.
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	created := time.Unix(1_780_000_000, 0).Add(time.Duration(i) * time.Second).UTC().Format("2006-01-02T15:04:05.000Z")
	body := fmt.Appendf(nil, `{"type":"OrderCreate","locationId":%q,"_id":%q,"altId":%q,"altType":"location",`+
		`"status":"pending","fulfillmentStatus":"unfulfilled","contactId":"c%d","currency":"USD","amount":25.5,"liveMode":true,`+
		`"items":[{"name":"Tee - M","qty":1,"product":{"_id":"p1","name":"Tee","productType":"PHYSICAL"},`+
		`"price":{"_id":"pr1","name":"M","type":"one_time","currency":"USD","amount":25.5}}],`+
		`"createdAt":%q,"updatedAt":%q,"webhookId":"storm-%d","timestamp":%q}`,
		s.loc, stormOrderID(i), s.loc, i, created, created, i, now)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err.Error(), false
	}
	req.Header.Set(ghl.SignatureHeader, ghl.SignWebhook(s.priv, body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := stormClient.Do(req)
	if err != nil {
		return err.Error(), false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var answer struct{ Message string }
	_ = json.Unmarshal(b, &answer)
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("%s: %s", resp.Status, b), false
	}
	s.mu.Lock()
	if _, seen := s.answers[i]; !seen {
		s.answers[i] = answer.Message
	}
	s.mu.Unlock()
	return answer.Message, true
}

func (s *storm) acked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.answers)
}

func (s *storm) ackedIDs() map[int]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]bool, len(s.answers))
	for i := range s.answers {
		out[i] = true
	}
	return out
}
