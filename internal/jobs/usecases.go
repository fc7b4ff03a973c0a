package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/rankr"
)

// UseCaseArgs runs one of the application's long-running use cases (a
// reconciliation run, a replay) for the API, which answered 202 with the
// job's id.
type UseCaseArgs struct {
	Request app.JobRequest `json:"request"`
}

// Kind names the job.
func (UseCaseArgs) Kind() string { return "app.run" }

// InsertOpts runs them on the default queue, once: a use case that failed
// is reported, not run again behind the caller's back.
func (UseCaseArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: river.QueueDefault, MaxAttempts: 1}
}

// UseCaseRunner runs a use case (app.App.RunJob).
type UseCaseRunner func(ctx context.Context, r app.JobRequest) (any, error)

type useCaseWorker struct {
	river.WorkerDefaults[UseCaseArgs]
	run UseCaseRunner
}

// Work runs the use case and records what it returned as the job's output.
func (w *useCaseWorker) Work(ctx context.Context, j *river.Job[UseCaseArgs]) error {
	if w.run == nil {
		return errors.New("this rankr process runs no use cases")
	}
	out, err := w.run(ctx, j.Args.Request)
	if err != nil {
		return err
	}
	return river.RecordOutput(ctx, out)
}

// Queue is the API's background queue on River: what any process of the
// installation may run, and what the API polls.
type Queue struct {
	client *river.Client[*sql.Tx]
}

// NewQueue returns the queue on client.
func NewQueue(client *river.Client[*sql.Tx]) *Queue { return &Queue{client: client} }

// Enqueue queues work. A resync or poll of a location already queued or
// running answers with that job: the work is the same.
func (q *Queue) Enqueue(ctx context.Context, r app.JobRequest) (app.Job, error) {
	var args river.JobArgs
	switch r.Kind {
	case app.JobResync:
		args = WalkArgs{LocationID: r.LocationID}
	case app.JobPoll:
		args = PollArgs{LocationID: r.LocationID}
	case app.JobReconcile, app.JobReplay:
		args = UseCaseArgs{Request: r}
	default:
		return app.Job{}, fmt.Errorf("no background job of kind %q: %w", r.Kind, rankr.ErrInvalid)
	}
	res, err := q.client.Insert(ctx, args, nil)
	if err != nil {
		return app.Job{}, fmt.Errorf("queueing the %s: %w", r.Kind, rankr.ErrUnavailable)
	}
	return jobView(res.Job), nil
}

// Job reads a job by id.
func (q *Queue) Job(ctx context.Context, id string) (app.Job, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return app.Job{}, fmt.Errorf("job %q: %w", id, rankr.ErrNotFound)
	}
	row, err := q.client.JobGet(ctx, n)
	if errors.Is(err, river.ErrNotFound) {
		return app.Job{}, fmt.Errorf("job %s: %w", id, rankr.ErrNotFound)
	}
	if err != nil {
		return app.Job{}, fmt.Errorf("reading job %s: %w", id, rankr.ErrUnavailable)
	}
	return jobView(row), nil
}

// jobView is a River job as the API shows it.
func jobView(row *rivertype.JobRow) app.Job {
	j := app.Job{ID: strconv.FormatInt(row.ID, 10), Kind: row.Kind, Attempts: row.Attempt, CreatedAt: row.CreatedAt.UTC()}
	var args struct {
		LocationID string         `json:"location_id"`
		Request    app.JobRequest `json:"request"`
	}
	_ = json.Unmarshal(row.EncodedArgs, &args)
	switch row.Kind {
	case WalkArgs{}.Kind():
		j.Kind, j.LocationID = app.JobResync, args.LocationID
	case PollArgs{}.Kind():
		j.Kind, j.LocationID = app.JobPoll, args.LocationID
	case UseCaseArgs{}.Kind():
		j.Kind, j.LocationID = args.Request.Kind, args.Request.LocationID
	default:
		j.LocationID = args.LocationID
	}
	switch row.State {
	case rivertype.JobStateRunning:
		j.State = app.JobRunning
	case rivertype.JobStateRetryable:
		j.State = app.JobRetrying
	case rivertype.JobStateCompleted:
		j.State = app.JobSucceeded
	case rivertype.JobStateDiscarded:
		j.State = app.JobFailed
	case rivertype.JobStateCancelled:
		j.State = app.JobCancelled
	default: // available, pending, scheduled (a walk between its slices)
		j.State = app.JobQueued
	}
	if row.AttemptedAt != nil {
		j.StartedAt = row.AttemptedAt.UTC()
	}
	if row.FinalizedAt != nil {
		j.FinishedAt = row.FinalizedAt.UTC()
	}
	for _, e := range row.Errors {
		j.Errors = append(j.Errors, e.Error)
	}
	if out := row.Output(); len(out) > 0 {
		j.Output = json.RawMessage(out)
	}
	return j
}
