package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// Job kinds: the long-running work the API answers 202 for.
const (
	// JobResync walks a location again from the start, deletions too.
	JobResync = "resync"
	// JobPoll polls a location for what changed (after a resume).
	JobPoll = "poll"
	// JobReconcile reconciles now (Full: every record again).
	JobReconcile = "reconcile"
	// JobReplay sends outbound deliveries again.
	JobReplay = "replay"
)

// JobRequest is work to run in the background.
type JobRequest struct {
	Kind       string `json:"kind"`
	LocationID string `json:"locationId,omitempty"`
	// Full reconciles every record again (JobReconcile).
	Full bool `json:"full,omitempty"`
	// Replay selects the deliveries (JobReplay).
	Replay *ReplayRequest `json:"replay,omitempty"`
	// Actor and Request are who asked, for the audit log.
	Actor   rankr.AuditActor   `json:"actor"`
	Request rankr.AuditRequest `json:"request,omitzero"`
}

// Job states.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobRetrying  = "retrying" // failed once, tried again later
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

// Job is background work and how it stands.
type Job struct {
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	LocationID string          `json:"locationId,omitempty"`
	State      string          `json:"state"`
	Attempts   int             `json:"attempts"`
	CreatedAt  time.Time       `json:"createdAt"`
	StartedAt  time.Time       `json:"startedAt,omitzero"`
	FinishedAt time.Time       `json:"finishedAt,omitzero"`
	Errors     []string        `json:"errors,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
}

// Done reports whether the job has ended.
func (j Job) Done() bool {
	return j.State == JobSucceeded || j.State == JobFailed || j.State == JobCancelled
}

// JobQueue runs background work durably, in whichever rankr serve process
// takes it (River, in package jobs). Job reads a job by id, or
// rankr.ErrNotFound.
type JobQueue interface {
	Enqueue(ctx context.Context, r JobRequest) (Job, error)
	Job(ctx context.Context, id string) (Job, error)
}

// Jobs holds the queue, which serve sets once its job client runs.
type Jobs struct {
	mu    sync.Mutex
	queue JobQueue
}

func (j *Jobs) get() JobQueue {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.queue
}

// SetJobQueue gives the use cases the background queue.
func (a *App) SetJobQueue(q JobQueue) {
	a.jobs.mu.Lock()
	a.jobs.queue = q
	a.jobs.mu.Unlock()
}

func (a *App) queue() (JobQueue, error) {
	q := a.jobs.get()
	if q == nil {
		return nil, unavailable("background jobs", "they run in rankr serve")
	}
	return q, nil
}

// StartResync queues a full walk of a location.
func (a *App) StartResync(ctx context.Context, c Caller, loc string) (Job, error) {
	if err := c.visible(loc, "connection "+loc); err != nil {
		return Job{}, err
	}
	if _, err := a.d.Store.ConnectionGet(ctx, loc); err != nil {
		return Job{}, err
	}
	return a.enqueue(ctx, c, JobRequest{Kind: JobResync, LocationID: loc}, "connection.resync_requested",
		rankr.AuditTarget{Type: "connection", ID: loc, LocationID: loc})
}

// StartReconcile queues a reconciliation run.
func (a *App) StartReconcile(ctx context.Context, c Caller, full bool, loc string) (Job, error) {
	if err := c.location(loc); err != nil {
		return Job{}, err
	}
	if c.Locations != nil && loc == "" && full {
		return Job{}, fieldErr("locationId", "your key is bound to locations: name the one to reconcile in full")
	}
	return a.enqueue(ctx, c, JobRequest{Kind: JobReconcile, LocationID: loc, Full: full}, "reconcile.run_requested",
		rankr.AuditTarget{Type: "reconciliation", LocationID: loc})
}

// enqueue queues work, audited as asked for (the work itself is audited
// where it changes something, as replays are).
func (a *App) enqueue(ctx context.Context, c Caller, r JobRequest, action string, target rankr.AuditTarget) (Job, error) {
	q, err := a.queue()
	if err != nil {
		return Job{}, err
	}
	r.Actor, r.Request = c.Actor, c.Request
	j, err := q.Enqueue(ctx, r)
	if err != nil {
		return Job{}, err
	}
	if aerr := a.d.Store.AuditAppend(ctx, rankr.AuditEntry{At: time.Now(), Actor: c.Actor, Action: action,
		Outcome: rankr.AuditSuccess, Target: target, Request: c.Request,
		Changes: json.RawMessage(`{"job":` + strconv.Quote(j.ID) + `}`)}); aerr != nil {
		a.log.Error("a queued job is not in the audit log", "job", j.ID, "action", action, "error", aerr)
	}
	return j, nil
}

// JobShow reads a job; one for a location the caller does not see, or
// for every location when the caller is bound to some, is not found.
func (a *App) JobShow(ctx context.Context, c Caller, id string) (Job, error) {
	q, err := a.queue()
	if err != nil {
		return Job{}, err
	}
	j, err := q.Job(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if j.LocationID == "" && c.Locations != nil || j.LocationID != "" && !c.Sees(j.LocationID) {
		return Job{}, fmt.Errorf("job %s: %w", id, rankr.ErrNotFound)
	}
	return j, nil
}
