// Package bench holds rankr's end-to-end sync benchmarks. They build the
// rankr binary and run `rankr sync` (or `rankr serve`) as its own process
// against a GHL sandbox on 127.0.0.1, so that the figures are those of the
// connector as shipped:
//
//   - BenchmarkBackfill10k/{sqlite,postgres}: a backfill of 10,000 orders
//     (with their fulfillments, transactions, subscriptions and invoices)
//     against a sandbox with its rate limits raised: records/s, orders/s,
//     GHL calls per order as the sandbox counted them, 429s, and the peak
//     RSS of the sync process alone (the sandbox is another process).
//   - BenchmarkBackfill100k/sqlite: the same at 100,000 orders, to show that
//     memory stays flat as data grows. It takes minutes (about 3 on 2 idle
//     cores), so it runs only when RANKR_BENCH_LARGE=1.
//   - BenchmarkRealLimitUtilization: one location at GHL's real limits (100
//     requests per 10 s, 200,000 per day) for 60 s: the share of the
//     allowed requests the sync actually got answered, and 429s.
//   - BenchmarkWebhookBurst: `rankr serve` (SQLite, polling hourly) takes a
//     burst of 2,000 webhook-delivered orders from a `rankr sandbox` process
//     at GHL's real limits: the GHL calls the burst cost per order (the
//     payments passes that follow it up), the seconds until every order and
//     payment agrees with the sandbox, and 429s.
//
// PostgreSQL runs when RANKR_TEST_POSTGRES is set (./scripts/bench starts a
// throwaway server, with fsync off). Each benchmark does its work once per
// b.N; run them with -benchtime=1x. ./scripts/bench runs them and prints the
// figures; RANKR_BENCH_REPORT names a file that receives them as text.
//
// The package has no code of its own: everything is in its tests.
package bench
