package sandbox

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Faults are the failures the sandbox injects. Rates are probabilities per
// request (or per webhook) between 0 and 1. The zero value injects nothing.
type Faults struct {
	// Latency is added to every API request, plus up to LatencyJitter more.
	Latency       Duration `json:"latency,omitzero"`
	LatencyJitter Duration `json:"latencyJitter,omitzero"`
	// ErrorRate answers 500, 502 or 503 without doing anything.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// ErrorAfterRate does the work, then answers 5xx anyway: a write whose
	// outcome the client cannot know.
	ErrorAfterRate float64 `json:"errorAfterRate,omitempty"`
	// DropRate closes the connection without doing anything or answering.
	DropRate float64 `json:"dropRate,omitempty"`
	// DropAfterRate does the work, then closes the connection unanswered.
	DropAfterRate float64 `json:"dropAfterRate,omitempty"`
	// StallAfterRate does the work, then holds the answer for Stall before
	// closing the connection unanswered, so that the client times out.
	StallAfterRate float64  `json:"stallAfterRate,omitempty"`
	Stall          Duration `json:"stall,omitzero"`
	// Rate429 answers 429 to that share of requests, on top of the real
	// limit.
	Rate429 float64 `json:"rate429,omitempty"`
	// StormFor, when set in an update, answers every request with 429 for
	// that long from now; StormUntil reports when the storm ends.
	StormFor   Duration  `json:"stormFor,omitzero"`
	StormUntil time.Time `json:"stormUntil,omitzero"`
	// Only limits the request faults to these operations (by name, e.g.
	// "CreateFulfillment"); empty means every operation.
	Only []string `json:"only,omitempty"`

	// WebhookDuplicateRate delivers a webhook twice (same body, same id).
	WebhookDuplicateRate float64 `json:"webhookDuplicateRate,omitempty"`
	// WebhookReorderRate holds a webhook back and delivers it after the
	// next one.
	WebhookReorderRate float64 `json:"webhookReorderRate,omitempty"`
	// WebhookLossRate never delivers a webhook.
	WebhookLossRate float64 `json:"webhookLossRate,omitempty"`

	// OAuth faults strike the OAuth endpoints only (Only does not apply).
	// The counts are of requests still to strike: each injection spends
	// one, and Faults reports what is left.
	//
	// TokenDropAfterRotate: the next N successful POST /oauth/token do
	// their work (a code is spent, a refresh token rotates) and then close
	// the connection unanswered, so that the client never sees the new
	// pair.
	TokenDropAfterRotate int `json:"tokenDropAfterRotate,omitempty"`
	// TokenDelay holds every POST /oauth/token this long before doing
	// anything; a client that gives up first changes nothing.
	TokenDelay Duration `json:"tokenDelay,omitzero"`
	// TokenInvalidGrant: the next N POST /oauth/token answer 400 "Invalid
	// grant" and change nothing.
	TokenInvalidGrant int `json:"tokenInvalidGrant,omitempty"`
	// Token429: the next N POST /oauth/token answer 429 and change nothing.
	Token429 int `json:"token429,omitempty"`
	// InactiveLocations answer "Location is not active" when a token of
	// theirs is refreshed, exchanged or minted, as a paused location does.
	InactiveLocations []string `json:"inactiveLocations,omitempty"`
	// DropScopes are left out of the tokens a code exchange issues, as
	// when GHL grants fewer scopes than the app asked for.
	DropScopes []string `json:"dropScopes,omitempty"`
}

func (f Faults) validate() error {
	for name, r := range map[string]float64{
		"errorRate": f.ErrorRate, "errorAfterRate": f.ErrorAfterRate, "dropRate": f.DropRate,
		"dropAfterRate": f.DropAfterRate, "stallAfterRate": f.StallAfterRate, "rate429": f.Rate429,
		"webhookDuplicateRate": f.WebhookDuplicateRate, "webhookReorderRate": f.WebhookReorderRate,
		"webhookLossRate": f.WebhookLossRate,
	} {
		if r < 0 || r > 1 {
			return fmt.Errorf("%s must be between 0 and 1, got %v", name, r)
		}
	}
	if f.TokenDropAfterRotate < 0 || f.TokenInvalidGrant < 0 || f.Token429 < 0 {
		return fmt.Errorf("fault counts must not be negative")
	}
	if f.Latency < 0 || f.LatencyJitter < 0 || f.Stall < 0 || f.StormFor < 0 || f.TokenDelay < 0 {
		return fmt.Errorf("durations must not be negative")
	}
	return nil
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("250ms"); it also reads a number of milliseconds.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "250ms" or 250.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("duration %s: want a string such as \"250ms\" or a number of milliseconds", b)
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// faultState holds the current faults and the random source that decides
// each injection.
type faultState struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
}

func (fs *faultState) get() Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.f
	f.Only = slices.Clone(f.Only)
	f.InactiveLocations = slices.Clone(f.InactiveLocations)
	f.DropScopes = slices.Clone(f.DropScopes)
	return f
}

// spend uses up one injection of a counted fault, reporting whether there
// was one left.
func (fs *faultState) spend(count func(*Faults) *int) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := count(&fs.f)
	if *n <= 0 {
		return false
	}
	*n--
	return true
}

func (fs *faultState) set(f Faults, now time.Time) error {
	if err := f.validate(); err != nil {
		return err
	}
	if f.StormFor > 0 {
		f.StormUntil = now.Add(time.Duration(f.StormFor))
	}
	f.StormFor = 0
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.f = f
	return nil
}

// roll returns true with probability p.
func (fs *faultState) roll(p float64) bool {
	if p <= 0 {
		return false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.rng.Float64() < p
}

func (fs *faultState) jitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return time.Duration(fs.rng.Int64N(int64(max)))
}

func (fs *faultState) pick5xx() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return []int{500, 502, 503}[fs.rng.IntN(3)]
}

// applies reports whether request faults apply to the operation.
func (f Faults) applies(op string) bool { return len(f.Only) == 0 || slices.Contains(f.Only, op) }
