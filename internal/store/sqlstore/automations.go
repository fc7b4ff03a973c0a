package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

const automationColumns = `id, version, enabled, description, trigger_key, all_locations, created_at, updated_at`

// scanAutomation reads an automation's row; its locations are read apart.
func scanAutomation(r scanner) (rankr.Automation, bool, error) {
	var a rankr.Automation
	var all bool
	var created, updated int64
	err := r.Scan(&a.ID, &a.Version, &a.Enabled, &a.Description, &a.TriggerKey, &all, &created, &updated)
	a.CreatedAt, a.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return a, all, err
}

// automationLocations fills in the locations of automations not run for
// every location.
func automationLocations(ctx context.Context, query func(context.Context, string, ...any) (*sql.Rows, error),
	list []rankr.Automation, all []bool) error {
	for i := range list {
		if all[i] {
			continue
		}
		rows, err := query(ctx, `SELECT location_id FROM automation_locations WHERE automation_id = ? ORDER BY location_id`, list[i].ID)
		if err != nil {
			return err
		}
		locs, err := rowsOf(rows, scanID)
		if err != nil {
			return err
		}
		list[i].Locations = append([]string{}, locs...) // not nil: these locations only
	}
	return nil
}

func (s *Store) dbQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.read().QueryContext(ctx, s.q(query), args...)
}

// AutomationSave stores a version and makes it live.
func (s *Store) AutomationSave(ctx context.Context, p store.AutomationSaveParams) (rankr.Automation, bool, error) {
	if p.ID == "" || p.TriggerKey == "" || p.Checksum == "" || len(p.Definition) == 0 {
		return rankr.Automation{}, false, invalid("an automation needs an id, a trigger, a definition and a checksum")
	}
	if strings.Contains(p.TriggerKey, "@") {
		return rankr.Automation{}, false, invalid("an automation's trigger key is stored without its version, not %q", p.TriggerKey)
	}
	for _, l := range p.Locations {
		if l == "" {
			return rankr.Automation{}, false, invalid("an automation's locations cannot be empty")
		}
	}
	author, err := json.Marshal(p.Author)
	if err != nil {
		return rankr.Automation{}, false, invalid("author: %v", err)
	}
	var created bool
	err = s.inTx(ctx, func(t *tx) error {
		created = false
		// The feed's lock first: the swap of the live version is then
		// ordered with every transaction appending an event, and each of
		// those sees the automation as it is before or after, whole.
		if err := t.lockFeed(ctx); err != nil {
			return err
		}
		now := time.Now().UnixMilli()
		var live int
		var checksum string
		err := t.queryRow(ctx, `SELECT a.version, v.checksum FROM automations a
			JOIN automation_versions v ON v.automation_id = a.id AND v.version = a.version WHERE a.id = ?`+t.s.d.LockRows, p.ID).
			Scan(&live, &checksum)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := t.exec(ctx, `INSERT INTO automations (id, version, enabled, description, trigger_key, all_locations,
				created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?)`,
				p.ID, p.Enabled, p.Description, p.TriggerKey, p.Locations == nil, now, now); err != nil {
				return err
			}
		case err != nil:
			return err
		case checksum == p.Checksum:
			_, err := t.exec(ctx, `UPDATE automations SET enabled = ?, updated_at = ? WHERE id = ? AND enabled <> ?`,
				p.Enabled, now, p.ID, p.Enabled)
			return err
		default:
			if _, err := t.exec(ctx, `UPDATE automations SET version = ?, enabled = ?, description = ?, trigger_key = ?,
				all_locations = ?, updated_at = ? WHERE id = ?`,
				live+1, p.Enabled, p.Description, p.TriggerKey, p.Locations == nil, now, p.ID); err != nil {
				return err
			}
			if _, err := t.exec(ctx, `DELETE FROM automation_locations WHERE automation_id = ?`, p.ID); err != nil {
				return err
			}
		}
		version := live + 1
		created = true
		for _, l := range p.Locations {
			if _, err := t.exec(ctx, `INSERT INTO automation_locations (automation_id, location_id) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, p.ID, l); err != nil {
				return err
			}
		}
		if _, err := t.exec(ctx, `INSERT INTO automation_versions (automation_id, version, source, definition, checksum, author,
			note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, version, p.Source, string(p.Definition), p.Checksum, string(author), p.Note, now); err != nil {
			return err
		}
		return t.appendEvent(ctx, "", rankr.AutomationSaved, rankr.RecordAutomation, p.ID, time.UnixMilli(now),
			map[string]any{"version": version, "checksum": p.Checksum, "triggerKey": p.TriggerKey, "enabled": p.Enabled})
	})
	if err != nil {
		return rankr.Automation{}, false, fmt.Errorf("saving automation %s: %w", p.ID, storeErr(err))
	}
	a, err := s.AutomationGet(ctx, p.ID)
	return a, created, err
}

// AutomationGet returns one automation.
func (s *Store) AutomationGet(ctx context.Context, id string) (rankr.Automation, error) {
	a, all, err := scanAutomation(s.read().QueryRowContext(ctx, s.q(`SELECT `+automationColumns+` FROM automations WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("automation " + id)
	}
	if err == nil {
		list := []rankr.Automation{a}
		err = automationLocations(ctx, s.dbQuery, list, []bool{all})
		a = list[0]
	}
	if err != nil {
		return a, fmt.Errorf("reading automation %s: %w", id, unavailable(err))
	}
	return a, nil
}

// AutomationList returns every automation.
func (s *Store) AutomationList(ctx context.Context) ([]rankr.Automation, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT `+automationColumns+` FROM automations ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("listing automations: %w", unavailable(err))
	}
	type row struct {
		a   rankr.Automation
		all bool
	}
	got, err := rowsOf(rows, func(r scanner) (row, error) {
		a, all, err := scanAutomation(r)
		return row{a, all}, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing automations: %w", unavailable(err))
	}
	list, all := make([]rankr.Automation, len(got)), make([]bool, len(got))
	for i, g := range got {
		list[i], all[i] = g.a, g.all
	}
	if err := automationLocations(ctx, s.dbQuery, list, all); err != nil {
		return nil, fmt.Errorf("listing automations: %w", unavailable(err))
	}
	return list, nil
}

const versionColumns = `automation_id, version, source, definition, checksum, author, note, created_at`

func scanVersion(r scanner) (rankr.AutomationVersion, error) {
	var v rankr.AutomationVersion
	var def, author string
	var created int64
	if err := r.Scan(&v.AutomationID, &v.Version, &v.Source, &def, &v.Checksum, &author, &v.Note, &created); err != nil {
		return v, err
	}
	v.Definition, v.CreatedAt = json.RawMessage(def), time.UnixMilli(created).UTC()
	return v, json.Unmarshal([]byte(author), &v.Author)
}

// AutomationVersionGet returns one version.
func (s *Store) AutomationVersionGet(ctx context.Context, id string, version int) (rankr.AutomationVersion, error) {
	v, err := scanVersion(s.read().QueryRowContext(ctx, s.q(`SELECT `+versionColumns+` FROM automation_versions
		WHERE automation_id = ? AND version = ?`), id, version))
	if errors.Is(err, sql.ErrNoRows) {
		return v, notFound(fmt.Sprintf("automation %s version %d", id, version))
	}
	if err != nil {
		return v, fmt.Errorf("reading automation %s version %d: %w", id, version, unavailable(err))
	}
	return v, nil
}

// AutomationVersions returns the versions, newest first.
func (s *Store) AutomationVersions(ctx context.Context, id string) ([]rankr.AutomationVersion, error) {
	rows, err := s.dbQuery(ctx, `SELECT `+versionColumns+` FROM automation_versions WHERE automation_id = ? ORDER BY version DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("listing automation %s versions: %w", id, unavailable(err))
	}
	list, err := rowsOf(rows, scanVersion)
	if err != nil {
		return nil, fmt.Errorf("listing automation %s versions: %w", id, unavailable(err))
	}
	return list, nil
}

// AutomationSetEnabled switches an automation on or off.
func (s *Store) AutomationSetEnabled(ctx context.Context, id string, enabled bool) (rankr.Automation, error) {
	err := s.inTx(ctx, func(t *tx) error {
		// Under the feed's lock, like a version swap: an event appended
		// at once sees it on or off, not half.
		if err := t.lockFeed(ctx); err != nil {
			return err
		}
		res, err := t.exec(ctx, `UPDATE automations SET enabled = ?, updated_at = ? WHERE id = ?`, enabled, time.Now().UnixMilli(), id)
		return affectedOne(res, err, "automation "+id)
	})
	if err != nil {
		return rankr.Automation{}, fmt.Errorf("switching automation %s: %w", id, storeErr(err))
	}
	return s.AutomationGet(ctx, id)
}

// AutomationRunsForWebhooks creates the runs stored webhooks fire.
func (s *Store) AutomationRunsForWebhooks(ctx context.Context, events []rankr.InboxEvent) (int, error) {
	var n int64
	// On the records' database (s), never the inbox's own: the runs live
	// with the automations.
	err := s.inTx(ctx, func(t *tx) error {
		n = 0
		for _, e := range events {
			key := rankr.WebhookTrigger(e.Type)
			if key == "" || e.WebhookID == "" {
				continue
			}
			created, err := t.insertRuns(ctx, []string{key}, "webhook:"+e.WebhookID, 0, e.LocationID, e.Body)
			if err != nil {
				return err
			}
			n += created
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("creating the runs of webhooks: %w", storeErr(err))
	}
	return int(n), nil
}

const runColumns = `id, automation_id, version, event_id, event_seq, location_id, trigger_key, payload, status, reason, attempts,
	next_attempt_at, lease, concurrency_key, created_at, started_at, finished_at`

func scanRun(r scanner) (rankr.AutomationRun, error) {
	var run rankr.AutomationRun
	var payload sql.NullString
	var status string
	var next, created int64
	var started, finished sql.NullInt64
	err := r.Scan(&run.ID, &run.AutomationID, &run.Version, &run.EventID, &run.EventSeq, &run.LocationID, &run.TriggerKey,
		&payload, &status, &run.Reason, &run.Attempts, &next, &run.Lease, &run.ConcurrencyKey, &created, &started, &finished)
	if payload.Valid {
		run.Payload = json.RawMessage(payload.String)
	}
	run.Status, run.NextAttemptAt = rankr.RunStatus(status), time.UnixMilli(next).UTC()
	run.CreatedAt, run.StartedAt, run.FinishedAt = time.UnixMilli(created).UTC(), fromMS(started), fromMS(finished)
	return run, err
}

// AutomationRunCreate creates one run, or answers the one there is.
func (s *Store) AutomationRunCreate(ctx context.Context, p store.RunCreateParams) (rankr.AutomationRun, bool, error) {
	if p.AutomationID == "" || p.EventID == "" {
		return rankr.AutomationRun{}, false, invalid("a run needs an automation and an event id")
	}
	var run rankr.AutomationRun
	var created bool
	err := s.inTx(ctx, func(t *tx) error {
		var trigger string
		err := t.queryRow(ctx, `SELECT trigger_key FROM automations WHERE id = ?`, p.AutomationID).Scan(&trigger)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("automation " + p.AutomationID)
		}
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, `INSERT INTO automation_runs (automation_id, version, event_id, location_id, trigger_key, payload,
			status, next_attempt_at, created_at)
			SELECT id, version, ?, ?, ?, ?, ?, `+t.s.d.Clock+`, ? FROM automations WHERE id = ?
			ON CONFLICT (automation_id, event_id) DO NOTHING`,
			p.EventID, p.LocationID, cmp.Or(p.TriggerKey, trigger), nullText(p.Payload), string(rankr.RunQueued),
			time.Now().UnixMilli(), p.AutomationID)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		created = n > 0
		run, err = scanRun(t.queryRow(ctx, `SELECT `+runColumns+` FROM automation_runs WHERE automation_id = ? AND event_id = ?`,
			p.AutomationID, p.EventID))
		return err
	})
	if err != nil {
		return rankr.AutomationRun{}, false, fmt.Errorf("creating a run of automation %s: %w", p.AutomationID, storeErr(err))
	}
	return run, created, nil
}

// AutomationRunClaim leases due runs of locations not paused.
func (s *Store) AutomationRunClaim(ctx context.Context, p store.RunClaimParams) ([]rankr.AutomationRun, error) {
	lease := newLease()
	var out []rankr.AutomationRun
	err := s.inTx(ctx, func(t *tx) error {
		out = nil
		dbNow, err := t.now(ctx)
		if err != nil {
			return err
		}
		until := dbNow.Add(cmp.Or(max(p.Lease, 0), time.Minute))
		rows, err := t.query(ctx, `SELECT id FROM automation_runs r WHERE status = ? AND next_attempt_at <= ?
			AND NOT EXISTS (SELECT 1 FROM automation_pauses p WHERE p.location_id = r.location_id)
			ORDER BY next_attempt_at, id LIMIT ?`+t.s.d.LockSkip,
			string(rankr.RunQueued), dbNow.UnixMilli(), limit(p.Limit, 10, 1000))
		if err != nil {
			return err
		}
		ids, err := rowsOf(rows, scanSeq)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		// One statement claims them all, and one reads their events: a
		// claim costs the same for one run or a thousand. The concurrency
		// key is the one Start gives it: a run queued again still holds
		// its last one, which another run may hold now.
		marks := `?` + strings.Repeat(`, ?`, len(ids)-1)
		args := []any{string(rankr.RunRunning), lease, until.UnixMilli(), dbNow.UnixMilli()}
		for _, id := range ids {
			args = append(args, id)
		}
		rows, err = t.query(ctx, `UPDATE automation_runs SET status = ?, attempts = attempts + 1, lease = ?, lease_until = ?,
			concurrency_key = '', started_at = COALESCE(started_at, ?) WHERE id IN (`+marks+`) AND status = ?
			RETURNING `+runColumns, append(args, string(rankr.RunQueued))...)
		if err != nil {
			return err
		}
		if out, err = rowsOf(rows, scanRun); err != nil {
			return err
		}
		slices.SortFunc(out, func(a, b rankr.AutomationRun) int { return cmp.Compare(a.ID, b.ID) })
		var seqs []any
		for _, r := range out {
			if r.EventSeq > 0 {
				seqs = append(seqs, r.EventSeq)
			}
		}
		if len(seqs) == 0 {
			return nil
		}
		rows, err = t.query(ctx, `SELECT seq, location_id, kind, record_type, record_id, at, data FROM events
			WHERE seq IN (?`+strings.Repeat(`, ?`, len(seqs)-1)+`)`, seqs...)
		if err != nil {
			return err
		}
		evs, err := rowsOf(rows, scanEvent)
		if err != nil {
			return err
		}
		bySeq := make(map[int64]*rankr.Event, len(evs))
		for i := range evs {
			bySeq[evs[i].Seq] = &evs[i]
		}
		for i := range out {
			out[i].Event = bySeq[out[i].EventSeq]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claiming runs: %w", unavailable(err))
	}
	return out, nil
}

// heldRun locks a run and checks that the lease is still its own.
func (t *tx) heldRun(ctx context.Context, id int64, lease string) (rankr.AutomationRun, error) {
	run, err := scanRun(t.queryRow(ctx, `SELECT `+runColumns+` FROM automation_runs WHERE id = ?`+t.s.d.LockRows, id))
	if errors.Is(err, sql.ErrNoRows) {
		return run, notFound(fmt.Sprintf("run %d", id))
	}
	if err != nil {
		return run, err
	}
	if lease == "" || run.Lease != lease || run.Status != rankr.RunRunning {
		return run, fmt.Errorf("run %d is no longer held by this runner: %w", id, rankr.ErrConflict)
	}
	return run, nil
}

// AutomationRunStart records what a run starts with, and takes its
// concurrency key.
func (s *Store) AutomationRunStart(ctx context.Context, p store.RunStartParams) error {
	var held bool
	err := s.inTx(ctx, func(t *tx) error {
		held = false
		run, err := t.heldRun(ctx, p.ID, p.Lease)
		if err != nil {
			return err
		}
		if p.ConcurrencyKey != "" {
			// The automation's row serialises the starts of its runs, so
			// that the check below sees every key taken before; the
			// partial unique index on running keys backs it.
			var one int
			if err := t.queryRow(ctx, `SELECT 1 FROM automations WHERE id = ?`+t.s.d.LockRows, run.AutomationID).Scan(&one); err != nil {
				return err
			}
			var other int64
			err := t.queryRow(ctx, `SELECT id FROM automation_runs WHERE automation_id = ? AND concurrency_key = ? AND status = ?
				AND id <> ? LIMIT 1`, run.AutomationID, p.ConcurrencyKey, string(rankr.RunRunning), p.ID).Scan(&other)
			switch {
			case err == nil:
				held = true
				_, err := t.exec(ctx, `UPDATE automation_runs SET status = ?, lease = '', lease_until = NULL, concurrency_key = '',
					next_attempt_at = `+t.s.d.Clock+` + ?, reason = ? WHERE id = ?`,
					string(rankr.RunQueued), max(p.Retry, 0).Milliseconds(),
					fmt.Sprintf("waiting for run %d, which holds concurrency key %q", other, p.ConcurrencyKey), p.ID)
				return err
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		_, err = t.exec(ctx, `UPDATE automation_runs SET payload = ?, concurrency_key = ? WHERE id = ?`,
			nullText(p.Payload), p.ConcurrencyKey, p.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("starting run %d: %w", p.ID, storeErr(err))
	}
	if held {
		return fmt.Errorf("run %d: another run of its automation holds concurrency key %q; queued again: %w",
			p.ID, p.ConcurrencyKey, rankr.ErrConflict)
	}
	return nil
}

// AutomationStepRecord records one attempt at a step.
func (s *Store) AutomationStepRecord(ctx context.Context, lease string, st rankr.AutomationStep) error {
	if err := validStep(st); err != nil {
		return err
	}
	err := s.inTx(ctx, func(t *tx) error {
		if _, err := t.heldRun(ctx, st.RunID, lease); err != nil {
			return err
		}
		return t.recordStep(ctx, st)
	})
	if err != nil {
		return fmt.Errorf("recording step %s of run %d: %w", st.StepID, st.RunID, storeErr(err))
	}
	return nil
}

func validStep(st rankr.AutomationStep) error {
	if st.StepID == "" || st.Attempt <= 0 || st.Status == "" {
		return invalid("a step attempt needs a step id, an attempt number and a status")
	}
	return nil
}

// recordStep writes one attempt (the same attempt again replaces it).
func (t *tx) recordStep(ctx context.Context, st rankr.AutomationStep) error {
	started := st.StartedAt
	if started.IsZero() {
		started = time.Now()
	}
	_, err := t.exec(ctx, `INSERT INTO automation_steps (run_id, step_id, attempt, status, error_class, error, input, output,
		request, ms, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET status = excluded.status, error_class = excluded.error_class,
		error = excluded.error, input = excluded.input, output = excluded.output, request = excluded.request, ms = excluded.ms`,
		st.RunID, st.StepID, st.Attempt, string(st.Status), st.ErrorClass, st.Error, nullText(st.Input), nullText(st.Output),
		nullText(st.Request), st.Millis, started.UnixMilli())
	return err
}

// AutomationRunFinish ends, pauses or requeues a run, with the attempts
// and the payload it brings.
func (s *Store) AutomationRunFinish(ctx context.Context, p store.RunFinishParams) error {
	switch p.Status {
	case rankr.RunSucceeded, rankr.RunFailed, rankr.RunSkipped, rankr.RunCanceled, rankr.RunPaused, rankr.RunQueued:
	default:
		return invalid("a run cannot finish %q", p.Status)
	}
	for _, st := range p.Steps {
		if err := validStep(st); err != nil {
			return err
		}
	}
	err := s.inTx(ctx, func(t *tx) error {
		run, err := t.heldRun(ctx, p.ID, p.Lease)
		if err != nil {
			return err
		}
		for _, st := range p.Steps {
			st.RunID = p.ID
			if err := t.recordStep(ctx, st); err != nil {
				return err
			}
		}
		if p.Payload != nil {
			if _, err := t.exec(ctx, `UPDATE automation_runs SET payload = ? WHERE id = ?`, string(p.Payload), p.ID); err != nil {
				return err
			}
		}
		now := time.Now()
		var finished any
		if p.Status.Ended() {
			finished = now.UnixMilli()
		}
		next := t.s.d.Clock
		args := []any{string(p.Status), p.Reason, finished}
		if p.Status == rankr.RunQueued && !p.RetryAt.IsZero() {
			next = `?`
			args = append(args, p.RetryAt.UnixMilli())
		}
		if _, err := t.exec(ctx, `UPDATE automation_runs SET status = ?, reason = ?, finished_at = ?, next_attempt_at = `+next+`,
			lease = '', lease_until = NULL, concurrency_key = '' WHERE id = ?`, append(args, p.ID)...); err != nil {
			return err
		}
		if p.Status != rankr.RunPaused {
			return nil
		}
		rows, err := t.query(ctx, `INSERT INTO automation_pauses (location_id, reason, since) VALUES (?, ?, `+t.s.d.Clock+`)
			ON CONFLICT (location_id) DO NOTHING RETURNING location_id`, run.LocationID, p.Reason)
		if err != nil {
			return err
		}
		if locs, err := rowsOf(rows, scanID); err != nil || len(locs) == 0 {
			return err // paused already: one event per pause
		}
		return t.appendEvent(ctx, run.LocationID, rankr.AutomationPaused, rankr.RecordRun, strconv.FormatInt(run.ID, 10), now,
			map[string]any{"automationId": run.AutomationID, "runId": run.ID, "reason": p.Reason})
	})
	if err != nil {
		return fmt.Errorf("finishing run %d: %w", p.ID, storeErr(err))
	}
	return nil
}

// AutomationRunGet returns a run and its steps' attempts.
func (s *Store) AutomationRunGet(ctx context.Context, id int64) (rankr.AutomationRun, []rankr.AutomationStep, error) {
	run, err := scanRun(s.read().QueryRowContext(ctx, s.q(`SELECT `+runColumns+` FROM automation_runs WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return run, nil, notFound(fmt.Sprintf("run %d", id))
	}
	if err != nil {
		return run, nil, fmt.Errorf("reading run %d: %w", id, unavailable(err))
	}
	rows, err := s.dbQuery(ctx, `SELECT run_id, step_id, attempt, status, error_class, error, input, output, request, ms, started_at
		FROM automation_steps WHERE run_id = ? ORDER BY started_at, attempt, step_id`, id)
	if err != nil {
		return run, nil, fmt.Errorf("reading run %d: %w", id, unavailable(err))
	}
	steps, err := rowsOf(rows, func(r scanner) (rankr.AutomationStep, error) {
		var st rankr.AutomationStep
		var status string
		var input, output, request sql.NullString
		var started int64
		err := r.Scan(&st.RunID, &st.StepID, &st.Attempt, &status, &st.ErrorClass, &st.Error, &input, &output, &request,
			&st.Millis, &started)
		st.Status, st.StartedAt = rankr.StepStatus(status), time.UnixMilli(started).UTC()
		for _, f := range []struct {
			v   sql.NullString
			dst *json.RawMessage
		}{{input, &st.Input}, {output, &st.Output}, {request, &st.Request}} {
			if f.v.Valid {
				*f.dst = json.RawMessage(f.v.String)
			}
		}
		return st, err
	})
	if err != nil {
		return run, nil, fmt.Errorf("reading run %d: %w", id, unavailable(err))
	}
	return run, steps, nil
}

// AutomationRunList lists runs newest first.
func (s *Store) AutomationRunList(ctx context.Context, p store.RunListParams) ([]rankr.AutomationRun, error) {
	query, args := `SELECT `+runColumns+` FROM automation_runs WHERE 1 = 1`, []any{}
	for _, f := range []struct{ col, v string }{
		{"automation_id", p.AutomationID}, {"status", string(p.Status)}, {"location_id", p.LocationID},
	} {
		if f.v != "" {
			query += ` AND ` + f.col + ` = ?`
			args = append(args, f.v)
		}
	}
	if p.BeforeID > 0 {
		query += ` AND id < ?`
		args = append(args, p.BeforeID)
	}
	rows, err := s.dbQuery(ctx, query+` ORDER BY id DESC LIMIT ?`, append(args, limit(p.Limit, 100, 1000))...)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", unavailable(err))
	}
	list, err := rowsOf(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", unavailable(err))
	}
	return list, nil
}

// AutomationRunRetry queues a failed or paused run again.
func (s *Store) AutomationRunRetry(ctx context.Context, id int64) (rankr.AutomationRun, error) {
	var run rankr.AutomationRun
	err := s.inTx(ctx, func(t *tx) error {
		var err error
		run, err = scanRun(t.queryRow(ctx, `SELECT `+runColumns+` FROM automation_runs WHERE id = ?`+t.s.d.LockRows, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(fmt.Sprintf("run %d", id))
		}
		if err != nil {
			return err
		}
		if run.Status != rankr.RunFailed && run.Status != rankr.RunPaused {
			return fmt.Errorf("run %d is %s; only failed or paused runs are retried: %w", id, run.Status, rankr.ErrConflict)
		}
		// Its steps stay: the runner goes on from the first step with no
		// attempt that succeeded.
		if _, err := t.exec(ctx, `UPDATE automation_runs SET status = ?, reason = '', finished_at = NULL,
			next_attempt_at = `+t.s.d.Clock+` WHERE id = ?`, string(rankr.RunQueued), id); err != nil {
			return err
		}
		run, err = scanRun(t.queryRow(ctx, `SELECT `+runColumns+` FROM automation_runs WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return rankr.AutomationRun{}, fmt.Errorf("retrying run %d: %w", id, storeErr(err))
	}
	return run, nil
}

// AutomationRunsExpired queues again the running runs whose lease ended.
func (s *Store) AutomationRunsExpired(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE automation_runs SET status = ?, lease = '', lease_until = NULL, concurrency_key = '',
		next_attempt_at = `+s.d.Clock+` WHERE status = ? AND lease_until < `+s.d.Clock),
		string(rankr.RunQueued), string(rankr.RunRunning))
	if err != nil {
		return 0, fmt.Errorf("requeueing expired runs: %w", unavailable(err))
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// AutomationPauses lists the paused locations.
func (s *Store) AutomationPauses(ctx context.Context) ([]rankr.AutomationPause, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT location_id, reason, since FROM automation_pauses ORDER BY location_id`)
	if err != nil {
		return nil, fmt.Errorf("listing pauses: %w", unavailable(err))
	}
	list, err := rowsOf(rows, func(r scanner) (rankr.AutomationPause, error) {
		var p rankr.AutomationPause
		var since int64
		err := r.Scan(&p.LocationID, &p.Reason, &since)
		p.Since = time.UnixMilli(since).UTC()
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing pauses: %w", unavailable(err))
	}
	return list, nil
}

// AutomationResume ends a location's pause.
func (s *Store) AutomationResume(ctx context.Context, locationID string) (bool, error) {
	var resumed bool
	err := s.inTx(ctx, func(t *tx) error {
		var err error
		resumed, err = t.resume(ctx, locationID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("resuming the automations of %s: %w", locationID, storeErr(err))
	}
	return resumed, nil
}

// resume ends a location's pause within a transaction and queues its
// paused runs, due now.
func (t *tx) resume(ctx context.Context, locationID string) (bool, error) {
	res, err := t.exec(ctx, `DELETE FROM automation_pauses WHERE location_id = ?`, locationID)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	_, err = t.exec(ctx, `UPDATE automation_runs SET status = ?, next_attempt_at = `+t.s.d.Clock+`, finished_at = NULL
		WHERE location_id = ? AND status = ?`, string(rankr.RunQueued), locationID, string(rankr.RunPaused))
	return true, err
}

// AutomationEventAppend appends an automation's event once per kind and
// record id (its dedupe key) at a location.
func (s *Store) AutomationEventAppend(ctx context.Context, p store.AutomationEventParams) (rankr.Event, bool, error) {
	if !strings.HasPrefix(p.Kind, rankr.AutomationEventPrefix) || p.RecordID == "" || p.LocationID == "" {
		return rankr.Event{}, false, invalid("an automation's event needs a location, a kind starting %q and a dedupe key", rankr.AutomationEventPrefix)
	}
	data := p.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	var ev rankr.Event
	var created bool
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.lockFeed(ctx); err != nil {
			return err
		}
		find := func() (err error) {
			ev, err = scanEvent(t.queryRow(ctx, `SELECT seq, location_id, kind, record_type, record_id, at, data FROM events
				WHERE location_id = ? AND record_id = ? AND kind = ? ORDER BY seq LIMIT 1`, p.LocationID, p.RecordID, p.Kind))
			return err
		}
		switch err := find(); {
		case err == nil:
			created = false
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := t.appendEvent(ctx, p.LocationID, p.Kind, rankr.RecordMessage, p.RecordID, time.Now(), data); err != nil {
			return err
		}
		created = true
		return find()
	})
	if err != nil {
		return rankr.Event{}, false, fmt.Errorf("appending %s: %w", p.Kind, storeErr(err))
	}
	return ev, created, nil
}

// AutomationRunsPrune deletes ended runs and their steps, by their partial
// index, in one transaction per slice.
func (s *Store) AutomationRunsPrune(ctx context.Context, before time.Time, n int) (int, error) {
	if before.IsZero() {
		return 0, invalid("pruning the runs needs a time to prune before")
	}
	var deleted int
	err := s.inTx(ctx, func(t *tx) error {
		rows, err := t.query(ctx, `SELECT id FROM automation_runs WHERE status IN ('succeeded', 'failed', 'skipped', 'canceled')
			AND finished_at < ? ORDER BY finished_at LIMIT ?`, before.UnixMilli(), limit(n, 1000, 10_000))
		if err != nil {
			return err
		}
		ids, err := rowsOf(rows, scanSeq)
		if err != nil || len(ids) == 0 {
			deleted = 0
			return err
		}
		marks, args := `?`+strings.Repeat(`, ?`, len(ids)-1), make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		if _, err := t.exec(ctx, `DELETE FROM automation_steps WHERE run_id IN (`+marks+`)`, args...); err != nil {
			return err
		}
		res, err := t.exec(ctx, `DELETE FROM automation_runs WHERE id IN (`+marks+`)`, args...)
		if err != nil {
			return err
		}
		m, err := res.RowsAffected()
		deleted = int(m)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning the automation runs: %w", storeErr(err))
	}
	return deleted, nil
}
