package ghl

import (
	"bytes"
	"encoding/json"
)

// decodeKeepRaw decodes b into plain, a conversion of the record to a type
// without methods (so that this does not recurse), and keeps a copy of b:
// encoding/json may reuse b once UnmarshalJSON returns.
func decodeKeepRaw(b []byte, plain any, raw *json.RawMessage) error {
	if err := json.Unmarshal(b, plain); err != nil {
		return err
	}
	*raw = bytes.Clone(b)
	return nil
}
