// Package ghl is a Go client for the HighLevel (GHL) API v2's commerce
// APIs: Payments (orders, fulfillments, transactions, subscriptions, coupons
// and payment providers), invoices (invoices, recurring schedules,
// templates and estimates), products (products, prices, inventory,
// collections and reviews) and store (shipping zones, rates and carriers,
// store settings). Operations lists all 110 with their scopes.
//
// The client speaks the API as GHL does: GHL's field names, its Version header,
// its error bodies and its rate limits. Every record keeps the raw JSON it was
// decoded from, so fields this package does not model are never lost, and enum
// values this package does not know pass through as plain strings.
//
// A Client is safe for concurrent use. It governs its own request rate per
// location (GHL budgets each location separately), waits instead of sending a
// request that would be refused, and retries what is safe to retry: any request
// GHL refused with 429, any request that never reached GHL, and idempotent
// requests after a 5xx or a network failure. A write whose outcome cannot be
// known (a timeout or a 5xx after GHL may have applied it) is never repeated
// blindly; it fails with an error matching ErrOutcomeUnknown so that the caller
// can look before retrying.
//
// OAuth holds the marketplace app's OAuth 2.0 calls: AuthorizeURL for the
// install page, the code exchange and the refresh (never repeated once sent,
// since GHL's codes and refresh tokens are single-use), and the company
// (agency) calls that mint location tokens and list installed locations.
//
// Package ghl imports nothing from the rest of rankr; it is meant to be usable
// on its own. Its companion, package ghl/sandbox, is a stateful GHL simulator.
package ghl
