package cli

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vbauerster/mpb/v8"

	"github.com/rankr/rankr/ghl/sandbox"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/vault"
)

// TestSyncIsQuietOffATerminal syncs with stdout not a terminal: nothing but
// the summary is printed, and no escape codes. The sandbox's rate limit
// makes the sync outlast a window of the budget, as real syncs do.
func TestSyncIsQuietOffATerminal(t *testing.T) {
	t.Parallel()
	s := newSetupOf(t, "", sandbox.Config{Seed: 42, Locations: 1, Orders: 60,
		RateLimit: sandbox.RateLimit{Burst: 60, Interval: 6 * time.Second, Daily: 1_000_000}})
	l := s.sb.Locations()[0]
	s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url, "--no-verify")
	out := s.must(t, "sync")
	if strings.Contains(out, "\x1b") {
		t.Errorf("sync printed escape codes off a terminal:\n%q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "LOCATION") || !strings.Contains(lines[0], "CALLS/ORDER") ||
		!strings.HasPrefix(lines[1], l.ID) || !strings.HasPrefix(lines[2], "synced 1 location(s) in ") {
		t.Errorf("sync printed more than its summary:\n%s", out)
	}
	if f := strings.Fields(lines[1]); len(f) < 7 || atoi(f[6]) <= 60 {
		t.Errorf("the sync made no more GHL calls than one window of the budget allows, so it did not outlast it:\n%s", out)
	}
}

// TestProgressFitsTheWidth draws the progress of a sync of two locations at
// 80 and 120 columns: every line fits, and each list has its bar.
func TestProgressFitsTheWidth(t *testing.T) {
	t.Parallel()
	for _, width := range []int{80, 120} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, "")
			for _, l := range s.sb.Locations() {
				s.must(t, "connect", "--location", l.ID, "--token", l.Token, "--base-url", s.url, "--no-verify")
			}
			d, err := daemon.Open(context.Background(), daemon.Config{DB: "sqlite:" + filepath.Join(s.dir, "rankr.db"), MasterKey: s.key(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			var buf bytes.Buffer
			var locs []string
			for _, l := range s.sb.Locations() {
				locs = append(locs, l.ID)
			}
			stop := showProgress(d.Syncer, locs, mpb.WithOutput(&buf), mpb.WithWidth(width))
			for _, loc := range locs {
				if r := syncOne(context.Background(), d.Syncer, loc, true); r.err != nil {
					t.Fatal(r.err)
				}
			}
			stop()
			out := buf.String()
			if strings.Contains(out, "\x1b") {
				t.Errorf("escape codes written to a buffer:\n%q", out)
			}
			for _, line := range strings.Split(out, "\n") {
				if n := utf8.RuneCountInString(line); n > width {
					t.Errorf("a line of %d columns at %d:\n%s", n, width, line)
				}
			}
			// The last frame: each location's line, then a full bar per list.
			frame := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			frame = frame[len(frame)-len(locs)*(1+len(progressLists)):]
			for i, loc := range locs {
				head := frame[i*(1+len(progressLists))]
				if !strings.HasPrefix(head, loc) || !strings.Contains(head, "calls") {
					t.Errorf("location line %q", head)
				}
				for j, list := range progressLists {
					bar := frame[i*(1+len(progressLists))+1+j]
					if !strings.HasPrefix(strings.TrimSpace(bar), list) || strings.Contains(bar, "-]") {
						t.Errorf("the %s bar of %s is not full at the end: %q", list, loc, bar)
					}
				}
			}
		})
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// key reads this test's master key.
func (s *setup) key(t *testing.T) []byte {
	t.Helper()
	k, _, err := vault.LoadKeyFile(filepath.Join(s.dir, "master.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
