package cli

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/rankr/rankr/internal/access"
	"github.com/rankr/rankr/internal/app"
	"github.com/rankr/rankr/internal/daemon"
	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

// AuditCmd reads and checks the audit log.
type AuditCmd struct {
	List       AuditListCmd       `cmd:"" help:"List audit records, oldest first."`
	Verify     AuditVerifyCmd     `cmd:"" help:"Check that no record was edited, removed, reordered or cut off since it was written."`
	Export     AuditExportCmd     `cmd:"" help:"Write the audit log as JSON lines (with its checkpoints) or CSV."`
	Checkpoint AuditCheckpointCmd `cmd:"" help:"Sign the log's head now and print the checkpoint, to keep outside the database."`
	Hash       AuditHashCmd       `cmd:"" help:"Print how audit records name a secret (its HMAC), to find where it appears."`
	RotateKey  AuditRotateKeyCmd  `cmd:"" name:"rotate-signing-key" help:"Sign checkpoints with a new key from now on; the old ones still verify."`
	Prune      AuditPruneCmd      `cmd:"" help:"Delete records older than a span (at least 90 days), leaving a signed base checkpoint."`
	DataFlags
}

// AuditListCmd lists records.
type AuditListCmd struct {
	Since  string `help:"Only records since: a span back (30d, 2h) or a moment (2026-05-01)."`
	Actor  string `help:"Only this actor: a key id, a host user, or a type (api_key, host, system, ghl, anonymous)."`
	Action string `help:"Only this action (api_key.created), or a prefix ending in a dot (api_key.)."`
	After  int64  `help:"Only records after this sequence number."`
	Limit  int    `help:"At most this many records." default:"100"`
	JSON   bool   `help:"Print JSON lines, one record each." name:"json"`
}

// Run lists the records. It needs no master key.
func (c *AuditListCmd) Run(ctx context.Context, g *Globals) error {
	since, err := parseSince(c.Since, time.Now())
	if err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	d, err := g.openWithoutKey(ctx, daemon.Config{})
	if err != nil {
		return err
	}
	defer d.Close()
	recs, err := auditRecords(ctx, d.App, app.AuditQuery{After: max(c.After, 0), Since: since, Actor: c.Actor, Action: c.Action, Limit: c.Limit})
	if err != nil {
		return err
	}
	if c.JSON {
		for _, r := range recs {
			if _, err := fmt.Fprintf(g.stdout, "%s\n", r.Body); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tWHEN\tACTOR\tACTION\tOUTCOME\tTARGET\tFROM")
	for _, r := range recs {
		actor := r.Actor.Type
		if r.Actor.ID != "" {
			actor += ":" + r.Actor.ID
		}
		outcome := r.Outcome
		if r.Code != "" {
			outcome += " (" + r.Code + ")"
		}
		if r.Count > 1 {
			outcome += " ×" + strconv.Itoa(r.Count)
		}
		target := r.Target.Type
		if r.Target.ID != "" {
			target += ":" + r.Target.ID
		}
		from := r.Request.IP
		if r.Request.PeerIP != "" && r.Request.PeerIP != r.Request.IP {
			from += " via " + r.Request.PeerIP
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.At.UTC().Format(time.RFC3339), actor, r.Action, outcome, dash(target), dash(from))
	}
	return tw.Flush()
}

// auditRecords reads up to q.Limit records (100 when 0; the store reads
// at most 10,000), a page of the use case's at a time.
func auditRecords(ctx context.Context, a *app.App, q app.AuditQuery) ([]rankr.AuditRecord, error) {
	want := min(cmp.Or(max(q.Limit, 0), 100), 10_000)
	var recs []rankr.AuditRecord
	for len(recs) < want {
		q.Limit = min(want-len(recs), app.MaxLimit)
		page, err := a.AuditLog(ctx, host(), q)
		if err != nil {
			return nil, err
		}
		recs = append(recs, page.Items...)
		if page.Next == 0 {
			break
		}
		q.After = page.Next
	}
	return recs, nil
}

// AuditVerifyCmd verifies the log.
type AuditVerifyCmd struct {
	Pubkey     []string `help:"Trust checkpoints signed by these public keys (base64) instead of opening the installation's with the master key." placeholder:"KEY"`
	Checkpoint string   `help:"A checkpoint kept outside the database (as rankr audit checkpoint prints it, or the serve log's 'audit checkpoint' line): the log must reach it." placeholder:"LINE"`
}

// Run verifies the log and fails naming the first bad record.
func (c *AuditVerifyCmd) Run(ctx context.Context, g *Globals) error {
	var d *daemon.Daemon
	var err error
	if len(c.Pubkey) > 0 {
		d, err = g.openWithoutKey(ctx, daemon.Config{})
	} else {
		d, err = openKeys(ctx, g)
	}
	if err != nil {
		return err
	}
	defer d.Close()
	trusted := map[string]ed25519.PublicKey{}
	if len(c.Pubkey) > 0 {
		for _, k := range c.Pubkey {
			pub, err := access.ParsePublicKey(k)
			if err != nil {
				return fmt.Errorf("--pubkey: %w", err)
			}
			trusted[access.KeyID(pub)] = pub
		}
	} else {
		trusted = access.TrustedKeys(d.Access.Signers)
	}
	var extra *rankr.AuditCheckpoint
	if c.Checkpoint != "" {
		cp, err := access.ParseCheckpointLine(c.Checkpoint)
		if err != nil {
			return fmt.Errorf("--checkpoint: %w", err)
		}
		extra = &cp
	}
	in, err := d.Store.Installation(ctx)
	if err != nil {
		return err
	}
	rep, err := access.Verify(ctx, d.Store, in.ID, trusted, extra)
	if err != nil {
		return err
	}
	fmt.Fprintln(g.stdout, rep)
	if !rep.OK() {
		return errors.New("the audit log does not verify")
	}
	if len(c.Pubkey) == 0 {
		fmt.Fprintf(g.stdout, "signing key %s, public key %s (verify without the master key: --pubkey)\n",
			access.Current(d.Access.Signers).KeyID(), access.Current(d.Access.Signers).PublicKey())
	}
	return nil
}

// AuditExportCmd exports the log.
type AuditExportCmd struct {
	Format string `help:"jsonl (records and checkpoints, one JSON object a line) or csv (records)." enum:"jsonl,csv" default:"jsonl"`
	Output string `help:"Write to this file (default: standard output)." short:"o" type:"path"`
	Since  string `help:"Only records since: a span back (30d) or a moment (2026-05-01)."`
}

// Run writes the export and records that it was made.
func (c *AuditExportCmd) Run(ctx context.Context, g *Globals) error {
	since, err := parseSince(c.Since, time.Now())
	if err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	d, err := openKeys(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	out := g.stdout
	if c.Output != "" {
		f, err := os.OpenFile(c.Output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	n, err := exportAudit(ctx, d.Store, out, c.Format, since)
	if err != nil {
		return err
	}
	err = d.Store.AuditAppend(ctx, rankr.AuditEntry{At: time.Now(), Actor: hostAuditActor(),
		Action: "audit.exported", Outcome: rankr.AuditSuccess, Target: rankr.AuditTarget{Type: "audit_log"},
		Changes: json.RawMessage(fmt.Sprintf(`{"format":%q,"records":%d}`, c.Format, n))})
	if err != nil {
		return err
	}
	if c.Output != "" {
		fmt.Fprintf(g.stderr, "wrote %d records to %s\n", n, c.Output)
	}
	return checkpointNow(ctx, d)
}

func exportAudit(ctx context.Context, st store.Store, w io.Writer, format string, since time.Time) (int, error) {
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(w)
		cw.Write([]string{"seq", "ts", "actor_type", "actor_id", "actor_role", "action", "outcome", "code", "count",
			"target_type", "target_id", "location_id", "ip", "peer_ip", "user_agent", "request_id", "changes", "hash"})
	}
	n := 0
	for after := int64(0); ; {
		recs, err := st.AuditList(ctx, store.AuditListParams{AfterSeq: after, Since: since, Limit: 1000})
		if err != nil {
			return n, err
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			n++
			hash := base64.StdEncoding.EncodeToString(r.Hash)
			if cw != nil {
				cw.Write([]string{strconv.FormatInt(r.Seq, 10), r.At.UTC().Format(time.RFC3339Nano), r.Actor.Type, r.Actor.ID,
					r.Actor.Role, r.Action, r.Outcome, r.Code, strconv.Itoa(max(r.Count, 1)), r.Target.Type, r.Target.ID,
					r.Target.LocationID, r.Request.IP, r.Request.PeerIP, r.Request.UA, r.Request.ID, string(r.Changes), hash})
				continue
			}
			line, _ := json.Marshal(map[string]any{"type": "record", "record": json.RawMessage(r.Body), "hash": hash})
			if _, err := fmt.Fprintf(w, "%s\n", line); err != nil {
				return n, err
			}
		}
		after = recs[len(recs)-1].Seq
	}
	if cw != nil {
		cw.Flush()
		return n, cw.Error()
	}
	cps, err := st.AuditCheckpoints(ctx)
	if err != nil {
		return n, err
	}
	for _, cp := range cps {
		line, _ := json.Marshal(map[string]any{"type": "checkpoint", "checkpoint": cp})
		if _, err := fmt.Fprintf(w, "%s\n", line); err != nil {
			return n, err
		}
	}
	return n, nil
}

// AuditCheckpointCmd signs and prints a checkpoint.
type AuditCheckpointCmd struct{}

// Run signs the head (when it moved) and prints the newest checkpoint.
func (c *AuditCheckpointCmd) Run(ctx context.Context, g *Globals) error {
	d, err := openKeys(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := checkpointNow(ctx, d); err != nil {
		return err
	}
	cps, err := d.Store.AuditCheckpoints(ctx)
	if err != nil {
		return err
	}
	if len(cps) == 0 {
		fmt.Fprintln(g.stdout, "The audit log is empty: nothing to sign yet.")
		return nil
	}
	fmt.Fprintln(g.stdout, access.FormatCheckpointLine(cps[len(cps)-1]))
	return nil
}

// AuditHashCmd prints a secret's HMAC as audit records hold it.
type AuditHashCmd struct {
	Value string `arg:"" help:"The secret (a key, a token): read from standard input when '-'."`
}

// Run prints the HMAC.
func (c *AuditHashCmd) Run(ctx context.Context, g *Globals) error {
	v := c.Value
	if v == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<16))
		if err != nil {
			return err
		}
		v = string(b)
		for len(v) > 0 && (v[len(v)-1] == '\n' || v[len(v)-1] == '\r') {
			v = v[:len(v)-1]
		}
	}
	d, err := openKeys(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	_, err = fmt.Fprintln(g.stdout, d.Access.Hasher.Secret(v))
	return err
}

// AuditRotateKeyCmd rotates the checkpoint signing key.
type AuditRotateKeyCmd struct{}

// Run makes the new key.
func (c *AuditRotateKeyCmd) Run(ctx context.Context, g *Globals) error {
	d, err := openKeys(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	id, err := access.RotateSigningKey(ctx, d.Store, d.Vault)
	if err != nil {
		return err
	}
	err = d.Store.AuditAppend(ctx, rankr.AuditEntry{At: time.Now(), Actor: hostAuditActor(),
		Action: "audit.signing_key_rotated", Outcome: rankr.AuditSuccess, Target: rankr.AuditTarget{Type: "audit_signing_key", ID: id}})
	if err != nil {
		return err
	}
	signers, err := access.SigningKeys(ctx, d.Store, d.Vault)
	if err != nil {
		return err
	}
	if _, _, err := access.Checkpoint(ctx, d.Store, access.Current(signers)); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Checkpoints are signed with key %s from now on (public key %s); restart rankr serve to use it.\n",
		id, access.Current(signers).PublicKey())
	return nil
}

// AuditPruneCmd prunes old records.
type AuditPruneCmd struct {
	Before string `help:"Delete records older than this span (at least 90d)." default:"365d"`
}

// Run prunes.
func (c *AuditPruneCmd) Run(ctx context.Context, g *Globals) error {
	span, err := parseSpan(c.Before)
	if err != nil {
		return fmt.Errorf("--before: %w", err)
	}
	if span < access.MinRetention {
		return fmt.Errorf("--before %s: audit records are kept 90 days at least", c.Before)
	}
	d, err := openKeys(ctx, g)
	if err != nil {
		return err
	}
	defer d.Close()
	n, err := access.Prune(ctx, d.Store, access.Current(d.Access.Signers), time.Now().Add(-span))
	if err != nil {
		return err
	}
	err = d.Store.AuditAppend(ctx, rankr.AuditEntry{At: time.Now(), Actor: hostAuditActor(),
		Action: "audit.pruned", Outcome: rankr.AuditSuccess, Target: rankr.AuditTarget{Type: "audit_log"},
		Changes: json.RawMessage(fmt.Sprintf(`{"records":%d,"before":%q}`, n, c.Before))})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Pruned %d records.\n", n)
	return checkpointNow(ctx, d)
}
