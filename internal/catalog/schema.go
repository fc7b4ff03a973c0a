package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema is a compiled JSON Schema.
type Schema struct {
	s *jsonschema.Schema
}

// compileMu guards nothing of ours: jsonschema's Compiler is not safe for
// concurrent use, and items compile lazily from many goroutines.
var compileMu sync.Mutex

// CompileSchema compiles a JSON Schema (draft 2020-12 unless it says
// otherwise); name appears in the errors.
func CompileSchema(name string, raw json.RawMessage) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	compileMu.Lock()
	defer compileMu.Unlock()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	url := "rankr:///" + name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	return &Schema{s: s}, nil
}

// Validate checks a JSON document against the schema. The error lists each
// failing place by its JSON pointer ("/body/trackings/0: missing property
// 'trackingNumber'"), at most ten of them.
func (s *Schema) Validate(doc json.RawMessage) error {
	if len(bytes.TrimSpace(doc)) == 0 {
		doc = json.RawMessage("null")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	err = s.s.Validate(v)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var msgs []string
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil {
			continue
		}
		where := u.InstanceLocation
		if where == "" {
			where = "/"
		}
		msg := where + ": " + u.Error.String()
		if last := where[strings.LastIndexByte(where, '/')+1:]; secretName(last) {
			// Pattern and format errors quote the value: not a secret's.
			msg = where + ": not valid (the value is not shown)"
		}
		if len(msgs) == 0 || msgs[len(msgs)-1] != msg {
			msgs = append(msgs, msg)
		}
	}
	if len(msgs) == 0 {
		return errors.New(ve.Error())
	}
	if len(msgs) > 10 {
		msgs = append(msgs[:10], fmt.Sprintf("and %d more", len(msgs)-10))
	}
	return errors.New(strings.Join(msgs, "; "))
}
