package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// sandboxInfo is what a sandbox's admin API says of itself (GET
// /_sandbox/info). Only what the checks use is read: the info also lists
// the locations' tokens, which the doctor never keeps.
type sandboxInfo struct {
	base             string
	WebhookPublicKey string `json:"webhookPublicKey"`
}

// sandboxAdmin is the sandbox's admin API prefix (ghl/sandbox.AdminPrefix;
// not imported: the product does not depend on the simulator).
const sandboxAdmin = "/_sandbox"

// isGHL reports whether base is GHL's own API, which is never asked for a
// sandbox's admin paths.
func isGHL(base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range []string{"leadconnectorhq.com", "gohighlevel.com"} {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// sandboxAt returns the sandbox serving base, or nil when base is not one
// (GHL itself, or a host without the sandbox's admin API).
func (r *run) sandboxAt(ctx context.Context, base string) *sandboxInfo {
	if isGHL(base) {
		return nil
	}
	r.mu.Lock()
	info, seen := r.sandbox[base]
	r.mu.Unlock()
	if seen {
		return info
	}
	var got sandboxInfo
	if err := r.admin(ctx, base, http.MethodGet, "/info", nil, &got); err == nil && got.WebhookPublicKey != "" {
		got.base = base
		info = &got
	}
	r.mu.Lock()
	r.sandbox[base] = info
	r.mu.Unlock()
	return info
}

// admin calls a sandbox's admin API.
func (r *run) admin(ctx context.Context, base, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	cctx, cancel := r.step(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, method, strings.TrimRight(base, "/")+sandboxAdmin+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.deps.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("the sandbox's admin API: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("the sandbox's admin API: reading its answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		return fmt.Errorf("the sandbox's admin API answered %d to %s %s: %s", resp.StatusCode, method, path, e.Error)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("the sandbox's admin API: %s %s: %w", method, path, err)
		}
	}
	return nil
}
