package jobs

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
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

// noticeWorker is registered in every process, so that one without a
// mailer that picks the job up (processes share jobs on PostgreSQL) ends it
// rather than fails it; only a process with a mailer queues it.
type noticeWorker struct {
	river.WorkerDefaults[NoticeArgs]
	n   *flows.Notifier
	a   *flows.Alerter
	log *slog.Logger
}

func (w *noticeWorker) Work(ctx context.Context, _ *river.Job[NoticeArgs]) error {
	if !w.n.Enabled() {
		return nil
	}
	// Alerts first, so that an exception's alert goes out in this run.
	_, alertErr := w.a.Queue(ctx)
	_, err := w.n.SendDue(ctx)
	return periodic(w.log, "notices", errors.Join(alertErr, err))
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
