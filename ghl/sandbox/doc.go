// Package sandbox is a stateful, in-memory simulator of the HighLevel (GHL)
// commerce APIs (Payments, invoices, products and store), faithful enough that every GHL flow can be built, shown and
// tested without a GHL account.
//
// It serves the same paths, query parameters, JSON shapes, status codes and
// error bodies as GHL; authorizes Private Integration Tokens per location and
// scope; enforces GHL's per-location rate limits with the X-RateLimit-*
// headers; generates a deterministic, realistic history from a seed; changes
// that history live at a chosen rate; delivers Ed25519-signed webhooks that
// are retried only on 429, as GHL does; and injects faults on demand (latency,
// 5xx, 429 storms, dropped connections, duplicated, reordered and lost
// webhooks). It plays GHL's part in a marketplace app's OAuth 2.0 flow: the
// chooselocation page, location and company (bulk) installs with their
// INSTALL and UNINSTALL webhooks, single-use rotating refresh tokens,
// expiring access tokens, location tokens minted from company tokens, and
// OAuth faults such as a refresh whose reply is lost. An admin API under /_sandbox/ drives all of this and dumps the
// full truth, so that tests can compare what a client synced with what the
// sandbox holds.
//
// Package sandbox depends only on package ghl (for the wire types) and the
// standard library.
package sandbox
