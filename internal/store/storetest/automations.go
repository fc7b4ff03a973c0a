package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

func automationTests() map[string]func(*testing.T, store.Store) {
	return map[string]func(*testing.T, store.Store){
		"AutomationVersions":      testAutomationVersions,
		"AutomationFeedRuns":      testAutomationFeedRuns,
		"AutomationWebhookRuns":   testAutomationWebhookRuns,
		"AutomationFinishBrings":  testAutomationFinishBrings,
		"AutomationRunsPrune":     testAutomationRunsPrune,
		"AutomationRunLeases":     testAutomationRunLeases,
		"AutomationConcurrency":   testAutomationConcurrency,
		"AutomationPause":         testAutomationPause,
		"AutomationRetry":         testAutomationRetry,
		"AutomationExpired":       testAutomationExpired,
		"AutomationRunList":       testAutomationRunList,
		"AutomationSwapIsAtomic":  testAutomationSwapIsAtomic,
		"AutomationClaimersShare": testAutomationClaimersShare,
		"AutomationKeyRace":       testAutomationKeyRace,
	}
}

// saveAutomation saves a version whose checksum is its source's.
func saveAutomation(t *testing.T, s store.Store, id, trigger, source string, enabled bool, locs []string) (rankr.Automation, bool) {
	t.Helper()
	a, created, err := s.AutomationSave(ctx, store.AutomationSaveParams{ID: id, Enabled: enabled, TriggerKey: trigger,
		Locations: locs, Source: source, Definition: json.RawMessage(`{"source":` + strconv.Quote(source) + `}`),
		Checksum: "sum:" + source, Author: rankr.AuditActor{Type: "user", ID: "ada"}, Note: "note " + source})
	if err != nil {
		t.Fatal(err)
	}
	return a, created
}

func runsOf(t *testing.T, s store.Store, p store.RunListParams) []rankr.AutomationRun {
	t.Helper()
	p.Limit = 1000
	runs, err := s.AutomationRunList(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func claimRuns(t *testing.T, s store.Store, n int, lease time.Duration) []rankr.AutomationRun {
	t.Helper()
	runs, err := s.AutomationRunClaim(ctx, store.RunClaimParams{Limit: n, Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func createRun(t *testing.T, s store.Store, automation, event, loc string) rankr.AutomationRun {
	t.Helper()
	run, created, err := s.AutomationRunCreate(ctx, store.RunCreateParams{AutomationID: automation, EventID: event, LocationID: loc})
	if err != nil || !created {
		t.Fatalf("creating run %s: created %v, %v", event, created, err)
	}
	return run
}

func finishRun(t *testing.T, s store.Store, run rankr.AutomationRun, status rankr.RunStatus, reason string) {
	t.Helper()
	if err := s.AutomationRunFinish(ctx, store.RunFinishParams{ID: run.ID, Lease: run.Lease, Status: status, Reason: reason}); err != nil {
		t.Fatal(err)
	}
}

func getRun(t *testing.T, s store.Store, id int64) (rankr.AutomationRun, []rankr.AutomationStep) {
	t.Helper()
	run, steps, err := s.AutomationRunGet(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return run, steps
}

func eventsOfKind(t *testing.T, s store.Store, loc, kind string) []rankr.Event {
	t.Helper()
	var out []rankr.Event
	for _, e := range Events(t, s, loc) {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// Saving makes a new immutable version live only when the source changed.
func testAutomationVersions(t *testing.T, s store.Store) {
	a, created := saveAutomation(t, s, "ship", rankr.TriggerOrderFulfilled, "v1", true, nil)
	if !created || a.Version != 1 || !a.Enabled || a.TriggerKey != rankr.TriggerOrderFulfilled || a.Locations != nil {
		t.Fatalf("first save: created %v, %+v", created, a)
	}
	// The same source again saves nothing, but its enabled applies.
	a, created = saveAutomation(t, s, "ship", rankr.TriggerOrderFulfilled, "v1", false, nil)
	if created || a.Version != 1 || a.Enabled {
		t.Fatalf("same checksum: created %v, %+v", created, a)
	}
	a, created = saveAutomation(t, s, "ship", rankr.TriggerOrderPaid, "v2", true, []string{"L2", "L1"})
	if !created || a.Version != 2 || !a.Enabled || a.TriggerKey != rankr.TriggerOrderPaid {
		t.Fatalf("changed source: created %v, %+v", created, a)
	}
	if fmt.Sprint(a.Locations) != "[L1 L2]" || a.RunsFor("L3") || !a.RunsFor("L1") {
		t.Fatalf("locations %v", a.Locations)
	}
	vs, err := s.AutomationVersions(ctx, "ship")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 {
		t.Fatalf("versions %+v, want 2 then 1", vs)
	}
	v1, err := s.AutomationVersionGet(ctx, "ship", 1)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Source != "v1" || v1.Checksum != "sum:v1" || v1.Author.ID != "ada" || v1.Note != "note v1" ||
		string(v1.Definition) != `{"source":"v1"}` || v1.CreatedAt.IsZero() {
		t.Fatalf("version 1 %+v", v1)
	}
	if _, err := s.AutomationVersionGet(ctx, "ship", 3); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	if _, err := s.AutomationGet(ctx, "nope"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("missing automation: %v", err)
	}
	// Back to every location.
	a, _ = saveAutomation(t, s, "ship", rankr.TriggerOrderPaid, "v3", true, nil)
	if a.Version != 3 || a.Locations != nil {
		t.Fatalf("v3 %+v", a)
	}
	if a, err = s.AutomationSetEnabled(ctx, "ship", false); err != nil || a.Enabled {
		t.Fatalf("disable: %+v %v", a, err)
	}
	if _, err := s.AutomationSetEnabled(ctx, "nope", true); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("enabling a missing automation: %v", err)
	}
	saveAutomation(t, s, "alpha", rankr.TriggerOrderPaid, "a", true, []string{})
	list, err := s.AutomationList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "alpha" || list[1].ID != "ship" || list[0].Locations == nil || len(list[0].Locations) != 0 {
		t.Fatalf("list %+v", list)
	}
	if saved := eventsOfKind(t, s, "", rankr.AutomationSaved); len(saved) != 4 {
		t.Fatalf("%d automation.saved events, want one per version (4)", len(saved))
	}
	if _, _, err := s.AutomationSave(ctx, store.AutomationSaveParams{ID: "x", TriggerKey: "derived.order.paid@1",
		Definition: json.RawMessage(`{}`), Checksum: "c"}); !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("a versioned trigger key: %v", err)
	}
}

// A change-feed event gets its runs in its own transaction: one per enabled
// automation on a trigger it fires that runs for its location.
func testAutomationFeedRuns(t *testing.T, s store.Store) {
	saveAutomation(t, s, "mine", rankr.TriggerOrderCreated, "a", true, []string{"L1"})
	saveAutomation(t, s, "every", rankr.TriggerOrderCreated, "b", true, nil)
	saveAutomation(t, s, "off", rankr.TriggerOrderCreated, "c", false, nil)
	saveAutomation(t, s, "theirs", rankr.TriggerOrderCreated, "d", true, []string{"L2"})
	saveAutomation(t, s, "paid", rankr.TriggerOrderPaid, "e", true, nil)
	// Fresh orders: an old one first stored now is history, which fires
	// nothing (see rankr.HistoryAge).
	fresh := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	upsertOrders(t, s, "L1", false, order("L1", "o1", fresh, "pending"))

	created := eventsOfKind(t, s, "L1", rankr.OrderCreated)
	if len(created) != 1 {
		t.Fatalf("%d order.created events", len(created))
	}
	runs := runsOf(t, s, store.RunListParams{})
	got := map[string]rankr.AutomationRun{}
	for _, r := range runs {
		got[r.AutomationID] = r
	}
	if len(runs) != 2 || got["mine"].ID == 0 || got["every"].ID == 0 {
		t.Fatalf("runs %+v, want one for mine and one for every", runs)
	}
	for _, r := range runs {
		if r.EventID != "feed:"+strconv.FormatInt(created[0].Seq, 10) || r.EventSeq != created[0].Seq || r.LocationID != "L1" ||
			r.TriggerKey != rankr.TriggerOrderCreated || r.Status != rankr.RunQueued || r.Version != 1 || r.Attempts != 0 {
			t.Errorf("run %+v for event %d", r, created[0].Seq)
		}
	}
	// The same order again is no change: no event, no run.
	upsertOrders(t, s, "L1", false, order("L1", "o1", fresh, "pending"))
	if n := len(runsOf(t, s, store.RunListParams{})); n != 2 {
		t.Fatalf("%d runs after a no-op, want 2", n)
	}
	// Enabled later, it runs for the events after.
	if _, err := s.AutomationSetEnabled(ctx, "off", true); err != nil {
		t.Fatal(err)
	}
	upsertOrders(t, s, "L2", false, order("L2", "o2", fresh, "pending"))
	got = map[string]rankr.AutomationRun{}
	for _, r := range runsOf(t, s, store.RunListParams{LocationID: "L2"}) {
		got[r.AutomationID] = r
	}
	if len(got) != 3 || got["theirs"].ID == 0 || got["every"].ID == 0 || got["off"].ID == 0 {
		t.Fatalf("runs for L2: %+v", got)
	}
}

// A webhook GHL delivers (or rankr replays) many times runs once.
func testAutomationWebhookRuns(t *testing.T, s store.Store) {
	saveAutomation(t, s, "hook", rankr.WebhookTrigger("OrderCreate"), "a", true, []string{"L1"})
	ev := rankr.InboxEvent{WebhookID: "wh-1", Type: "OrderCreate", LocationID: "L1", Body: []byte(`{"type":"OrderCreate","_id":"o1"}`)}
	total := 0
	for range 10 {
		n, err := s.AutomationRunsForWebhooks(ctx, []rankr.InboxEvent{ev, {WebhookID: "wh-2", Type: "ContactCreate", LocationID: "L1"},
			{WebhookID: "wh-3", Type: "OrderCreate", LocationID: "L9"}})
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	runs := runsOf(t, s, store.RunListParams{})
	if total != 1 || len(runs) != 1 {
		t.Fatalf("10 deliveries made %d runs (%d listed), want 1", total, len(runs))
	}
	r := runs[0]
	if r.EventID != "webhook:wh-1" || r.LocationID != "L1" || r.TriggerKey != "ghl.webhook.order_create" ||
		string(r.Payload) != string(ev.Body) || r.Status != rankr.RunQueued {
		t.Fatalf("run %+v", r)
	}
}

// Every step of a claimed run names its lease; a lease that is no longer
// the run's changes nothing.
func testAutomationRunLeases(t *testing.T, s store.Store) {
	saveAutomation(t, s, "a", rankr.TriggerOrderPaid, "a", true, nil)
	run := createRun(t, s, "a", "manual:1", "L1")
	again, created, err := s.AutomationRunCreate(ctx, store.RunCreateParams{AutomationID: "a", EventID: "manual:1", LocationID: "L1"})
	if err != nil || created || again.ID != run.ID {
		t.Fatalf("second create: %+v %v %v", again, created, err)
	}
	if _, _, err := s.AutomationRunCreate(ctx, store.RunCreateParams{AutomationID: "nope", EventID: "manual:1"}); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("run of a missing automation: %v", err)
	}
	if run.Version != 1 || run.TriggerKey != rankr.TriggerOrderPaid || run.Status != rankr.RunQueued {
		t.Fatalf("run %+v", run)
	}
	claimed := claimRuns(t, s, 10, time.Minute)
	if len(claimed) != 1 || claimed[0].ID != run.ID || claimed[0].Status != rankr.RunRunning || claimed[0].Attempts != 1 ||
		claimed[0].Lease == "" || claimed[0].StartedAt.IsZero() {
		t.Fatalf("claimed %+v", claimed)
	}
	if more := claimRuns(t, s, 10, time.Minute); len(more) != 0 {
		t.Fatalf("claimed a running run again: %+v", more)
	}
	c := claimed[0]
	if err := s.AutomationRunStart(ctx, store.RunStartParams{ID: c.ID, Lease: "other"}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("start with another lease: %v", err)
	}
	if err := s.AutomationRunStart(ctx, store.RunStartParams{ID: c.ID, Lease: c.Lease, Payload: json.RawMessage(`{"order":"o1"}`)}); err != nil {
		t.Fatal(err)
	}
	step := rankr.AutomationStep{RunID: c.ID, StepID: "tag", Attempt: 1, Status: rankr.StepFailed, ErrorClass: rankr.ErrorRetryable,
		Error: "503", Input: json.RawMessage(`{"a":1}`), Request: json.RawMessage(`{"url":"/x"}`), Millis: 12, StartedAt: t0}
	if err := s.AutomationStepRecord(ctx, "other", step); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("step with another lease: %v", err)
	}
	if err := s.AutomationStepRecord(ctx, c.Lease, step); err != nil {
		t.Fatal(err)
	}
	step2 := step
	step2.Attempt, step2.Status, step2.ErrorClass, step2.Error, step2.Output, step2.StartedAt = 2, rankr.StepSucceeded, "", "",
		json.RawMessage(`{"ok":true}`), t0.Add(time.Second)
	if err := s.AutomationStepRecord(ctx, c.Lease, step2); err != nil {
		t.Fatal(err)
	}
	if err := s.AutomationRunFinish(ctx, store.RunFinishParams{ID: c.ID, Lease: "other", Status: rankr.RunSucceeded}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("finish with another lease: %v", err)
	}
	finishRun(t, s, c, rankr.RunSucceeded, "")
	if err := s.AutomationRunFinish(ctx, store.RunFinishParams{ID: c.ID, Lease: c.Lease, Status: rankr.RunFailed}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("finishing an ended run: %v", err)
	}
	if err := s.AutomationStepRecord(ctx, c.Lease, step); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a step of an ended run: %v", err)
	}
	got, steps := getRun(t, s, c.ID)
	if got.Status != rankr.RunSucceeded || got.FinishedAt.IsZero() || got.Lease != "" || string(got.Payload) != `{"order":"o1"}` {
		t.Fatalf("finished run %+v", got)
	}
	if len(steps) != 2 || steps[0].Attempt != 1 || steps[0].Error != "503" || string(steps[0].Request) != `{"url":"/x"}` ||
		steps[0].Millis != 12 || !steps[0].StartedAt.Equal(t0) || steps[1].Status != rankr.StepSucceeded || string(steps[1].Output) != `{"ok":true}` {
		t.Fatalf("steps %+v", steps)
	}
	if _, _, err := s.AutomationRunGet(ctx, 999999); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("missing run: %v", err)
	}
}

// Pruning deletes the runs that ended before the cutoff, with their steps,
// and nothing that is still going.
func testAutomationRunsPrune(t *testing.T, s store.Store) {
	saveAutomation(t, s, "a", rankr.TriggerOrderPaid, "a", true, nil)
	for _, ev := range []string{"manual:old", "manual:live"} {
		createRun(t, s, "a", ev, "L1")
	}
	claimed := claimRuns(t, s, 2, time.Minute)
	var old rankr.AutomationRun
	for _, c := range claimed {
		if c.EventID == "manual:old" {
			old = c
		}
	}
	if err := s.AutomationRunFinish(ctx, store.RunFinishParams{ID: old.ID, Lease: old.Lease, Status: rankr.RunSucceeded,
		Steps: []rankr.AutomationStep{{StepID: "x", Attempt: 1, Status: rankr.StepSucceeded, StartedAt: t0}}}); err != nil {
		t.Fatal(err)
	}
	createRun(t, s, "a", "manual:queued", "L1")
	if n, err := s.AutomationRunsPrune(ctx, time.Now().Add(-time.Hour), 100); err != nil || n != 0 {
		t.Fatalf("pruning before an hour ago: %d %v", n, err)
	}
	n, err := s.AutomationRunsPrune(ctx, time.Now().Add(time.Minute), 100)
	if err != nil || n != 1 {
		t.Fatalf("pruning: %d %v", n, err)
	}
	if _, _, err := s.AutomationRunGet(ctx, old.ID); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("the pruned run: %v", err)
	}
	if left := runsOf(t, s, store.RunListParams{AutomationID: "a"}); len(left) != 2 {
		t.Fatalf("left %d runs, want the running and the queued one", len(left))
	}
}

// A run's end may bring the attempts of its reads and the payload it was
// not started with: all of it is recorded with the end, or none of it.
func testAutomationFinishBrings(t *testing.T, s store.Store) {
	saveAutomation(t, s, "a", rankr.TriggerOrderPaid, "a", true, nil)
	createRun(t, s, "a", "manual:brings", "L1")
	c := claimRuns(t, s, 1, time.Minute)[0]
	steps := []rankr.AutomationStep{
		{StepID: "read", Attempt: 1, Status: rankr.StepSucceeded, Output: json.RawMessage(`{"id":"o1"}`), StartedAt: t0},
		{StepID: "maybe", Attempt: 1, Status: rankr.StepSkipped, StartedAt: t0.Add(time.Millisecond)},
	}
	bad := append(slices.Clone(steps), rankr.AutomationStep{StepID: "", Attempt: 1, Status: rankr.StepSucceeded})
	if err := s.AutomationRunFinish(ctx, store.RunFinishParams{ID: c.ID, Lease: c.Lease, Status: rankr.RunSucceeded, Steps: bad}); !errors.Is(err, rankr.ErrInvalid) {
		t.Fatalf("an attempt without a step id: %v", err)
	}
	if got, recorded := getRun(t, s, c.ID); got.Status != rankr.RunRunning || len(recorded) != 0 {
		t.Fatalf("a refused end changed the run: %+v %+v", got, recorded)
	}
	if err := s.AutomationRunFinish(ctx, store.RunFinishParams{ID: c.ID, Lease: c.Lease, Status: rankr.RunSucceeded, Steps: steps,
		Payload: json.RawMessage(`{"order":{"id":"o1"}}`)}); err != nil {
		t.Fatal(err)
	}
	got, recorded := getRun(t, s, c.ID)
	if got.Status != rankr.RunSucceeded || string(got.Payload) != `{"order":{"id":"o1"}}` || len(recorded) != 2 ||
		recorded[0].StepID != "read" || string(recorded[0].Output) != `{"id":"o1"}` || recorded[1].Status != rankr.StepSkipped {
		t.Fatalf("run %+v, steps %+v", got, recorded)
	}
}

// Two runs of one automation holding the same concurrency key never run at
// once: the second to start goes back to the queue.
func testAutomationConcurrency(t *testing.T, s store.Store) {
	saveAutomation(t, s, "a", rankr.TriggerOrderPaid, "a", true, nil)
	saveAutomation(t, s, "b", rankr.TriggerOrderPaid, "b", true, nil)
	createRun(t, s, "a", "manual:1", "L1")
	createRun(t, s, "a", "manual:2", "L1")
	createRun(t, s, "a", "manual:3", "L1")
	createRun(t, s, "b", "manual:1", "L1")
	claimed := claimRuns(t, s, 10, time.Minute)
	if len(claimed) != 4 {
		t.Fatalf("claimed %d", len(claimed))
	}
	r1, r2, r3, other := claimed[0], claimed[1], claimed[2], claimed[3]
	start := func(r rankr.AutomationRun, key string, retry time.Duration) error {
		return s.AutomationRunStart(ctx, store.RunStartParams{ID: r.ID, Lease: r.Lease, ConcurrencyKey: key, Retry: retry})
	}
	if err := start(r1, "order:o1", 0); err != nil {
		t.Fatal(err)
	}
	if err := start(r3, "order:o2", 0); err != nil {
		t.Fatalf("another key: %v", err)
	}
	if err := start(other, "order:o1", 0); err != nil {
		t.Fatalf("the same key in another automation: %v", err)
	}
	before := dbNow(t, s)
	if err := start(r2, "order:o1", time.Hour); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a held key: %v", err)
	}
	got, _ := getRun(t, s, r2.ID)
	if got.Status != rankr.RunQueued || got.Lease != "" || got.NextAttemptAt.Before(before.Add(59*time.Minute)) || got.Reason == "" {
		t.Fatalf("the run waiting for the key: %+v", got)
	}
	if more := claimRuns(t, s, 10, time.Minute); len(more) != 0 {
		t.Fatalf("claimed a run not due: %+v", more)
	}
	// Its old lease is gone with it.
	if err := s.AutomationStepRecord(ctx, r2.Lease, rankr.AutomationStep{RunID: r2.ID, StepID: "x", Attempt: 1,
		Status: rankr.StepSucceeded}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("a step with the requeued run's lease: %v", err)
	}
	// Once the holder is done, the key is free.
	finishRun(t, s, r1, rankr.RunSucceeded, "")
	r4 := createRun(t, s, "a", "manual:4", "L1")
	c := claimRuns(t, s, 10, time.Minute)
	if len(c) != 1 || c[0].ID != r4.ID {
		t.Fatalf("claimed %+v", c)
	}
	if err := start(c[0], "order:o1", time.Hour); err != nil {
		t.Fatalf("a key freed: %v", err)
	}
}

// A location's auth failure pauses its automations until it is connected
// again.
func testAutomationPause(t *testing.T, s store.Store) {
	saveAutomation(t, s, "a", rankr.TriggerOrderPaid, "a", true, nil)
	connect := func(cred byte) {
		t.Helper()
		if _, err := s.ConnectionUpsert(ctx, store.ConnectionUpsertParams{LocationID: "L1", BaseURL: "http://127.0.0.1:1",
			Credential: []byte{cred}}); err != nil {
			t.Fatal(err)
		}
	}
	connect(1)
	r1 := createRun(t, s, "a", "manual:1", "L1")
	first := claimRuns(t, s, 1, time.Minute)
	if len(first) != 1 || first[0].ID != r1.ID {
		t.Fatalf("claimed %+v", first)
	}
	r2 := createRun(t, s, "a", "manual:2", "L1")
	r3 := createRun(t, s, "a", "manual:3", "L2")
	finishRun(t, s, first[0], rankr.RunPaused, "401 from GHL")
	pauses, err := s.AutomationPauses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pauses) != 1 || pauses[0].LocationID != "L1" || pauses[0].Reason != "401 from GHL" || pauses[0].Since.IsZero() {
		t.Fatalf("pauses %+v", pauses)
	}
	c := claimRuns(t, s, 10, time.Minute)
	if len(c) != 1 || c[0].ID != r3.ID {
		t.Fatalf("claimed %+v while L1 is paused, want only run %d", c, r3.ID)
	}
	// A second run paused while the location is: still one pause, one event.
	if resumed, err := s.AutomationResume(ctx, "L2"); err != nil || resumed {
		t.Fatalf("resuming a location not paused: %v %v", resumed, err)
	}
	if n := len(eventsOfKind(t, s, "L1", rankr.AutomationPaused)); n != 1 {
		t.Fatalf("%d automation.paused events", n)
	}
	if resumed, err := s.AutomationResume(ctx, "L1"); err != nil || !resumed {
		t.Fatalf("resume: %v %v", resumed, err)
	}
	c = claimRuns(t, s, 10, time.Minute)
	if len(c) != 2 || c[0].ID+c[1].ID != r1.ID+r2.ID || c[0].ID == c[1].ID {
		t.Fatalf("claimed %+v after the resume, want runs %d and %d", c, r1.ID, r2.ID)
	}
	// Paused again; the same credential saved again ends nothing, a new
	// one ends the pause.
	finishRun(t, s, c[0], rankr.RunPaused, "401 again")
	finishRun(t, s, c[1], rankr.RunPaused, "401 again")
	if n := len(eventsOfKind(t, s, "L1", rankr.AutomationPaused)); n != 2 {
		t.Fatalf("%d automation.paused events, want one per pause (2)", n)
	}
	connect(1)
	if len(claimRuns(t, s, 10, time.Minute)) != 0 {
		t.Fatal("the same credential ended the pause")
	}
	connect(2)
	if pauses, _ := s.AutomationPauses(ctx); len(pauses) != 0 {
		t.Fatalf("pauses after a new credential: %+v", pauses)
	}
	c = claimRuns(t, s, 10, time.Minute)
	if len(c) != 2 {
		t.Fatalf("claimed %d after a new credential, want 2", len(c))
	}
	// And setting the connection active again ends it too.
	finishRun(t, s, c[0], rankr.RunPaused, "401")
	if err := s.ConnectionSetState(ctx, store.ConnectionSetStateParams{LocationID: "L1", State: rankr.StateActive}); err != nil {
		t.Fatal(err)
	}
	if pauses, _ := s.AutomationPauses(ctx); len(pauses) != 0 {
		t.Fatalf("pauses after the connection is active: %+v", pauses)
	}
	if got, _ := getRun(t, s, c[0].ID); got.Status != rankr.RunQueued {
		t.Fatalf("run after the connection is active: %+v", got)
	}
}

// A failed run is queued again by hand; its steps stay.
func testAutomationRetry(t *testing.T, s store.Store) {
	saveAutomation(t, s, "a", rankr.TriggerOrderPaid, "a", true, nil)
	r := createRun(t, s, "a", "manual:1", "L1")
	if _, err := s.AutomationRunRetry(ctx, r.ID); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("retrying a queued run: %v", err)
	}
	c := claimRuns(t, s, 1, time.Minute)[0]
	if err := s.AutomationStepRecord(ctx, c.Lease, rankr.AutomationStep{RunID: c.ID, StepID: "one", Attempt: 1,
		Status: rankr.StepSucceeded}); err != nil {
		t.Fatal(err)
	}
	finishRun(t, s, c, rankr.RunFailed, "400 bad input")
	got, err := s.AutomationRunRetry(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != rankr.RunQueued || got.Reason != "" || !got.FinishedAt.IsZero() {
		t.Fatalf("retried %+v", got)
	}
	if _, steps := getRun(t, s, r.ID); len(steps) != 1 {
		t.Fatalf("steps after a retry: %+v", steps)
	}
	c = claimRuns(t, s, 1, time.Minute)[0]
	if c.ID != r.ID || c.Attempts != 2 {
		t.Fatalf("claimed %+v", c)
	}
	finishRun(t, s, c, rankr.RunSucceeded, "")
	if _, err := s.AutomationRunRetry(ctx, r.ID); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("retrying a run that succeeded: %v", err)
	}
	if _, err := s.AutomationRunRetry(ctx, 999999); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("retrying a missing run: %v", err)
	}
}

// A run whose runner died is queued again when its lease ends, and the dead
// runner's lease changes nothing after.
func testAutomationExpired(t *testing.T, s store.Store) {
	saveAutomation(t, s, "a", rankr.TriggerOrderPaid, "a", true, nil)
	r := createRun(t, s, "a", "manual:1", "L1")
	c := claimRuns(t, s, 1, 1500*time.Millisecond)[0] // long enough for a loaded machine to look before it ends
	if n, err := s.AutomationRunsExpired(ctx); err != nil || n != 0 {
		t.Fatalf("expired before the lease ended: %d %v", n, err)
	}
	eventually(t, "the lease to run out", func() bool {
		n, err := s.AutomationRunsExpired(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	})
	again := claimRuns(t, s, 1, time.Minute)
	if len(again) != 1 || again[0].ID != r.ID || again[0].Attempts != 2 || again[0].Lease == c.Lease {
		t.Fatalf("claimed %+v", again)
	}
	if err := s.AutomationRunFinish(ctx, store.RunFinishParams{ID: c.ID, Lease: c.Lease, Status: rankr.RunSucceeded}); !errors.Is(err, rankr.ErrConflict) {
		t.Fatalf("finish with the expired lease: %v", err)
	}
	finishRun(t, s, again[0], rankr.RunSucceeded, "")
}

// Runs list newest first, filtered, in pages.
func testAutomationRunList(t *testing.T, s store.Store) {
	saveAutomation(t, s, "a", rankr.TriggerOrderPaid, "a", true, nil)
	saveAutomation(t, s, "b", rankr.TriggerOrderPaid, "b", true, nil)
	var ids []int64
	for i := range 6 {
		id := []string{"a", "b"}[i%2]
		ids = append(ids, createRun(t, s, id, fmt.Sprintf("manual:%d", i), fmt.Sprintf("L%d", i%3)).ID)
	}
	c := claimRuns(t, s, 1, time.Minute)[0]
	finishRun(t, s, c, rankr.RunFailed, "boom")
	idsOf := func(runs []rankr.AutomationRun) string {
		var out []int64
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		name string
		p    store.RunListParams
		want []int64
	}{
		{"all", store.RunListParams{}, []int64{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"automation", store.RunListParams{AutomationID: "b"}, []int64{ids[5], ids[3], ids[1]}},
		{"status", store.RunListParams{Status: rankr.RunFailed}, []int64{ids[0]}},
		{"location", store.RunListParams{LocationID: "L1"}, []int64{ids[4], ids[1]}},
		{"page", store.RunListParams{BeforeID: ids[4], Limit: 2}, []int64{ids[3], ids[2]}},
		{"page within a filter", store.RunListParams{AutomationID: "a", BeforeID: ids[4]}, []int64{ids[2], ids[0]}},
	} {
		runs, err := s.AutomationRunList(ctx, tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if idsOf(runs) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %s, want %v", tc.name, idsOf(runs), tc.want)
		}
	}
}

// Saving versions while events are appended loses no run and doubles none:
// every event after the automation existed has exactly one, on a version
// that was live, and the versions follow the feed's order.
func testAutomationSwapIsAtomic(t *testing.T, s store.Store) {
	saveAutomation(t, s, "swap", rankr.TriggerOrderCreated, "v1", true, nil)
	const writers, orders, versions = 4, 25, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range orders {
				loc := fmt.Sprintf("L%d", w)
				id := fmt.Sprintf("o%d-%d", w, i)
				if _, err := s.OrderUpsert(ctx, store.OrderUpsertParams{LocationID: loc, Now: time.Now(),
					Orders: []store.OrderVersion{{Order: order(loc, id, time.Now().Add(-time.Minute), "pending")}}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := 2; v <= versions; v++ {
			if _, _, err := s.AutomationSave(ctx, store.AutomationSaveParams{ID: "swap", Enabled: true,
				TriggerKey: rankr.TriggerOrderCreated, Source: fmt.Sprint("v", v), Definition: json.RawMessage(`{}`),
				Checksum: fmt.Sprint("sum:v", v)}); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	runs := map[string][]rankr.AutomationRun{}
	for _, r := range runsOf(t, s, store.RunListParams{AutomationID: "swap"}) {
		runs[r.EventID] = append(runs[r.EventID], r)
	}
	events := eventsOfKind(t, s, "", rankr.OrderCreated)
	if len(events) != writers*orders {
		t.Fatalf("%d order.created events, want %d", len(events), writers*orders)
	}
	if len(runs) != len(events) {
		t.Errorf("%d runs for %d events", len(runs), len(events))
	}
	last, seenVersions := 0, map[int]bool{}
	defer func() { t.Logf("the events ran on %d versions", len(seenVersions)) }()
	for _, e := range events { // in seq order
		rs := runs["feed:"+strconv.FormatInt(e.Seq, 10)]
		if len(rs) != 1 {
			t.Errorf("event %d has %d runs", e.Seq, len(rs))
			continue
		}
		if v := rs[0].Version; v < last || v < 1 || v > versions {
			t.Errorf("event %d ran on version %d after an event on version %d", e.Seq, v, last)
		} else {
			last, seenVersions[v] = v, true
		}
	}
}

// Runners claiming at once each take different runs, and together all of
// them, once.
func testAutomationClaimersShare(t *testing.T, s store.Store) {
	saveAutomation(t, s, "a", rankr.TriggerOrderPaid, "a", true, nil)
	const runs, claimers = 60, 6
	for i := range runs {
		createRun(t, s, "a", fmt.Sprintf("manual:%d", i), "L1")
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.AutomationRunClaim(ctx, store.RunClaimParams{Limit: 3, Lease: time.Minute})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, r := range got {
					seen[r.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != runs {
		t.Fatalf("claimed %d runs of %d", len(seen), runs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("run %d claimed %d times", id, n)
		}
	}
}

// Runs starting at once with one concurrency key: exactly one runs.
func testAutomationKeyRace(t *testing.T, s store.Store) {
	saveAutomation(t, s, "a", rankr.TriggerOrderPaid, "a", true, nil)
	const n = 8
	for i := range n {
		createRun(t, s, "a", fmt.Sprintf("manual:%d", i), "L1")
	}
	claimed := claimRuns(t, s, n, time.Minute)
	if len(claimed) != n {
		t.Fatalf("claimed %d", len(claimed))
	}
	var wg sync.WaitGroup
	results := make(chan error, n)
	for _, r := range claimed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- s.AutomationRunStart(ctx, store.RunStartParams{ID: r.ID, Lease: r.Lease, ConcurrencyKey: "k", Retry: time.Hour})
		}()
	}
	wg.Wait()
	close(results)
	started := 0
	for err := range results {
		switch {
		case err == nil:
			started++
		case !errors.Is(err, rankr.ErrConflict):
			t.Fatal(err)
		}
	}
	running := runsOf(t, s, store.RunListParams{Status: rankr.RunRunning})
	queued := runsOf(t, s, store.RunListParams{Status: rankr.RunQueued})
	if started != 1 || len(running) != 1 || len(queued) != n-1 || running[0].ConcurrencyKey != "k" {
		t.Fatalf("%d started, %d running, %d queued; want 1, 1, %d", started, len(running), len(queued), n-1)
	}
}
