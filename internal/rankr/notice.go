package rankr

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// NoticeState is where a mail Rankr sends itself stands.
type NoticeState string

// Notice states. A notice is pending until a sender claims it (sending). A
// sender records committing just before it ends the message data (the SMTP
// end-of-data dot): from then on the server may have accepted the mail, so a
// notice whose committing attempt ended without the server's answer (a
// dropped connection, a timeout, a sender that died) becomes unknown and is
// never sent again automatically. sent means the server accepted it; failed
// that it refused it for good.
const (
	NoticePending    NoticeState = "pending"
	NoticeSending    NoticeState = "sending"
	NoticeCommitting NoticeState = "committing"
	NoticeSent       NoticeState = "sent"
	NoticeFailed     NoticeState = "failed"
	NoticeUnknown    NoticeState = "unknown"
)

// Notice kinds.
const (
	// NoticeFulfillment tells a customer that (part of) an order shipped;
	// its dedupe key is GHL's fulfillment id and its payload a
	// FulfillmentNotice.
	NoticeFulfillment = "fulfillment"
	// NoticeAlert tells an operator that reconciliation opened an
	// exception; its dedupe key names the exception and the recipient, and
	// its payload is an AlertNotice.
	NoticeAlert = "alert"
	// NoticeMessage is a mail an automation or an operator composed (the
	// catalog's rankr.notify.email and rankr.alert.raise); its dedupe key
	// is the caller's, so that a retried step sends it once, and its
	// payload a MessageNotice.
	NoticeMessage = "message"
)

// MessageNotice is a composed mail.
type MessageNotice struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	// Severity is set on alerts: info, warning or critical.
	Severity string `json:"severity,omitempty"`
	// Origin says what composed it ("automation ship-notify, step alert").
	Origin string `json:"origin,omitempty"`
}

// AlertNotice is what an alert tells an operator.
type AlertNotice struct {
	Location string `json:"location,omitempty"` // the location's name
	ExceptionEvent
}

// NoticeID is the id of the notice of a kind and dedupe key: derived from
// them, so that the same notice has the same id (and so the same
// Message-ID) wherever and however often it is queued.
func NoticeID(kind, dedupeKey string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + dedupeKey))
	return "nt_" + hex.EncodeToString(sum[:10])
}

// Notice is one mail in Rankr's outbox. At most one notice exists per kind
// and dedupe key, which is how "exactly once per fulfillment" is kept.
type Notice struct {
	ID         string          `json:"id"`
	LocationID string          `json:"locationId"`
	Kind       string          `json:"kind"`
	DedupeKey  string          `json:"dedupeKey"`
	Recipient  string          `json:"recipient"`
	Payload    json.RawMessage `json:"payload"`
	State      NoticeState     `json:"state"`
	Attempts   int             `json:"attempts"`
	LastError  string          `json:"lastError,omitempty"`
	// NextAttemptAt is when a pending notice is due.
	NextAttemptAt time.Time `json:"nextAttemptAt"`
	// Lease identifies the claim of the sender holding the notice; the
	// sender's later steps only apply while it still holds it.
	Lease string `json:"-"`
	// MessageID is the mail's Message-ID header (without angle brackets),
	// recorded before the mail is committed, so that a receiver or an
	// operator can find it.
	MessageID string    `json:"messageId,omitempty"`
	SentAt    time.Time `json:"sentAt,omitzero"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// FulfillmentNotice is what a fulfillment notice tells the customer.
type FulfillmentNotice struct {
	Shop          string       `json:"shop,omitempty"` // the location's name
	OrderID       string       `json:"orderId"`
	FulfillmentID string       `json:"fulfillmentId"`
	PushID        string       `json:"pushId"`
	CustomerName  string       `json:"customerName,omitempty"`
	Items         []NoticeItem `json:"items"`
	Trackings     []Tracking   `json:"trackings"`
}

// NoticeItem is an item shipped, as the customer knows it.
type NoticeItem struct {
	Name string `json:"name"`
	Qty  int64  `json:"qty"`
}

// Notice events.
const (
	EventNoticeQueued  = "notice.queued"
	EventNoticeSent    = "notice.sent"
	EventNoticeFailed  = "notice.failed"
	EventNoticeUnknown = "notice.unknown"
	EventNoticeRetry   = "notice.retry" // an operator asked to send it again
)

// RecordNotice names notices in events.
const RecordNotice = "notice"

// NotifyVia says who tells the customer about a pushed fulfillment.
type NotifyVia string

// Who notifies. Exactly one of them, or nobody: a customer never gets two
// notices for one fulfillment.
const (
	NotifyNobody NotifyVia = ""
	NotifyGHL    NotifyVia = "ghl"   // GHL's own email (notifyCustomer=true)
	NotifyRankr  NotifyVia = "rankr" // Rankr's mail over SMTP; GHL is told not to
)
