package jobs

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/rankr/rankr/internal/flows"
)

// NoticeArgs is the periodic job that sends due notices (Rankr's own
// mails to customers and alerts to operators).
type NoticeArgs struct{}

// Kind names the job.
func (NoticeArgs) Kind() string { return "flows.notices" }

// InsertOpts runs notices early; one at a time.
func (NoticeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, Priority: 1, UniqueOpts: unique}
}

type noticeWorker struct {
	river.WorkerDefaults[NoticeArgs]
	n *flows.Notifier
	a *flows.Alerter
}

func (w *noticeWorker) Work(ctx context.Context, _ *river.Job[NoticeArgs]) error {
	// Alerts first, so that an exception's alert goes out in this run.
	_, alertErr := w.a.Queue(ctx)
	_, err := w.n.SendDue(ctx)
	return errors.Join(alertErr, err)
}

// addNoticeWorker registers the notice sender, when there is one, with the
// alerter that queues alerts for it.
func addNoticeWorker(workers *river.Workers, n *flows.Notifier, a *flows.Alerter) {
	if n.Enabled() {
		river.AddWorker(workers, &noticeWorker{n: n, a: a})
	}
}

// addNoticeJob sends due notices every second, when there is a sender: a
// mail goes out within a second or two of being queued, and is retried
// from the outbox.
func addNoticeJob(client *river.Client[*sql.Tx], n *flows.Notifier) {
	if n.Enabled() {
		client.PeriodicJobs().Add(river.NewPeriodicJob(river.PeriodicInterval(time.Second),
			func() (river.JobArgs, *river.InsertOpts) { return NoticeArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
}
