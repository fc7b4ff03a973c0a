// Package rankr holds Rankr's domain: the records the connector keeps for
// each GHL location (orders with their items, fulfillments, transactions,
// subscriptions, invoices), the connections to those locations, the change
// feed, and the sentinel errors every layer shares.
//
// Money is an int64 in the currency's minor unit, next to its ISO 4217 code;
// times are UTC. Every record also keeps the raw GHL JSON it came from, so
// that nothing GHL sent is lost even when it is not modelled here.
//
// Package rankr imports only the standard library.
package rankr
