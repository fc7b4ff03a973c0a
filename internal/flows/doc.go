// Package flows holds the flows the integration exists for beyond keeping
// records in sync: pushing Rankr's fulfillments (tracking numbers) to GHL
// exactly once, so that no order is fulfilled twice, and telling the
// customer once: through GHL's notice, or through Rankr's own mail (the
// notice outbox and its Notifier), never both; and reconciling payments
// against orders and invoices (balances, exceptions opened and resolved as
// events, renewals with their invoicing records), incrementally from the
// change feed.
//
// It imports ghl, internal/mailer, internal/rankr, internal/store and
// internal/syncer of ours.
package flows
