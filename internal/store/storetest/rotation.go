package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rankr/rankr/internal/rankr"
	"github.com/rankr/rankr/internal/store"
)

func endpointAudit(action, id string) *rankr.AuditEntry {
	e := entry(action)
	e.Target = rankr.AuditTarget{Type: "webhook_endpoint", ID: id}
	return &e
}

// badAudit cannot be written (no actor, no outcome): a change carrying it
// must not happen.
var badAudit = &rankr.AuditEntry{Action: "webhook_endpoint.x"}

func auditActions(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	recs, err := s.AuditList(ctx, store.AuditListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if strings.HasPrefix(r.Action, prefix) {
			out = append(out, r.Action)
		}
	}
	return out
}

// A rotation moves the secret to previous_secret for the grace, by the
// database's clock, then the endpoint reads as having one secret again; a
// rotation without grace drops the old one at once. The claim reads the
// endpoint's secrets with the delivery. A rotation whose audit record
// cannot be written does not happen.
func testWebhookSecretRotation(t *testing.T, s store.Store) {
	addEndpoint(t, s, "e1", "", "*")
	rotate := func(secret string, grace time.Duration, audit *rankr.AuditEntry) (rankr.WebhookEndpoint, error) {
		return s.WebhookEndpointRotateSecret(ctx, store.WebhookEndpointRotateParams{ID: "e1", Secret: []byte(secret),
			Grace: grace, Audit: audit})
	}
	if _, err := rotate("sealed-bad", time.Hour, badAudit); err == nil {
		t.Fatal("a rotation went through without its audit record")
	}
	if e, _ := s.WebhookEndpointGet(ctx, "e1"); string(e.Secret) != "sealed-e1" || e.PreviousSecret != nil {
		t.Fatalf("the failed rotation left %q / %q", e.Secret, e.PreviousSecret)
	}
	dbNow, err := s.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, err := rotate("sealed-two", time.Hour, endpointAudit("webhook_endpoint.secret_rotated", "e1"))
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Secret) != "sealed-two" || string(e.PreviousSecret) != "sealed-e1" ||
		e.PreviousUntil.Sub(dbNow) < time.Hour-5*time.Second || e.PreviousUntil.Sub(dbNow) > time.Hour+5*time.Second {
		t.Fatalf("after a rotation with an hour's grace: %q, %q until %v (db now %v)", e.Secret, e.PreviousSecret, e.PreviousUntil, dbNow)
	}
	if got := auditActions(t, s, "webhook_endpoint."); len(got) != 1 || got[0] != "webhook_endpoint.secret_rotated" {
		t.Fatalf("audit %v", got)
	}
	// The claim carries both secrets while the grace lasts.
	upsertOrders(t, s, "L", false, order("L", "o1", at(1), "pending"))
	fanOutAll(t, s, 100)
	claimed, err := s.WebhookDeliveryClaim(ctx, store.WebhookDeliveryClaimParams{Limit: 10, Lease: time.Minute})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	if c := claimed[0].Endpoint; c.ID != "e1" || string(c.Secret) != "sealed-two" || string(c.PreviousSecret) != "sealed-e1" {
		t.Fatalf("the claim read the endpoint as %+v", c)
	}

	// A short grace runs out by the database's clock.
	e, err = rotate("sealed-three", 200*time.Millisecond, nil)
	if err != nil || string(e.PreviousSecret) != "sealed-two" {
		t.Fatalf("%q, %v", e.PreviousSecret, err)
	}
	eventually(t, "the grace to end", func() bool {
		e, err = s.WebhookEndpointGet(ctx, "e1")
		return err == nil && e.PreviousSecret == nil
	})
	if string(e.Secret) != "sealed-three" || !e.PreviousUntil.IsZero() {
		t.Fatalf("after the grace: %q until %v", e.Secret, e.PreviousUntil)
	}
	if e, err = rotate("sealed-four", 0, nil); err != nil || e.PreviousSecret != nil || string(e.Secret) != "sealed-four" {
		t.Fatalf("no grace: %q / %q, %v", e.Secret, e.PreviousSecret, err)
	}
	list, _ := s.WebhookEndpointList(ctx, store.WebhookEndpointListParams{})
	if len(list) != 1 || !bytes.Equal(list[0].Secret, []byte("sealed-four")) {
		t.Fatalf("list %+v", list)
	}

	if _, err := s.WebhookEndpointRotateSecret(ctx, store.WebhookEndpointRotateParams{ID: "nope", Secret: []byte("x")}); !errors.Is(err, rankr.ErrNotFound) {
		t.Errorf("unknown endpoint: %v", err)
	}
	if _, err := s.WebhookEndpointRotateSecret(ctx, store.WebhookEndpointRotateParams{ID: "e1", Secret: []byte("x"), Grace: -time.Second}); !errors.Is(err, rankr.ErrInvalid) {
		t.Errorf("negative grace: %v", err)
	}
	if _, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "e1", Remove: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := rotate("sealed-five", 0, nil); !errors.Is(err, rankr.ErrConflict) {
		t.Errorf("a removed endpoint: %v", err)
	}
}

// Adding, enabling, disabling, removing an endpoint and replaying its
// deliveries write their audit records in the change's transaction: a
// record that cannot be written undoes the change.
func testWebhookEndpointAudit(t *testing.T, s store.Store) {
	create := func(id string, audit *rankr.AuditEntry) error {
		_, err := s.WebhookEndpointCreate(ctx, store.WebhookEndpointCreateParams{ID: id, URL: "https://hooks.example/" + id,
			Secret: []byte("sealed-" + id), Events: []string{"*"}, Audit: audit})
		return err
	}
	if err := create("e0", badAudit); err == nil {
		t.Fatal("an endpoint was added without its audit record")
	}
	if _, err := s.WebhookEndpointGet(ctx, "e0"); !errors.Is(err, rankr.ErrNotFound) {
		t.Fatalf("the endpoint stayed: %v", err)
	}
	if err := create("e1", endpointAudit("webhook_endpoint.created", "e1")); err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "e1", Enabled: &off, Audit: badAudit}); err == nil {
		t.Fatal("disabled without its audit record")
	}
	if e, _ := s.WebhookEndpointGet(ctx, "e1"); !e.Enabled {
		t.Fatal("the endpoint was disabled although its audit record was not written")
	}
	if _, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "e1", Enabled: &off,
		Audit: endpointAudit("webhook_endpoint.disabled", "e1")}); err != nil {
		t.Fatal(err)
	}
	on := true
	if _, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "e1", Enabled: &on,
		Audit: endpointAudit("webhook_endpoint.enabled", "e1")}); err != nil {
		t.Fatal(err)
	}

	// A dead delivery, replayed: the record says how many.
	upsertOrders(t, s, "L", false, order("L", "o1", at(1), "pending"))
	fanOutAll(t, s, 100)
	claimed, err := s.WebhookDeliveryClaim(ctx, store.WebhookDeliveryClaimParams{Limit: 10, Lease: time.Minute})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	if err := s.WebhookDeliveryFinish(ctx, store.WebhookDeliveryFinishParams{ID: claimed[0].Delivery.ID, Claim: claimed[0].Delivery.Claim,
		State: rankr.DeliveryDead, Error: "gone"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.WebhookDeliveryReplay(ctx, store.WebhookDeliveryReplayParams{EndpointID: "e1", Audit: badAudit}); err == nil || n != 0 {
		t.Fatalf("replayed %d without its audit record (%v)", n, err)
	}
	if d, _ := s.WebhookDeliveryGet(ctx, claimed[0].Delivery.ID); d.State != rankr.DeliveryDead {
		t.Fatalf("the delivery is %s although the replay's audit record was not written", d.State)
	}
	replay := endpointAudit("webhook_delivery.replayed", "e1")
	replay.Changes = json.RawMessage(`{"endpointId":"e1"}`)
	if n, err := s.WebhookDeliveryReplay(ctx, store.WebhookDeliveryReplayParams{EndpointID: "e1", Audit: replay}); err != nil || n != 1 {
		t.Fatalf("replayed %d, %v", n, err)
	}
	if _, err := s.WebhookEndpointUpdate(ctx, store.WebhookEndpointUpdateParams{ID: "e1", Remove: true,
		Audit: endpointAudit("webhook_endpoint.removed", "e1")}); err != nil {
		t.Fatal(err)
	}
	got := auditActions(t, s, "webhook_")
	want := []string{"webhook_endpoint.created", "webhook_endpoint.disabled", "webhook_endpoint.enabled",
		"webhook_delivery.replayed", "webhook_endpoint.removed"}
	if len(got) != len(want) {
		t.Fatalf("audit %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("audit %v, want %v", got, want)
		}
	}
	recs, _ := s.AuditList(ctx, store.AuditListParams{Action: "webhook_delivery.replayed"})
	var changes map[string]any
	if len(recs) != 1 || json.Unmarshal(recs[0].Changes, &changes) != nil || changes["replayed"] != float64(1) || changes["endpointId"] != "e1" {
		t.Fatalf("the replay's record: %+v", recs)
	}
}
