// Package outbound sends Rankr's change feed to subscribers as webhooks,
// signed the Standard Webhooks way (webhook-id, webhook-timestamp,
// webhook-signature: HMAC-SHA256 with the endpoint's whsec_ secret).
//
// It holds the endpoint management (add, enable, disable, remove, replay),
// the fan-out that turns change-feed events into deliveries, the dispatcher
// that attempts them under leases with exponential backoff until they are
// delivered or dead, the payloads, the signatures, and the guard that keeps
// outbound requests away from link-local, metadata, loopback and private
// addresses (checked on the address actually dialled, so DNS cannot get
// around it).
//
// Package outbound imports internal/rankr, internal/store and internal/vault
// of ours. It must not import jobs, daemon or cli: they run it.
package outbound
