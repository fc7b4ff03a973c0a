package store

import "context"

// Gauges are how the outboxes and the reconciliation stand right now, for
// the metrics: counts by state across every location, read in one go at
// each scrape.
type Gauges struct {
	Pushes     map[string]int // fulfillment pushes by state
	Notices    map[string]int // Rankr's own mails by state
	Deliveries map[string]int // outbound deliveries by state
	// OpenExceptions counts the open reconciliation exceptions by
	// location and kind.
	OpenExceptions []ExceptionCount
}

// ExceptionCount is how many exceptions of a kind a location has open.
type ExceptionCount struct {
	LocationID string
	Kind       string
	Open       int
}

// Gauger reads the gauges.
type Gauger interface {
	// Gauges counts the outboxes by state and the open exceptions. It
	// reads indexes or whole small tables, never the records.
	Gauges(ctx context.Context) (Gauges, error)
	// OpenExceptionCounts counts the open reconciliation exceptions by
	// location and kind, from their partial index: the part of the gauges
	// the overview shows.
	OpenExceptionCounts(ctx context.Context) ([]ExceptionCount, error)
}
