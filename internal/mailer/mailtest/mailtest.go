// Package mailtest is for tests that send real mail: it finds the mailpit
// SMTP sink that ./scripts/test starts (skipping the test, saying why, when
// there is none), reads what mailpit received through its REST API, and
// puts a fault-injecting SMTP proxy in front of it.
//
// Package mailtest imports nothing of ours; only tests import it.
package mailtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"
)

// Environment variables that ./scripts/test (scripts/lib/mailpit.sh) sets.
const (
	SMTPEnv    = "RANKR_TEST_SMTP"    // host:port of mailpit's SMTP server
	MailpitEnv = "RANKR_TEST_MAILPIT" // base URL of mailpit's HTTP API
)

// Mailpit is a running mailpit.
type Mailpit struct {
	SMTP string // host:port
	API  string // http://host:port
}

// Open returns the mailpit the tests may use, or skips the test.
func Open(t testing.TB) Mailpit {
	t.Helper()
	smtp, api := os.Getenv(SMTPEnv), os.Getenv(MailpitEnv)
	if smtp == "" || api == "" {
		t.Skipf("%s and %s are not set: run ./scripts/test, which starts mailpit (an SMTP sink), or source scripts/lib/mailpit.sh and run mailpit_start", SMTPEnv, MailpitEnv)
	}
	return Mailpit{SMTP: smtp, API: api}
}

// Address is a mail address as mailpit reports it.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Summary is a received message as mailpit lists it.
type Summary struct {
	ID        string    `json:"ID"`
	MessageID string    `json:"MessageID"`
	From      Address   `json:"From"`
	To        []Address `json:"To"`
	Subject   string    `json:"Subject"`
}

// Message is a received message in full.
type Message struct {
	Summary
	Text string `json:"Text"`
	HTML string `json:"HTML"`
}

// Search returns the messages matching a mailpit search query, e.g.
// `message-id:"x@y"` or `from:"shop@example.com"`.
func (m Mailpit) Search(t testing.TB, query string) []Summary {
	t.Helper()
	var out []Summary
	for start := 0; ; {
		var page struct {
			Total    int       `json:"messages_count"`
			Messages []Summary `json:"messages"`
		}
		m.get(t, fmt.Sprintf("/api/v1/search?query=%s&start=%d&limit=200", url.QueryEscape(query), start), &page)
		out = append(out, page.Messages...)
		start += len(page.Messages)
		if len(page.Messages) == 0 || start >= page.Total {
			return out
		}
	}
}

// Get returns a message by mailpit's id.
func (m Mailpit) Get(t testing.TB, id string) Message {
	t.Helper()
	var msg Message
	m.get(t, "/api/v1/message/"+url.PathEscape(id), &msg)
	return msg
}

// WaitFor waits until a search finds n messages (mailpit stores a message
// a moment after accepting it) and returns them; it fails the test when
// more arrive or after the timeout.
func (m Mailpit) WaitFor(t testing.TB, query string, n int, timeout time.Duration) []Summary {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		got := m.Search(t, query)
		if len(got) > n {
			t.Fatalf("mailpit has %d messages for %s, want %d", len(got), query, n)
		}
		if len(got) == n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit has %d messages for %s after %s, want %d", len(got), query, timeout, n)
		}
		<-tick.C
	}
}

func (m Mailpit) get(t testing.TB, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, m.API+path, nil)
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	// No keep-alive: an idle connection to mailpit would outlive the
	// tests, and goleak would count its goroutines as leaked.
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit: GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit: GET %s: %v", path, err)
	}
}
