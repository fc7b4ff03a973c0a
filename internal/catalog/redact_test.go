package catalog

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"name":"Spring","code":"SPRING10"}`, `{"name":"Spring","code":"SPRING10"}`},
		{`{"live":{"apiKey":"sk_live_1","publishableKey":"pk_1"},"name":"x"}`, `{"live":{"apiKey":"[redacted]","publishableKey":"[redacted]"},"name":"x"}`},
		{`[{"client_secret":"s1"},{"Private-Key":"k"},{"refresh_token":"r","token_type":"bearer"}]`,
			`[{"client_secret":"[redacted]"},{"Private-Key":"[redacted]"},{"refresh_token":"[redacted]","token_type":"bearer"}]`},
		{`{"password":""}`, `{"password":""}`}, // nothing to hide
		{`not json`, `not json`},
		{`token=abc, not json`, `"[not JSON]"`},
	} {
		if got := string(Redact([]byte(tc.in))); got != tc.want {
			t.Errorf("Redact(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := string(Redact([]byte(`{"tokenCount": 3, "authorization": "Bearer abc"}`))); strings.Contains(got, "abc") {
		t.Errorf("an authorization header survived: %s", got)
	}
}

// A refused secret is named, never quoted.
func TestValidateHidesSecrets(t *testing.T) {
	s, err := CompileSchema("t", []byte(`{"type":"object","properties":{"apiKey":{"type":"string","pattern":"^pk_"},"name":{"type":"string","pattern":"^a"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Validate([]byte(`{"apiKey":"sk_live_SECRET","name":"bob"}`))
	if err == nil || strings.Contains(err.Error(), "sk_live_SECRET") || !strings.Contains(err.Error(), "/apiKey") || !strings.Contains(err.Error(), "bob") {
		t.Errorf("validation error: %v", err)
	}
}
