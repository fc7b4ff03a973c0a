package intake_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/internal/intake"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
	"github.com/rankr/rankr/internal/store/sqlite"
	"github.com/rankr/rankr/internal/store/sqlstore"
	"github.com/rankr/rankr/internal/syncer"
	"github.com/rankr/rankr/internal/vault"
)

// orderWebhook is an OrderCreate of about 1 KB, as GHL sends them.
func orderWebhook(i int, at time.Time) []byte {
	ts := at.UTC().Format("2006-01-02T15:04:05.000Z")
	return []byte(fmt.Sprintf(`{"type":"OrderCreate","locationId":"LOC-bench","_id":"o%08d","altId":"LOC-bench","altType":"location",`+
		`"status":"pending","fulfillmentStatus":"unfulfilled","contactId":"c%06d","currency":"USD","amount":150.1,"liveMode":true,`+
		`"amountSummary":{"subtotal":138,"discount":0,"tax":12.1,"shipping":0},`+
		`"source":{"type":"website","subType":"store","id":"nohc1pPZJlpZTpxJfLCp","name":"Ecom Store","meta":{"domain":"shop.example.com","pageUrl":"/checkout"}},`+
		`"contactSnapshot":{"id":"c%06d","firstName":"Maxwell","lastName":"Schmidt","email":"max%d@example.com","phone":"+15550100","city":"Austin","country":"US"},`+
		`"items":[{"name":"Men's classic tee - XL / Charcoal","qty":1,"product":{"_id":"660ed1ff95e1dc88d5b0d346","name":"Men's classic tee","productType":"PHYSICAL"},`+
		`"price":{"_id":"660ed20095e1dcd37bb0d392","name":"XL / Charcoal","type":"one_time","currency":"USD","amount":17}},`+
		`{"name":"Tshirt - Green / S","qty":1,"product":{"_id":"64f84dea1e2c5ae21f0714dd","name":"Tshirt","productType":"PHYSICAL"},`+
		`"price":{"_id":"64f84dec1e2c5ae21f0714e1","name":"Green / S","type":"one_time","currency":"USD","amount":121}}],`+
		`"createdAt":%q,"updatedAt":%q,"webhookId":"wh-%08d","timestamp":%q}`, i, i, i, i, ts, ts, i, ts))
}

// BenchmarkIntake sends signed 1 KB OrderCreate webhooks from 64 concurrent
// senders over loopback to the intake on SQLite with synchronous commits,
// while a processor applies them. It reports requests per second, latency
// percentiles, and freshness: from receipt to the order stored.
func BenchmarkIntake(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "rankr.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	v, _ := vault.New(bytes.Repeat([]byte{7}, vault.KeySize))
	sealed, _ := v.Seal([]byte("tok"), syncer.CredentialContext("LOC-bench"))
	if _, err := st.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: "LOC-bench", BaseURL: "http://127.0.0.1:1", Credential: sealed}); err != nil {
		b.Fatal(err)
	}
	sy := syncer.New(st, syncer.NewClients(st, v, nil), syncer.Options{})

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	in := intake.NewIntake(st, intake.Config{Keys: []ed25519.PublicKey{pub}})
	proc := intake.NewProcessor(st, func(ctx context.Context, evs []rankr.InboxEvent) ([]intake.Result, error) {
		applied, _, err := sy.ApplyWebhooks(ctx, evs)
		out := make([]intake.Result, len(applied))
		for i, a := range applied {
			out[i] = intake.Result{Outcome: a.Outcome, Err: a.Err}
		}
		return out, err
	}, nil)
	in.Feed(proc)
	in.Start()
	procCtx, stop := context.WithCancel(ctx)
	go proc.Run(procCtx)
	srv := httptest.NewServer(in)
	defer srv.Close()

	// Requests are made and signed before the clock starts.
	requests := make([][]byte, b.N)
	for i := range b.N {
		body := orderWebhook(i, time.Now())
		requests[i] = fmt.Appendf(nil, "POST /webhooks/ghl HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
			"X-Ghl-Signature: %s\r\nContent-Length: %d\r\n\r\n%s", srv.Listener.Addr(), ghl.SignWebhook(priv, body), len(body), body)
	}
	latencies := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A bare HTTP/1.1 client on one kept-alive connection: the
			// load generator shares the 2 cores with the intake, and
			// net/http's client would spend a sixth of them on itself.
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			r := bufio.NewReader(conn)
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				if _, err := conn.Write(requests[i]); err != nil {
					b.Error(err)
					return
				}
				status, err := readStatus(r)
				if err != nil {
					b.Error(err)
					return
				}
				if status != http.StatusOK {
					failed.Add(1)
				}
				latencies[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d webhooks were not accepted", failed.Load())
	}
	// Let the processor catch up, then read freshness from the inbox.
	for {
		n, err := st.InboxPending(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Acknowledging runs ahead of processing in a burst (the inbox holds
	// the difference); this is the rate of the two together.
	processed := time.Since(start)
	stop()
	in.Close()
	fresh := freshness(b, st)
	slices.Sort(latencies)
	pct := func(xs []time.Duration, p float64) float64 {
		return float64(xs[int(float64(len(xs)-1)*p)]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(b.N)/processed.Seconds(), "processed/s")
	b.ReportMetric(pct(latencies, 0.50), "p50_ms")
	b.ReportMetric(pct(latencies, 0.99), "p99_ms")
	if len(fresh) > 0 {
		b.ReportMetric(pct(fresh, 0.50), "fresh_p50_ms")
		b.ReportMetric(pct(fresh, 0.99), "fresh_p99_ms")
	}
}

// readStatus reads one HTTP/1.1 response and returns its status code. It
// expects what the intake sends: a status line, headers with a
// Content-Length, and a body of that length.
func readStatus(r *bufio.Reader) (int, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("not a status line: %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, err
	}
	length := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return 0, err
			}
		}
	}
	if length < 0 {
		return 0, errors.New("a response without Content-Length")
	}
	_, err = r.Discard(length)
	return status, err
}

// freshness reads, for every processed webhook, the time from its receipt to
// its processing (the order is stored before the webhook is marked done).
func freshness(b *testing.B, st *sqlstore.Store) []time.Duration {
	rows, err := st.InboxDB().Query(`SELECT processed_at - received_at FROM webhook_inbox WHERE processed_at IS NOT NULL`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var ms int64
		if err := rows.Scan(&ms); err != nil {
			b.Fatal(err)
		}
		out = append(out, time.Duration(ms)*time.Millisecond)
	}
	slices.Sort(out)
	return out
}
