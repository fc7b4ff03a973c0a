// Package doctor holds rankr's end-to-end connectivity test, the one a
// person runs before going to production (rankr doctor, and GET
// /api/v1/doctor): each GHL connection's token and scopes (named by the
// rankr feature that needs them), GHL's reachability, latency and rate
// budget, the clocks (this host's against GHL's and against the webhooks
// received), the webhook keys and a signed test webhook through the real
// intake, the database and its migrations, the SMTP server, the outbound
// endpoints and, when asked, a test-mode order synced and a test
// fulfillment pushed through the real push flow.
//
// Every check says what it found, what that means and what to do. The
// checks read and diagnose: apart from the test order (asked for, and only
// on test-mode data), they change nothing in GHL or in Rankr's records. In
// particular they never set a connection's state, as the syncer does when
// GHL refuses it.
//
// Run takes what it needs as Deps, small values and interfaces that the
// daemon fills (daemon.DoctorDeps), so that the CLI and the API run the
// same checks. Package doctor imports ghl and internal/rankr, store,
// intake, mailer, outbound and flows of ours; it must not import
// internal/cli, internal/api, internal/web or internal/daemon (which
// depends on it), nor the sandbox (which it knows only by its admin API).
package doctor
