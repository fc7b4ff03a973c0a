package store

import "github.com/rankr/rankr/internal/rankr"

// AllCounts is every location's counts as of one event of the change feed.
// Its zero value holds nothing: CountsSince counts the records for it.
type AllCounts struct {
	// Seq is the last event the counts include.
	Seq int64
	// Locations maps location ids to their counts; a location missing
	// from it holds nothing.
	Locations map[string]rankr.Counts
	// Recounted says the records were counted, rather than the counts
	// moved by the events since: from the zero value, from far behind, or
	// past an event that was not as expected.
	Recounted bool
}
