package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
)

// LocationTokenArgs mints the token of one location of an agency (bulk)
// install from the company's token. Unique by location: an install, its
// INSTALL webhooks and a claim that all ask for one location queue one
// job.
type LocationTokenArgs struct {
	CompanyID  string `json:"company_id"`
	LocationID string `json:"location_id"`
}

// Kind names the job.
func (LocationTokenArgs) Kind() string { return "oauth.location_token" }

// InsertOpts runs the mints on the sync queue, before the syncs they make
// possible.
func (LocationTokenArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, Priority: 1, UniqueOpts: unique}
}

// LocationMinter mints location tokens (package oauth's Manager).
type LocationMinter interface {
	MintLocation(ctx context.Context, companyID, locationID string) error
}

type locationTokenWorker struct {
	river.WorkerDefaults[LocationTokenArgs]
	m LocationMinter
}

// Work mints the token. A failure (GHL's 429 beyond the company's budget,
// say) is retried with River's backoff; each mint draws on the company's
// budget through the governor, so a bulk install of hundreds of locations
// stays inside it.
func (w *locationTokenWorker) Work(ctx context.Context, j *river.Job[LocationTokenArgs]) error {
	if w.m == nil {
		return fmt.Errorf("no OAuth manager in this process to mint location %s", j.Args.LocationID)
	}
	return w.m.MintLocation(ctx, j.Args.CompanyID, j.Args.LocationID)
}

// LocationTokens are the jobs minting a company's location tokens.
func LocationTokens(companyID string, locationIDs []string) []river.InsertManyParams {
	out := make([]river.InsertManyParams, len(locationIDs))
	for i, l := range locationIDs {
		out[i] = river.InsertManyParams{Args: LocationTokenArgs{CompanyID: companyID, LocationID: l}}
	}
	return out
}
