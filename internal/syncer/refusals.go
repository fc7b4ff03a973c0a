package syncer

import (
	"context"
	"fmt"
	"strings"
)

// maxRefusalsShown bounds how many refused records a connection's last sync
// error names; the log has every one.
const maxRefusalsShown = 5

// refusals are the records a location's passes refused since the last one
// finished, for that pass to record: the message of each, in order, once.
type refusals struct {
	seen map[string]bool
	msgs []string
}

// admit reports whether a converted record can be stored. It logs the
// roundings converting it took; when it refused an amount, it logs that
// and keeps the refusal for the pass's end (finish), which records it as the
// connection's last sync error. The record is not stored and nothing marks
// it seen or synced, so every later pass that lists it (polling while it is
// in the window, every full walk) tries it again.
func (s *Syncer) admit(loc string, a *amounts) bool {
	s.noteRounded(loc, a)
	if a.err == nil {
		return true
	}
	s.Progress(loc).Refused.Add(1)
	s.log.Error("record not stored: GHL sent a value Rankr cannot store exactly; later passes try it again",
		"location", loc, "type", a.recordType, "id", a.id, "field", a.err.Field, "text", a.err.Text, "error", a.err)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.refused[loc]
	if r == nil {
		r = &refusals{seen: map[string]bool{}}
		s.refused[loc] = r
	}
	if msg := a.err.Error(); !r.seen[msg] {
		r.seen[msg] = true
		r.msgs = append(r.msgs, msg)
	}
	return false
}

// noteRounded logs each amount converting a record rounded, and counts it.
func (s *Syncer) noteRounded(loc string, a *amounts) {
	if len(a.rounded) == 0 {
		return
	}
	s.Progress(loc).Rounded.Add(int64(len(a.rounded)))
	for _, r := range a.rounded {
		s.log.Warn("amount rounded half away from zero: GHL sent more decimals than the currency has; the raw JSON keeps its text",
			"location", loc, "type", a.recordType, "id", a.id, "rounding", r)
	}
}

// takeRefused returns, and forgets, what a location's passes refused, as a
// sentence for the connection's last sync error ("" for nothing).
func (s *Syncer) takeRefused(loc string) string {
	s.mu.Lock()
	r := s.refused[loc]
	delete(s.refused, loc)
	s.mu.Unlock()
	if r == nil {
		return ""
	}
	shown := r.msgs[:min(len(r.msgs), maxRefusalsShown)]
	more := ""
	if n := len(r.msgs) - len(shown); n > 0 {
		more = fmt.Sprintf(" (and %d more, in the log)", n)
	}
	return fmt.Sprintf("%d record(s) not stored, tried again by later passes: %s%s", len(r.msgs), strings.Join(shown, "; "), more)
}

// finishRefused records a pass that otherwise needs no record (a targeted
// refresh) when it refused records, so that they show.
func (s *Syncer) finishRefused(ctx context.Context, loc string) error {
	s.mu.Lock()
	pending := s.refused[loc] != nil
	s.mu.Unlock()
	if !pending {
		return nil
	}
	return s.finish(ctx, loc, nil)
}

// notApplied is the outcome of a webhook whose record was refused: the
// intake keeps the body as GHL sent it, and the outcome says why nothing
// was applied.
func (s *Syncer) notApplied(loc string, a *amounts) string {
	s.Progress(loc).Refused.Add(1)
	s.log.Error("webhook not applied: GHL sent a value Rankr cannot store exactly; polling tries the record again",
		"location", loc, "type", a.recordType, "id", a.id, "field", a.err.Field, "text", a.err.Text, "error", a.err)
	return "not applied: " + a.err.Error()
}

// roundedNote logs what converting a webhook's record rounded and returns
// it for the webhook's outcome ("" for nothing).
func (s *Syncer) roundedNote(loc string, a *amounts) string {
	s.noteRounded(loc, a)
	return strings.Join(a.rounded, "; ")
}
