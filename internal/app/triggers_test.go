package app_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/catalog"
	"github.com/rankr/rankr/internal/rankr"
)

// TestTriggerSpecs checks that there is one spec per trigger rankr fires,
// that the registry takes them, and that each sample is valid against its
// own schema, strictly: an unknown field or a missing one is refused.
func TestTriggerSpecs(t *testing.T) {
	t.Parallel()
	specs := app.TriggerSpecs()
	var keys []string
	reg := catalog.NewRegistry()
	for _, s := range specs {
		keys = append(keys, s.Key)
		if err := reg.AddTrigger(s); err != nil {
			t.Error(err)
			continue
		}
		wantSource := catalog.SourceDerived
		if strings.HasPrefix(s.Key, "rankr.") {
			wantSource = catalog.SourceRankr
			if len(s.Scopes) != 0 {
				t.Errorf("%s: rankr's own triggers need no GHL scope, not %q", s.Key, s.Scopes)
			}
		} else if len(s.Scopes) == 0 {
			t.Errorf("%s: a derived trigger needs the read scope of what it is derived from", s.Key)
		}
		if s.Source != wantSource || len(s.Fires) == 0 {
			t.Errorf("%s: source %q, fires %q", s.Key, s.Source, s.Fires)
		}
		schema, err := catalog.CompileSchema(s.ID(), s.Output)
		if err != nil {
			t.Errorf("%s: %v", s.Key, err)
			continue
		}
		if err := schema.Validate(s.Sample); err != nil {
			t.Errorf("%s: its sample is not valid against its schema: %v", s.Key, err)
		}
		// Strict: the payload's event is required, and nothing is allowed
		// beside it and the record.
		var sample map[string]json.RawMessage
		if err := json.Unmarshal(s.Sample, &sample); err != nil {
			t.Fatal(err)
		}
		sample["extra"] = json.RawMessage(`1`)
		if b, _ := json.Marshal(sample); schema.Validate(b) == nil {
			t.Errorf("%s: its schema allows an unknown field", s.Key)
		}
		delete(sample, "extra")
		delete(sample, "event")
		if b, _ := json.Marshal(sample); schema.Validate(b) == nil {
			t.Errorf("%s: its schema allows a payload without its event", s.Key)
		}
		// Every kind the sample's event has is one the spec says fires it.
		var ev struct {
			Event rankr.Event `json:"event"`
		}
		if err := json.Unmarshal(s.Sample, &ev); err != nil || !slices.Contains(s.Fires, ev.Event.Kind) {
			t.Errorf("%s: the sample's event kind %q is not among %q (%v)", s.Key, ev.Event.Kind, s.Fires, err)
		}
		if got := rankr.Triggers(rankr.Event{Kind: ev.Event.Kind, Data: mustData(t, s.Sample)}); !slices.Contains(got, s.Key) {
			t.Errorf("%s: its sample's event fires %q, not it", s.Key, got)
		}
	}
	if !slices.Equal(keys, rankr.TriggerKeys()) {
		t.Errorf("spec keys %q\nwant %q", keys, rankr.TriggerKeys())
	}
}

func mustData(t *testing.T, sample json.RawMessage) json.RawMessage {
	t.Helper()
	var p struct {
		Event struct {
			Data json.RawMessage `json:"data"`
		} `json:"event"`
	}
	if err := json.Unmarshal(sample, &p); err != nil {
		t.Fatal(err)
	}
	return p.Event.Data
}
