package automation

import (
	"context"
	"encoding/json"

	"github.com/rankr/rankr/internal/rankr"
)

// TestReport is what a test of an automation did: the filter's verdict
// and each step as it ran, reads for real and writes as the request they
// would send.
type TestReport struct {
	Automation string          `json:"automation"`
	Location   string          `json:"locationId"`
	Trigger    string          `json:"trigger"`
	Payload    json.RawMessage `json:"payload"`
	// Status is how the run would have ended (queued: a step would be
	// tried again).
	Status rankr.RunStatus        `json:"status"`
	Reason string                 `json:"reason,omitempty"`
	Steps  []rankr.AutomationStep `json:"steps"`
}

// Test runs a program once on a payload without changing anything: every
// action runs as a dry run (reads for real, writes answer the request
// they would send and their sample), and nothing is recorded.
func (r *Runner) Test(ctx context.Context, p *Program, loc string, payload json.RawMessage) TestReport {
	rep := TestReport{Automation: p.Def.ID, Location: loc, Trigger: p.Trigger.ID(), Payload: payload, Steps: []rankr.AutomationStep{}}
	run := rankr.AutomationRun{AutomationID: p.Def.ID, LocationID: loc}
	env, err := newEnv(p, run, payload)
	if err != nil {
		rep.Status, rep.Reason = rankr.RunFailed, err.Error()
		return rep
	}
	ok, verdict, err := p.Filter(env)
	switch {
	case err != nil:
		rep.Status, rep.Reason = rankr.RunFailed, "filter: "+err.Error()
		return rep
	case !ok:
		rep.Status, rep.Reason = rankr.RunSkipped, "filter: "+verdict
		return rep
	}
	rec := &memRecorder{}
	out := r.steps(ctx, p, loc, env, rec, true, 0)
	rep.Status, rep.Reason, rep.Steps = out.status, out.reason, append(rep.Steps, rec.steps...)
	return rep
}

// memRecorder keeps a test's steps in memory.
type memRecorder struct{ steps []rankr.AutomationStep }

func (m *memRecorder) done(string) (*rankr.AutomationStep, int) { return nil, 0 }

func (m *memRecorder) record(_ context.Context, s rankr.AutomationStep) error {
	m.steps = append(m.steps, s)
	return nil
}

func (m *memRecorder) flush(context.Context) error { return nil }
