package ghl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Call is one request to any operation of the table, made by a caller that
// holds it as data rather than as a typed method (rankr's catalog of
// actions). Its parts are sent as given: the caller validated them.
type Call struct {
	// Location is whose rate budget and token the request spends.
	Location string
	// Path fills the operation's {placeholders}, by name.
	Path map[string]string
	// Query is sent as the query string.
	Query url.Values
	// Body is sent as the JSON body; nil sends none.
	Body json.RawMessage
}

// Invoke sends c to op through the same governor, token source and retry
// rules as the typed methods (a write whose answer was lost is not sent
// again: the *Error says its outcome is unknown), and returns GHL's 2xx
// body as it came (nil when it was empty).
func (c *Client) Invoke(ctx context.Context, op Operation, req Call) (json.RawMessage, error) {
	args, err := op.pathArgs(req.Path)
	if err != nil {
		return nil, err
	}
	if err := requireLocation(op, req.Location); err != nil {
		return nil, err
	}
	var body any
	if req.Body != nil {
		body = req.Body
	}
	var out json.RawMessage
	if err := c.do(ctx, call{op: op, location: req.Location, pathArgs: args, query: req.Query, body: body}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Target is the method and the URL path with its query that Invoke would
// send for c: what a dry run shows instead of sending.
func (op Operation) Target(c Call) (method, target string, err error) {
	args, err := op.pathArgs(c.Path)
	if err != nil {
		return "", "", err
	}
	t := (call{op: op, pathArgs: args}).path()
	if q := c.Query.Encode(); q != "" {
		t += "?" + q
	}
	return op.Method, t, nil
}

// pathArgs orders the named placeholder values as the path names them.
func (op Operation) pathArgs(named map[string]string) ([]string, error) {
	var args []string
	for rest := op.Path; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			return args, nil
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return args, nil
		}
		name := rest[open+1 : open+end]
		v := named[name]
		if v == "" {
			return nil, &Error{Op: op.Name, Method: op.Method, Path: op.Path,
				Message: name + " is required", Err: fmt.Errorf("%s: path parameter %s is empty: %w", op.Name, name, ErrInvalidRequest)}
		}
		args = append(args, v)
		rest = rest[open+end+1:]
	}
}
