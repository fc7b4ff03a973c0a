package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/rankr"
)

// maxStream is how long one event stream lasts before the client must
// reconnect (and show its key again).
const maxStream = 5 * time.Minute

// stream serves the change feed as Server-Sent Events: each event's id is
// its seq, so that a browser that reconnects sends Last-Event-ID and
// resumes where it was, missing nothing. Without one (or ?after=), the
// stream starts with what happens from now. Idle streams send a comment
// every heartbeat so that proxies keep them open.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "after", "locationId")
	after, loc := q.int64("after"), q.str("locationId")
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	resume := r.URL.Query().Get("after") != ""
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 0 {
			s.writeError(w, r, &app.FieldError{Field: "Last-Event-ID", Message: "want the id of the last event received"})
			return
		}
		after, resume = n, true
	}
	if !resume {
		// From now: after the newest event the caller sees. From 0, every
		// tab that opens would first be sent the whole change feed, every
		// event ever stored.
		newest, err := s.app.Events(r.Context(), caller(r), app.EventQuery{Location: loc, Newest: true, Limit: 1})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(newest.Items) > 0 {
			after = newest.Items[0].Seq
		}
	}
	rc := http.NewResponseController(w)
	sub, err := s.app.Subscribe(r.Context(), caller(r), loc, after)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer sub.Close()
	// The server's write timeout would end a stream meant to stay open.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
	w.WriteHeader(http.StatusOK)
	// A browser reconnects after this long when the stream breaks.
	fmt.Fprint(w, "retry: 2000\n\n")
	last := after
	send := func(e rankr.Event) error {
		if e.Seq <= last {
			return nil
		}
		last = e.Seq
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Kind, b)
		return err
	}
	for _, e := range sub.Backlog {
		if send(e) != nil {
			return
		}
	}
	if rc.Flush() != nil {
		return
	}
	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	// A stream ends after a while, and the browser reconnects through the
	// guard: a key revoked or expired meanwhile stops it then.
	end := time.NewTimer(maxStream)
	defer end.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case e, ok := <-sub.C:
			if !ok {
				// Dropped for falling behind: the browser reconnects with
				// its Last-Event-ID and catches up from the store.
				return
			}
			if send(e) != nil {
				return
			}
			// Send what else is ready in one flush.
			for more := true; more; {
				select {
				case e, ok := <-sub.C:
					if !ok || send(e) != nil {
						return
					}
				default:
					more = false
				}
			}
			if rc.Flush() != nil {
				return
			}
		}
	}
}
