package syncer

import (
	"encoding/json"
	"maps"
	"testing"
)

func TestDropKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{`{"a":1,"traceId":"x"}`, `{"a":1}`},
		{`{"traceId":"x","a":1}`, `{"a":1}`},
		{`{"traceId":"x"}`, `{}`},
		{`{ "a" : 1 , "traceId" : "x" , "b" : [1,{"traceId":2}] }`, `{ "a" : 1 , "b" : [1,{"traceId":2}] }`},
		{`{"a":"}\"{,","traceId":{"b":"]"},"c":null}`, `{"a":"}\"{,","c":null}`},
		{`{"type":"OrderCreate","_id":"o1","locationId":"L","timestamp":"t","webhookId":"w"}`, `{"_id":"o1"}`},
		{`{"a":true,"type":1,"timestamp":2}`, `{"a":true}`},
		{`{}`, `{}`},
		{`{"a":1}`, `{"a":1}`},
		// Not an object, or cut short: left as it is.
		{`[1,2]`, `[1,2]`},
		{`{"traceId":"x"`, `{"traceId":"x"`},
		{`"traceId"`, `"traceId"`},
		{``, ``},
	}
	drop := append(webhookKeys, responseKeys...)
	for _, tt := range tests {
		got := string(dropKeys(json.RawMessage(tt.in), drop...))
		if got != tt.want {
			t.Errorf("dropKeys(%s) = %s, want %s", tt.in, got, tt.want)
			continue
		}
		// What is left is the same object without the keys.
		var in, out map[string]any
		if json.Unmarshal([]byte(tt.in), &in) != nil {
			continue
		}
		if err := json.Unmarshal([]byte(got), &out); err != nil {
			t.Errorf("dropKeys(%s) = %s: not JSON: %v", tt.in, got, err)
			continue
		}
		for _, k := range drop {
			delete(in, k)
		}
		if !maps.EqualFunc(in, out, func(a, b any) bool { x, _ := json.Marshal(a); y, _ := json.Marshal(b); return string(x) == string(y) }) {
			t.Errorf("dropKeys(%s) = %s: members changed", tt.in, got)
		}
	}
}

func TestSnapshotContact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw         string
		name, email string
	}{
		{`{"name":"Ada Lovelace","email":"ada@example.com"}`, "Ada Lovelace", "ada@example.com"},
		{`{"firstName":"Ada","lastName":"Lovelace","email":"ada@example.com"}`, "Ada Lovelace", "ada@example.com"},
		{`{"first_name":"Ada","last_name":"Lovelace"}`, "Ada Lovelace", ""},
		{`{"full_name":"Ada L","firstName":"X"}`, "Ada L", ""},
		{`{"lastName":"Lovelace"}`, "Lovelace", ""},
		// A field of an unexpected type costs only that field.
		{`{"name":42,"firstName":"Ada","email":"ada@example.com","phone":5550100}`, "Ada", "ada@example.com"},
		{`not json`, "", ""},
		{``, "", ""},
	}
	for _, tt := range tests {
		name, email := snapshotContact(json.RawMessage(tt.raw))
		if name != tt.name || email != tt.email {
			t.Errorf("snapshotContact(%s) = %q, %q; want %q, %q", tt.raw, name, email, tt.name, tt.email)
		}
	}
}
