package syncer

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
)

// FuzzDropKeys checks the hand-written scanner against encoding/json:
// nothing panics; a JSON object comes back as valid JSON holding the same
// members, each value byte for byte, minus the dropped keys (and exactly as
// it was when it holds none of them); anything else comes back unchanged.
func FuzzDropKeys(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"traceId":"x"}`, `{"traceId":"x","a":1}`, `{"traceId":"x"}`,
		`{ "a" : 1 , "traceId" : "x" , "b" : [1,{"traceId":2}] }`, `{"a":"}\"{,","traceId":{"b":"]"},"c":null}`,
		`{"type":"OrderCreate","_id":"o1","locationId":"L","timestamp":"t","webhookId":"w"}`,
		`{"a":true,"type":1,"timestamp":2}`, `{}`, `{"a":1}`, `[1,2]`, `{"traceId":"x"`, `"traceId"`, ``,
		`{"traceId":1,"traceId":2,"a":3,"a":4}`, `{"traceI\u0064":1}`, `{"a":[}],"traceId":1}`, `{"traceId":tru}`,
		"{\"traceId\":1}\n", `{"traceId":1} {"a":2}`, `{"a":"\\","traceId":"\\\""}`, `{"a":-0.5e+3,"traceId":[[[]]]}`,
	} {
		f.Add([]byte(s), "webhookId")
	}
	f.Fuzz(func(t *testing.T, in []byte, key string) {
		keys := []string{"traceId", "type", key}
		orig := bytes.Clone(in)
		out := dropKeys(json.RawMessage(in), keys...)
		if !bytes.Equal(in, orig) {
			t.Fatalf("dropKeys changed its input %q to %q", orig, in)
		}
		var members map[string]json.RawMessage
		if !json.Valid(in) || json.Unmarshal(in, &members) != nil || members == nil {
			if !bytes.Equal(out, in) {
				t.Fatalf("dropKeys(%q) = %q; not a JSON object, it must come back unchanged", in, out)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("dropKeys(%q) = %q: not JSON", in, out)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out, &got); err != nil || got == nil {
			t.Fatalf("dropKeys(%q) = %q: not an object (%v)", in, out, err)
		}
		had := false
		for _, k := range keys {
			_, ok := members[k]
			had = had || ok
			delete(members, k)
		}
		if !maps.EqualFunc(members, got, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Fatalf("dropKeys(%q, %q) = %q: members changed", in, keys, out)
		}
		if !had && !bytes.Equal(out, in) {
			t.Fatalf("dropKeys(%q, %q) = %q: nothing to drop, yet changed", in, keys, out)
		}
	})
}
