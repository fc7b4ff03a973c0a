package sandbox_test

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rankr/rankr/ghl"
	"github.com/rankr/rankr/ghl/sandbox"
)

// TestInvoiceWritesSendSignedWebhooks drives invoices through the API and
// checks that each change reaches the app as GHL's signed Invoice* event.
func TestInvoiceWritesSendSignedWebhooks(t *testing.T) {
	t.Parallel()
	rec, url := newReceiver(t)
	sb := newSandbox(t, sandbox.Config{Seed: 11, Orders: 12, WebhookURL: url, WebhookWorkers: 1})
	loc := sb.Locations()[0]
	c := ghl.NewClient(ghl.StaticToken(loc.Token), ghl.WithBaseURL(serve(t, sb)), ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 1}))
	ctx := t.Context()
	truth, err := sb.Truth(loc.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := invoiceParams(loc.ID, truth.Locations[0].Invoices[0].Invoice.Currency)

	inv := oaMust(c.CreateInvoice(ctx, p))(t)
	p.Items = p.Items[:1]
	oaMust(c.UpdateInvoice(ctx, inv.ID, p))(t)
	oaMust(c.SendInvoice(ctx, loc.ID, inv.ID, ghl.SendInvoiceParams{UserID: "u1", Action: ghl.SendByEmail, LiveMode: true}))(t)
	oaMust(c.RecordInvoicePayment(ctx, loc.ID, inv.ID, ghl.RecordInvoicePaymentParams{Mode: ghl.PayCash, Amount: ghl.NumberFromInt(1)}))(t)
	oaMust(c.RecordInvoicePayment(ctx, loc.ID, inv.ID, ghl.RecordInvoicePaymentParams{Mode: ghl.PayCash}))(t)
	other := oaMust(c.CreateInvoice(ctx, p))(t)
	oaMust(c.VoidInvoice(ctx, loc.ID, other.ID))(t)
	if err := c.DeleteInvoice(ctx, loc.ID, other.ID); err != nil {
		t.Fatal(err)
	}

	want := []struct {
		typ string
		id  string
	}{
		{ghl.EventInvoiceCreate, inv.ID}, {ghl.EventInvoiceUpdate, inv.ID}, {ghl.EventInvoiceSent, inv.ID},
		{ghl.EventInvoicePartiallyPaid, inv.ID}, {ghl.EventInvoicePaid, inv.ID},
		{ghl.EventInvoiceCreate, other.ID}, {ghl.EventInvoiceVoid, other.ID}, {ghl.EventInvoiceDelete, other.ID},
	}
	rec.wait(t, len(want))
	bodies, sigs := rec.snapshot()
	der, err := base64.StdEncoding.DecodeString(sb.WebhookPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		sig, _ := base64.StdEncoding.DecodeString(sigs[i])
		if !ed25519.Verify(pub.(ed25519.PublicKey), bodies[i], sig) {
			t.Errorf("webhook %d (%s): the signature does not verify", i, w.typ)
		}
		ev, err := ghl.ParseWebhookEvent(bodies[i])
		if err != nil {
			t.Fatal(err)
		}
		got, err := ev.Invoice()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != w.typ || got.ID != w.id {
			t.Errorf("webhook %d: %s for %s, want %s for %s", i, ev.Type, got.ID, w.typ, w.id)
		}
	}
	if len(bodies) > len(want) {
		t.Errorf("%d webhooks, want %d", len(bodies), len(want))
	}
}

// TestInvoiceScopesAreEnforced checks each family's scope: a token with the
// invoice scopes only cannot touch schedules, templates or estimates.
func TestInvoiceScopesAreEnforced(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t, sandbox.Config{Seed: 12, Orders: 12})
	loc := sb.Locations()[0]
	if err := sb.AddToken(loc.ID, "invoices-only", ghl.ScopeInvoicesRead, ghl.ScopeInvoicesWrite); err != nil {
		t.Fatal(err)
	}
	c := ghl.NewClient(ghl.StaticToken("invoices-only"), ghl.WithBaseURL(serve(t, sb)), ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 1}))
	ctx := t.Context()
	if _, err := c.GetInvoiceSettings(ctx, loc.ID); err != nil {
		t.Errorf("GetInvoiceSettings with invoices.readonly: %v", err)
	}
	for name, call := range map[string]func() error{
		"ListInvoiceSchedules": func() error {
			_, err := c.ListInvoiceSchedules(ctx, ghl.ListInvoiceSchedulesParams{LocationID: loc.ID})
			return err
		},
		"ListInvoiceTemplates": func() error {
			_, err := c.ListInvoiceTemplates(ctx, ghl.ListInvoiceTemplatesParams{LocationID: loc.ID})
			return err
		},
		"ListEstimates": func() error {
			_, err := c.ListEstimates(ctx, ghl.ListEstimatesParams{LocationID: loc.ID})
			return err
		},
		"GenerateEstimateNumber": func() error {
			_, err := c.GenerateEstimateNumber(ctx, loc.ID)
			return err
		},
	} {
		if err := call(); !errors.Is(err, ghl.ErrMissingScope) {
			t.Errorf("%s without its scope: %v, want a missing scope", name, err)
		}
	}
	// Every invoices-API scope is one ghl.Scopes() lists.
	for _, sc := range []string{ghl.ScopeInvoiceSchedulesRead, ghl.ScopeInvoiceSchedulesWrite, ghl.ScopeInvoiceTemplatesRead,
		ghl.ScopeInvoiceTemplatesWrite, ghl.ScopeEstimatesRead, ghl.ScopeEstimatesWrite} {
		if !slices.Contains(ghl.Scopes(), sc) {
			t.Errorf("ghl.Scopes() lacks %s", sc)
		}
	}
}

// TestScheduledInvoicesAreConsistent checks that a schedule's issued
// invoices are ordinary invoices: listed, numbered in sequence, and paid
// ones with their transactions.
func TestScheduledInvoicesAreConsistent(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t, sandbox.Config{Seed: 13, Orders: 12})
	loc := sb.Locations()[0]
	c := ghl.NewClient(ghl.StaticToken(loc.Token), ghl.WithBaseURL(serve(t, sb)), ghl.WithRetryPolicy(ghl.RetryPolicy{MaxAttempts: 1}))
	ctx := t.Context()
	next := oaMust(c.GenerateInvoiceNumber(ctx, loc.ID))(t)
	truth, err := sb.Truth(loc.ID)
	if err != nil {
		t.Fatal(err)
	}
	inv := invoiceParams(loc.ID, truth.Locations[0].Invoices[0].Invoice.Currency)
	sc := oaMust(c.CreateInvoiceSchedule(ctx, ghl.InvoiceScheduleParams{LocationID: loc.ID, Name: "Weekly", Contact: inv.Contact,
		LiveMode: true, Business: inv.Business, Currency: inv.Currency, Items: inv.Items,
		Schedule: ghl.Schedule{RRule: &ghl.RRule{IntervalType: "weekly", Interval: 1,
			StartDate: time.Now().UTC().AddDate(0, 0, -15).Format(ghl.DateLayout), Count: 3}}}))(t)
	oaMust(c.SetInvoiceScheduleAutoPayment(ctx, loc.ID, sc.ID, ghl.AutoPayment{Enable: true}))(t)
	done := oaMust(c.ScheduleInvoiceSchedule(ctx, loc.ID, sc.ID, true, nil))(t)
	// Three weeks' worth, all due: the rule's count is used up.
	if done.Status != ghl.ScheduleCompleted || len(done.Invoices) != 3 {
		t.Fatalf("schedule: status %q with %d invoices, want completed with 3", done.Status, len(done.Invoices))
	}
	if done.Invoices[0].InvoiceNumber != next {
		t.Errorf("first scheduled invoice number %s, want %s", done.Invoices[0].InvoiceNumber, next)
	}
	for _, x := range done.Invoices {
		got := oaMust(c.GetInvoice(ctx, loc.ID, x.ID))(t)
		txns := oaMust(c.ListTransactions(ctx, ghl.ListTransactionsParams{LocationID: loc.ID, EntityID: x.ID}))(t)
		if got.Status != ghl.InvoicePaid || len(txns.Items) != 1 || txns.Items[0].Amount != got.Total {
			t.Errorf("invoice %s: %s with %d transactions, want paid with one of %s", x.ID, got.Status, len(txns.Items), got.Total)
		}
	}
	if _, err := c.CancelInvoiceSchedule(ctx, loc.ID, sc.ID); err == nil {
		t.Error("cancelling a completed schedule succeeded")
	}
}
