package ghl

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		is     []error
		isNot  []error
	}{
		{"spec not found", 400, `{"statusCode":400,"message":"Order not found"}`,
			[]error{ErrNotFound}, []error{ErrInvalidRequest, ErrUnauthorized}},
		{"observed not found", 404, `{"status":404,"message":"Order not found","name":"HttpException","traceId":"t-1"}`,
			[]error{ErrNotFound}, []error{ErrInvalidRequest}},
		{"bad request", 400, `{"statusCode":400,"message":"Version header is required"}`,
			[]error{ErrInvalidRequest}, []error{ErrNotFound}},
		{"validation", 422, `{"statusCode":422,"message":["altId should not be empty","altId must be a string"],"error":"Unprocessable Entity"}`,
			[]error{ErrInvalidRequest}, nil},
		{"bad token", 401, `{"statusCode":401,"message":"Invalid token: access token is invalid","error":"Unauthorized"}`,
			[]error{ErrUnauthorized}, []error{ErrMissingScope}},
		{"missing scope", 401, `{"statusCode":401,"message":"The token is not authorized for this scope."}`,
			[]error{ErrMissingScope}, []error{ErrUnauthorized}},
		{"wrong location", 403, `{"statusCode":403,"message":"The token does not have access to this location."}`,
			[]error{ErrForbidden}, []error{ErrMissingScope}},
		{"throttled", 429, `{"statusCode":429,"message":"Too many requests"}`, []error{ErrRateLimited}, nil},
		{"server", 502, `<html>bad gateway</html>`, []error{ErrServer}, []error{ErrNotFound}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Error{Op: "GetOrder", Method: "GET", Path: "/payments/orders/x", StatusCode: tt.status}
			e.fillFromBody([]byte(tt.body))
			for _, target := range tt.is {
				if !errors.Is(e, target) {
					t.Errorf("%v: errors.Is(%v) = false", e, target)
				}
			}
			for _, target := range tt.isNot {
				if errors.Is(e, target) {
					t.Errorf("%v: errors.Is(%v) = true", e, target)
				}
			}
			if e.Message == "" {
				t.Errorf("no message kept from %s", tt.body)
			}
		})
	}
}

func TestErrorMessageNamesWhatToDo(t *testing.T) {
	t.Parallel()
	e := &Error{Op: "ListOrders", Method: "GET", Path: "/payments/orders", LocationID: "LOC", StatusCode: http.StatusUnauthorized,
		Message: "The token is not authorized for this scope.", Scope: ScopeOrdersRead, TraceID: "abc"}
	msg := e.Error()
	for _, want := range []string{"GET /payments/orders", "LOC", "401", "lacks scope payments/orders.readonly", "trace abc"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	unknown := &Error{Method: "POST", Path: "/payments/orders/o/fulfillments", StatusCode: 502, OutcomeUnknown: true}
	if !errors.Is(unknown, ErrOutcomeUnknown) || !strings.Contains(unknown.Error(), "check before retrying") {
		t.Errorf("outcome-unknown error %q", unknown.Error())
	}
}

func TestStaticTokenNeverPrints(t *testing.T) {
	t.Parallel()
	tok := StaticToken("pit-secret-value")
	for _, s := range []string{tok.String(), tok.GoString(), LocationTokens{"L": "pit-secret-value"}.String()} {
		if strings.Contains(s, "secret") {
			t.Errorf("token printed as %q", s)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"86400", 24 * time.Hour},
		{"86401", maxRetryAfter},
		{"9223372036", maxRetryAfter},        // past a Duration's seconds
		{"99999999999999999", maxRetryAfter}, // the fuzzer's: overflowed to a negative wait
		{"999999999999999999999", 0},         // past int64: not a number of seconds
		{"Wed, 21 Oct 2015 07:28:00 GMT", 0}, // in the past
		{time.Now().Add(100 * 365 * 24 * time.Hour).UTC().Format(http.TimeFormat), maxRetryAfter},
		{"soon", 0},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.header != "" {
			h.Set("Retry-After", c.header)
		}
		if got := retryAfter(h); got != c.want {
			t.Errorf("Retry-After %q: %v, want %v", c.header, got, c.want)
		}
	}
}
