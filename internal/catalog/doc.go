// Package catalog is the registry of rankr's operations catalog: every
// action (one per GHL commerce operation, plus rankr's own composite ones)
// and every trigger (GHL's commerce webhooks, the changes rankr derives from
// its sync, rankr's own events, schedules), each described as data (a Spec:
// a versioned key, JSON Schemas for its input and output, a sample, the GHL
// scopes it needs, its effect and how it is made idempotent) and, for an
// action, run as code.
//
// The GHL items are generated from GHL's official OpenAPI files and webhook
// schemas into ghl.gen.json (see gen_test.go); rankr's own items are
// registered by internal/app, which holds the use cases they run. Every run
// is validated against the item's schemas: a bad input is refused before
// anything is sent, naming the field.
package catalog
