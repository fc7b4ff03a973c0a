package outbound

import "time"

// SetClock gives a dispatcher the clock of its host, so that tests can run
// dispatchers on hosts whose clocks disagree.
func SetClock(w *Webhooks, now func() time.Time) { w.now = now }
