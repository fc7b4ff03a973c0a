package marketplace

import (
	"encoding/json"
	"slices"

	"github.com/rankr/rankr/internal/catalog"
)

// DefinitionSet is what to register in the marketplace app (its "Workflow
// Triggers & Actions" module), made from the catalog so that they cannot
// drift from what rankr fires and runs.
type DefinitionSet struct {
	Triggers []TriggerDefinition `json:"triggers"`
	Actions  []ActionDefinition  `json:"actions"`
}

// TriggerDefinition is a custom trigger: its sample payload is what a
// firing POSTs.
type TriggerDefinition struct {
	Key           string          `json:"key"`
	CatalogID     string          `json:"catalogId"`
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	SamplePayload json.RawMessage `json:"samplePayload"`
}

// ActionDefinition is a custom action: its fields are the action's
// input, its response data the action's output.
type ActionDefinition struct {
	Key          string          `json:"key"`
	CatalogID    string          `json:"catalogId"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	URL          string          `json:"url"` // relative to rankr's base URL
	Fields       []Field         `json:"fields"`
	ResponseData json.RawMessage `json:"responseData"`
}

// Field is one field of a custom action, named as its input property.
type Field struct {
	Name     string   `json:"name"`
	Label    string   `json:"label"`
	Type     string   `json:"type"` // String, Numerical, Toggle, Select, Textarea
	Required bool     `json:"required"`
	Options  []Option `json:"options,omitempty"`
	Help     string   `json:"helpText,omitempty"`
}

// Option is one choice of a Select field.
type Option struct {
	Label string `json:"label"`
	Value any    `json:"value"`
}

// Definitions returns the marketplace definitions of reg's items: every
// derived and rankr trigger (GHL's webhooks and schedules have GHL's own
// triggers), and every action, newest versions only.
func Definitions(reg *catalog.Registry) DefinitionSet {
	out := DefinitionSet{Triggers: []TriggerDefinition{}, Actions: []ActionDefinition{}}
	seen := map[string]bool{}
	items := reg.List("")
	// Newest version of each key first, so that the older are skipped.
	slices.SortStableFunc(items, func(a, b catalog.Spec) int { return b.Version - a.Version })
	for _, sp := range items {
		if seen[sp.Key] {
			continue
		}
		seen[sp.Key] = true
		switch {
		case firable(sp):
			out.Triggers = append(out.Triggers, TriggerDefinition{Key: Key(sp.Key), CatalogID: sp.ID(), Name: sp.Title,
				Description: sp.Summary, SamplePayload: sp.Sample})
		case sp.Kind == catalog.KindAction:
			out.Actions = append(out.Actions, ActionDefinition{Key: Key(sp.Key), CatalogID: sp.ID(), Name: sp.Title,
				Description: sp.Summary, URL: "/ghl/actions/" + Key(sp.Key), Fields: fields(sp.Input), ResponseData: sp.Sample})
		}
	}
	slices.SortFunc(out.Triggers, func(a, b TriggerDefinition) int { return cmpStr(a.Key, b.Key) })
	slices.SortFunc(out.Actions, func(a, b ActionDefinition) int { return cmpStr(a.Key, b.Key) })
	return out
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fields are the top-level properties of an input schema as GHL fields:
// nested objects and lists are a Textarea holding their JSON.
func fields(schema json.RawMessage) []Field {
	var s struct {
		Properties map[string]struct {
			Type        any    `json:"type"`
			Enum        []any  `json:"enum"`
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	out := []Field{}
	if len(schema) == 0 || json.Unmarshal(schema, &s) != nil {
		return out
	}
	for name, p := range s.Properties {
		f := Field{Name: name, Label: name, Required: slices.Contains(s.Required, name), Help: p.Description}
		if p.Title != "" {
			f.Label = p.Title
		}
		typ, _ := p.Type.(string)
		if list, ok := p.Type.([]any); ok {
			for _, t := range list {
				if ts, _ := t.(string); ts != "null" {
					typ = ts
					break
				}
			}
		}
		switch {
		case len(p.Enum) > 0:
			f.Type = "Select"
			for _, v := range p.Enum {
				label, _ := v.(string)
				if label == "" {
					b, _ := json.Marshal(v)
					label = string(b)
				}
				f.Options = append(f.Options, Option{Label: label, Value: v})
			}
		case typ == "integer" || typ == "number":
			f.Type = "Numerical"
		case typ == "boolean":
			f.Type = "Toggle"
		case typ == "object" || typ == "array":
			f.Type = "Textarea"
		default:
			f.Type = "String"
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Field) int { return cmpStr(a.Name, b.Name) })
	return out
}
