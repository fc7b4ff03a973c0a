// Package e2e holds rankr's end-to-end tests: they build the rankr binary
// and run it as separate processes, the way it is deployed, against a GHL
// sandbox served by the test process and real SQLite and PostgreSQL
// databases. They kill syncs with SIGKILL and check that nothing is lost or
// duplicated, run several serve processes on one PostgreSQL database and
// check that they share the work without ever doing it twice at once, and
// look for GHL tokens in the clear on disk and in the output.
//
// The package has no code outside its tests. Its tests talk to 127.0.0.1
// only. The tests on PostgreSQL need RANKR_TEST_POSTGRES (./scripts/test
// sets it); RANKR_E2E_RACE=1 builds the binary under test with the race
// detector.
package e2e
