package automation

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// ScheduleTrigger is the catalog key of the schedule trigger.
const ScheduleTrigger = "schedule.cron"

// SchedulePayload is what a schedule's run gets as its trigger.
type SchedulePayload struct {
	// Slot is the time the schedule named (RFC 3339, in its time zone).
	Slot     time.Time `json:"slot"`
	Schedule string    `json:"schedule"`
	Timezone string    `json:"timezone"`
}

// catchUp bounds how far back a schedule's missed slots are run: a
// process down for a day runs the last hour's, not a day of digests.
const catchUp = time.Hour

// Schedules creates the runs of schedule-triggered automations as their
// slots come, until ctx ends. Every serving process may run it: a slot's
// run is created once (its event id is the slot), whoever creates it.
func (r *Runner) Schedules(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.ScheduleOnce(ctx, time.Now()); err != nil && ctx.Err() == nil {
			r.log.Warn("automations: schedules", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ScheduleOnce creates the runs due by now: for each enabled automation on
// the schedule trigger, each of its slots in the last hour that came after
// it went live, once per location it runs for. It returns how many runs it
// created.
func (r *Runner) ScheduleOnce(ctx context.Context, now time.Time) (int, error) {
	autos, err := r.d.Store.AutomationList(ctx)
	if err != nil {
		return 0, err
	}
	var locations []string
	created := 0
	for _, a := range autos {
		if !a.Enabled || a.TriggerKey != ScheduleTrigger {
			continue
		}
		p, err := r.Program(ctx, a.ID, a.Version)
		if err != nil {
			r.log.Warn("automations: a schedule that does not compile", "automation", a.ID, "error", err)
			continue
		}
		after := now.Add(-catchUp)
		if a.UpdatedAt.After(after) {
			after = a.UpdatedAt // slots before it went live are not its
		}
		slots, err := Slots(p.Def.Trigger.Schedule, p.Def.Trigger.Timezone, after, now)
		if err != nil {
			r.log.Warn("automations: a schedule that does not parse", "automation", a.ID, "error", err)
			continue
		}
		if len(slots) == 0 {
			continue
		}
		targets := a.Locations
		if targets == nil {
			if locations == nil {
				conns, err := r.d.Store.ConnectionList(ctx)
				if err != nil {
					return created, err
				}
				locations = []string{}
				for _, c := range conns {
					locations = append(locations, c.LocationID)
				}
			}
			targets = locations
		}
		for _, slot := range slots {
			payload, err := json.Marshal(SchedulePayload{Slot: slot, Schedule: p.Def.Trigger.Schedule, Timezone: p.Def.Trigger.Timezone})
			if err != nil {
				return created, err
			}
			for _, loc := range targets {
				_, ok, err := r.d.Store.AutomationRunCreate(ctx, store.RunCreateParams{AutomationID: a.ID,
					EventID: "schedule:" + slot.UTC().Format(time.RFC3339), LocationID: loc, TriggerKey: ScheduleTrigger, Payload: payload})
				if err != nil {
					return created, fmt.Errorf("automation %s, slot %s: %w", a.ID, slot, err)
				}
				if ok {
					created++
				}
			}
		}
	}
	return created, nil
}

// Slots are a 5-field cron schedule's times in (after, until], in the
// time zone (UTC when empty).
func Slots(schedule, timezone string, after, until time.Time) ([]time.Time, error) {
	tz := time.UTC
	if timezone != "" {
		var err error
		if tz, err = time.LoadLocation(timezone); err != nil {
			return nil, fmt.Errorf("timezone %q: %w", timezone, rankr.ErrInvalid)
		}
	}
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %v: %w", schedule, err, rankr.ErrInvalid)
	}
	var out []time.Time
	for t := sched.Next(after.In(tz)); !t.After(until) && len(out) < 1000; t = sched.Next(t) {
		out = append(out, t)
	}
	return out, nil
}
