package store

import (
	"context"
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// Notices is the outbox of the mails Rankr sends itself (customer notices
// now, operator alerts later). The rules:
//
//   - At most one notice per kind and dedupe key: creating it again is a
//     no-op. A fulfillment notice is created in the transaction that marks
//     its push done (see PushFinishParams.Notice), so a done push always has
//     its notice and never two.
//   - A sender claims a notice with a lease; every later step names the
//     lease, and applies only while the claim stands, so a sender that lost
//     its claim cannot send. Leases and due times are measured with the
//     database's clock, never a sender's.
//   - A notice whose mail may have been accepted (committing) is never
//     claimed again: when its lease runs out it becomes unknown, and only an
//     operator (NoticeRetry) sends it again.
type Notices interface {
	// NoticeCreate adds a notice (state pending, due at once by the
	// database's clock, whatever n.NextAttemptAt says) unless one of its
	// kind and dedupe key exists; it reports whether it did.
	NoticeCreate(ctx context.Context, n rankr.Notice) (bool, error)
	// NoticeGet returns a notice, or rankr.ErrNotFound.
	NoticeGet(ctx context.Context, id string) (rankr.Notice, error)
	// NoticeClaim first marks unknown the committing notices whose lease
	// ran out, then leases up to Limit due notices (pending and due, or
	// sending with a lease that ran out): it marks them sending, counts the
	// attempt and gives each a new lease. With ID set it claims that notice
	// only, and fails with rankr.ErrConflict when it is not due.
	NoticeClaim(ctx context.Context, p NoticeClaimParams) ([]rankr.Notice, error)
	// NoticeCommitting records that the sender holding the lease is about
	// to end the message data, with the mail's Message-ID. It fails with
	// rankr.ErrConflict when the lease is no longer held: the sender must
	// then not send.
	NoticeCommitting(ctx context.Context, p NoticeCommittingParams) error
	// NoticeFinish records how an attempt ended (sent, failed, unknown, or
	// pending to try again after RetryIn), with an event unless pending.
	// It fails with rankr.ErrConflict when the lease is no longer held
	// (except that a mail found sent is recorded sent even after its lease
	// ran out and it was marked unknown).
	NoticeFinish(ctx context.Context, p NoticeFinishParams) error
	// NoticeRetry makes an unknown or failed notice pending again, due at
	// once by the database's clock, for an operator who checked that the
	// mail did not arrive (now is the record time).
	NoticeRetry(ctx context.Context, id string, now time.Time) error
	// NoticeList lists notices, newest first (Status filters by state).
	NoticeList(ctx context.Context, p ListParams) ([]rankr.Notice, error)
	// NoticeCounts counts a location's notices (every location's when
	// empty) by state.
	NoticeCounts(ctx context.Context, locationID string) (map[rankr.NoticeState]int, error)
}

// NoticeClaimParams leases notices for sending. Which notices are due, and
// the lease, are measured with the database's clock.
type NoticeClaimParams struct {
	ID    string // only this notice
	Limit int    // default 10
	Lease time.Duration
	// Now is the record time (updated_at, events); it decides nothing.
	Now time.Time
}

// NoticeCommittingParams records that a mail is about to be committed.
type NoticeCommittingParams struct {
	ID        string
	Lease     string
	MessageID string
	// For extends the lease over the commit, from the database's clock:
	// past it, with no finish recorded, the notice becomes unknown.
	For time.Duration
	// Now is the record time (updated_at); it decides nothing.
	Now time.Time
}

// NoticeFinishParams ends an attempt.
type NoticeFinishParams struct {
	ID    string
	Lease string
	State rankr.NoticeState // sent, failed, unknown or pending
	Error string
	// RetryIn is how long a pending notice waits for its next attempt,
	// from the database's clock.
	RetryIn time.Duration
	// Now is the record time (sent_at, updated_at, events); it decides
	// nothing.
	Now time.Time
}
