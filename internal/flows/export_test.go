package flows

import "time"

// NoBackoff makes a pusher retry at once, so that tests need not wait out
// the backoff between attempts.
func NoBackoff(p *Pusher) { p.backoff = func(int) time.Duration { return 0 } }
