package catalog_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"
)

// invoiceBody is an invoice of two lines less a fixed 1.00: 250.00.
func invoiceBody(name, currency string) obj {
	today := time.Now().UTC().Format(time.DateOnly)
	due := time.Now().UTC().Add(14 * 24 * time.Hour).Format(time.DateOnly)
	return obj{
		"name": name, "currency": currency, "title": "INVOICE", "liveMode": true, "issueDate": today, "dueDate": due,
		"businessDetails": obj{"name": "Catalog Ltd", "website": "https://example.com"},
		"items": []any{
			obj{"name": "Consulting", "currency": currency, "amount": 120.5, "qty": 2},
			obj{"name": "Setup", "currency": currency, "amount": 10, "qty": 1},
		},
		"discount":       obj{"type": "fixed", "value": 1},
		"contactDetails": obj{"id": "catalogcontact000001", "name": "Casey Catalog", "email": "casey@example.com", "phoneNo": "+15550100"},
		"sentTo":         obj{"email": []any{"casey@example.com"}},
	}
}

// without returns a copy of m without keys.
func without(m obj, keys ...string) obj {
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// with returns a copy of m with kv set.
func with(m obj, kv ...any) obj {
	out := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// page is the paging GHL's invoices API requires, as the strings it takes.
var page = obj{"limit": "100", "offset": "0"}

func (b *ghlBed) invoiceSteps(t *testing.T) {
	currency := "USD"
	b.step(t, "ListInvoices", func(t *testing.T) {
		r := b.run(t, "ListInvoices", page)
		list := atList(t, r, "invoices")
		if len(list) == 0 {
			t.Fatal("no seeded invoices listed")
		}
		wantEq(t, "total", int(atNum(t, r, "total")), len(list))
		currency = atStr(t, r, "invoices.0.currency")
	})

	var seededID string
	b.step(t, "GetInvoice", func(t *testing.T) {
		r := b.run(t, "ListInvoices", with(page, "limit", "1"))
		seededID = atStr(t, r, "invoices.0._id")
		g := b.run(t, "GetInvoice", obj{"invoiceId": seededID})
		wantEq(t, "_id", atStr(t, g, "_id"), seededID)
		wantEq(t, "altId", atStr(t, g, "altId"), b.loc.ID)
	})

	b.step(t, "GetInvoiceSettings", func(t *testing.T) {
		s := b.run(t, "GetInvoiceSettings", obj{})
		wantEq(t, "altId", atStr(t, s, "altId"), b.loc.ID)
		if atStr(t, s, "businessDetails.name") == "" {
			t.Error("no business name")
		}
	})

	var next string
	b.step(t, "GenerateInvoiceNumber", func(t *testing.T) {
		r := b.run(t, "GenerateInvoiceNumber", obj{})
		next = fmt.Sprint(at(t, r, "invoiceNumber"))
		again := b.run(t, "GenerateInvoiceNumber", obj{})
		wantEq(t, "a second number (nothing is reserved)", fmt.Sprint(at(t, again, "invoiceNumber")), next)
	})

	var invID string
	b.step(t, "CreateInvoice", func(t *testing.T) {
		inv := b.run(t, "CreateInvoice", obj{"body": invoiceBody("Catalog invoice", currency)})
		wantEq(t, "status", atStr(t, inv, "status"), "draft")
		wantEq(t, "total", cents(atNum(t, inv, "total")), 25000)
		wantEq(t, "invoiceNumber", fmt.Sprint(at(t, inv, "invoiceNumber")), next)
		invID = atStr(t, inv, "_id")
		g := b.run(t, "GetInvoice", obj{"invoiceId": invID})
		wantEq(t, "the name read back", atStr(t, g, "name"), "Catalog invoice")
	})

	b.step(t, "UpdateInvoice", func(t *testing.T) {
		need(t, invID)
		body := invoiceBody("Catalog invoice (revised)", currency)
		items := body["items"].([]any)
		body = with(without(body, "items", "sentTo"), "invoiceItems", items[:1])
		r := b.run(t, "UpdateInvoice", obj{"invoiceId": invID, "body": body})
		wantEq(t, "total", cents(atNum(t, r, "total")), 24000)
		g := b.run(t, "GetInvoice", obj{"invoiceId": invID})
		wantEq(t, "the name read back", atStr(t, g, "name"), "Catalog invoice (revised)")
		wantEq(t, "the lines read back", len(atList(t, g, "invoiceItems")), 1)
	})

	b.step(t, "UpdateInvoiceLateFees", func(t *testing.T) {
		need(t, invID)
		cfg := obj{"enable": true, "value": 5, "type": "fixed", "frequency": obj{"intervalCount": 1, "interval": "week"}}
		b.run(t, "UpdateInvoiceLateFees", obj{"invoiceId": invID, "body": obj{"lateFeesConfiguration": cfg}})
		g := b.run(t, "GetInvoice", obj{"invoiceId": invID})
		wantEq(t, "lateFeesConfiguration.frequency.interval", atStr(t, g, "lateFeesConfiguration.frequency.interval"), "week")
		wantEq(t, "lateFeesConfiguration.value", atNum(t, g, "lateFeesConfiguration.value"), 5)
	})

	b.step(t, "UpdateInvoiceLastVisitedAt", func(t *testing.T) {
		need(t, invID)
		b.run(t, "UpdateInvoiceLastVisitedAt", obj{"body": obj{"invoiceId": invID}})
		// GHL's invoice answers do not show the visit; the sandbox keeps it.
		tr, err := b.sb.Truth(b.loc.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range tr.Locations[0].Invoices {
			if x.Invoice.ID == invID && x.LastVisitedAt.IsZero() {
				t.Error("the visit was not recorded")
			}
		}
	})

	b.step(t, "SendInvoice", func(t *testing.T) {
		need(t, invID)
		r := b.run(t, "SendInvoice", obj{"invoiceId": invID, "body": obj{"userId": "catalog-user", "action": "email", "liveMode": true}})
		wantEq(t, "status", atStr(t, r, "invoice.status"), "sent")
		sent := b.run(t, "ListInvoices", with(page, "status", "sent"))
		if !slices.Contains(ids(t, sent, "invoices"), invID) {
			t.Errorf("status=sent does not list invoice %s", invID)
		}
	})

	b.step(t, "RecordInvoicePayment", func(t *testing.T) {
		need(t, invID)
		pay := func(kv ...any) obj {
			return with(obj{"card": obj{"brand": "", "last4": ""}, "cheque": obj{"number": ""}, "notes": ""}, kv...)
		}
		r := b.run(t, "RecordInvoicePayment", obj{"invoiceId": invID, "body": pay("mode", "cash", "amount", 40, "notes", "deposit")})
		wantEq(t, "status", atStr(t, r, "invoice.status"), "partially_paid")
		wantEq(t, "amountDue", cents(atNum(t, r, "invoice.amountDue")), 20000)
		r = b.run(t, "RecordInvoicePayment", obj{"invoiceId": invID, "body": pay("mode", "card", "card", obj{"brand": "visa", "last4": "4242"})})
		wantEq(t, "status", atStr(t, r, "invoice.status"), "paid")
		g := b.run(t, "GetInvoice", obj{"invoiceId": invID})
		wantEq(t, "amountPaid read back", cents(atNum(t, g, "amountPaid")), 24000)
		txns := b.run(t, "ListTransactions", obj{"entityId": invID, "limit": 100})
		wantEq(t, "the invoice's transactions", len(atList(t, txns, "data")), 2)
	})

	var t2pID string
	b.step(t, "Text2PayInvoice", func(t *testing.T) {
		r := b.run(t, "Text2PayInvoice", obj{"body": with(invoiceBody("Catalog text2pay", currency), "action", "send", "userId", "catalog-user")})
		wantEq(t, "status", atStr(t, r, "invoice.status"), "sent")
		t2pID = atStr(t, r, "invoice._id")
		g := b.run(t, "GetInvoice", obj{"invoiceId": t2pID})
		wantEq(t, "status read back", atStr(t, g, "status"), "sent")
	})

	b.step(t, "VoidInvoice", func(t *testing.T) {
		need(t, t2pID)
		r := b.run(t, "VoidInvoice", obj{"invoiceId": t2pID, "body": obj{}})
		wantEq(t, "status", atStr(t, r, "status"), "void")
		g := b.run(t, "GetInvoice", obj{"invoiceId": t2pID})
		wantEq(t, "status read back", atStr(t, g, "status"), "void")
	})

	b.step(t, "DeleteInvoice", func(t *testing.T) {
		need(t, t2pID)
		r := b.run(t, "DeleteInvoice", obj{"invoiceId": t2pID})
		wantEq(t, "_id", atStr(t, r, "_id"), t2pID)
		b.notFound(t, "GetInvoice", obj{"invoiceId": t2pID})
	})

	b.scheduleSteps(t, currency)
	b.invoiceTemplateSteps(t, currency)
	b.estimateSteps(t, currency)
	b.estimateTemplateSteps(t, currency)
}

// scheduleSteps: a recurring invoice from draft to active (issuing the
// invoices due), cancelled, deleted.
func (b *ghlBed) scheduleSteps(t *testing.T, currency string) {
	// Started 40 days ago, whatever the months' lengths: the first
	// invoice and the next month's are due now, the third is not.
	start := time.Now().UTC().AddDate(0, 0, -40).Format(time.DateOnly)
	body := func(name string) obj {
		inv := without(invoiceBody(name, currency), "issueDate", "dueDate", "sentTo")
		inv["items"] = inv["items"].([]any)[:1]
		inv["schedule"] = obj{"rrule": obj{"intervalType": "monthly", "interval": 1, "startDate": start, "startTime": "00:00:00", "count": 6}}
		return inv
	}
	var id string
	b.step(t, "CreateInvoiceSchedule", func(t *testing.T) {
		s := b.run(t, "CreateInvoiceSchedule", obj{"body": body("Catalog retainer")})
		wantEq(t, "status", atStr(t, s, "status"), "draft")
		wantEq(t, "invoices", len(atList(t, s, "invoices")), 0)
		wantEq(t, "total", cents(atNum(t, s, "total")), 24000)
		id = atStr(t, s, "_id")
	})

	b.step(t, "UpdateInvoiceSchedule", func(t *testing.T) {
		need(t, id)
		b.run(t, "UpdateInvoiceSchedule", obj{"scheduleId": id, "body": body("Catalog retainer (revised)")})
		g := b.run(t, "GetInvoiceSchedule", obj{"scheduleId": id})
		wantEq(t, "the name read back", atStr(t, g, "name"), "Catalog retainer (revised)")
	})

	b.step(t, "GetInvoiceSchedule", func(t *testing.T) {
		need(t, id)
		g := b.run(t, "GetInvoiceSchedule", obj{"scheduleId": id})
		wantEq(t, "_id", atStr(t, g, "_id"), id)
		wantEq(t, "intervalType", atStr(t, g, "schedule.rrule.intervalType"), "monthly")
	})

	b.step(t, "SetInvoiceScheduleAutoPayment", func(t *testing.T) {
		need(t, id)
		ap := obj{"enable": true, "type": "card", "customerId": "cus_catalog", "card": obj{"brand": "visa", "last4": "4242"}}
		b.run(t, "SetInvoiceScheduleAutoPayment", obj{"scheduleId": id, "body": obj{"id": id, "autoPayment": ap}})
		g := b.run(t, "GetInvoiceSchedule", obj{"scheduleId": id})
		wantEq(t, "autoPayment.enable read back", at(t, g, "autoPayment.enable"), any(true))
		wantEq(t, "autoPayment.customerId read back", atStr(t, g, "autoPayment.customerId"), "cus_catalog")
	})

	b.step(t, "ScheduleInvoiceSchedule", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "ScheduleInvoiceSchedule", obj{"scheduleId": id, "body": obj{"liveMode": true}})
		wantEq(t, "status", atStr(t, r, "status"), "active")
		// Two invoices are due, paid by the card.
		wantEq(t, "invoices issued", len(atList(t, r, "invoices")), 2)
		for i := range atList(t, r, "invoices") {
			wantEq(t, "an issued invoice's status", atStr(t, r, fmt.Sprintf("invoices.%d.status", i)), "paid")
		}
	})

	b.step(t, "UpdateAndScheduleInvoiceSchedule", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "UpdateAndScheduleInvoiceSchedule", obj{"scheduleId": id})
		wantEq(t, "status", atStr(t, r, "status"), "active")
		wantEq(t, "invoices (none issued twice)", len(atList(t, r, "invoices")), 2)
	})

	b.step(t, "ListInvoiceSchedules", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "ListInvoiceSchedules", with(page, "status", "active"))
		if !slices.Contains(ids(t, r, "schedules"), id) {
			t.Errorf("status=active does not list schedule %s", id)
		}
	})

	b.step(t, "CancelInvoiceSchedule", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "CancelInvoiceSchedule", obj{"scheduleId": id, "body": obj{}})
		wantEq(t, "status", atStr(t, r, "status"), "cancelled")
		g := b.run(t, "GetInvoiceSchedule", obj{"scheduleId": id})
		wantEq(t, "status read back", atStr(t, g, "status"), "cancelled")
	})

	b.step(t, "DeleteInvoiceSchedule", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "DeleteInvoiceSchedule", obj{"scheduleId": id})
		wantEq(t, "success", at(t, r, "success"), any(true))
		b.notFound(t, "GetInvoiceSchedule", obj{"scheduleId": id})
	})
}

func (b *ghlBed) invoiceTemplateSteps(t *testing.T, currency string) {
	inv := without(invoiceBody("Catalog template", currency), "issueDate", "dueDate", "sentTo", "contactDetails", "liveMode")
	var id string
	b.step(t, "CreateInvoiceTemplate", func(t *testing.T) {
		tpl := b.run(t, "CreateInvoiceTemplate", obj{"body": with(inv, "invoiceNumberPrefix", "TPL-")})
		wantEq(t, "total", cents(atNum(t, tpl, "total")), 25000)
		wantEq(t, "invoiceNumberPrefix", atStr(t, tpl, "invoiceNumberPrefix"), "TPL-")
		id = atStr(t, tpl, "_id")
	})

	b.step(t, "UpdateInvoiceTemplate", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "UpdateInvoiceTemplate", obj{"templateId": id, "body": with(inv, "name", "Catalog template (revised)", "items", inv["items"].([]any)[:1])})
		wantEq(t, "total", cents(atNum(t, r, "total")), 24000)
		g := b.run(t, "GetInvoiceTemplate", obj{"templateId": id})
		wantEq(t, "the name read back", atStr(t, g, "name"), "Catalog template (revised)")
	})

	b.step(t, "UpdateInvoiceTemplateLateFees", func(t *testing.T) {
		need(t, id)
		cfg := obj{"enable": true, "value": 2, "type": "percentage", "frequency": obj{"intervalCount": 1, "interval": "month"},
			"grace": obj{"intervalCount": 3, "interval": "day"}}
		b.run(t, "UpdateInvoiceTemplateLateFees", obj{"templateId": id, "body": obj{"lateFeesConfiguration": cfg}})
		g := b.run(t, "GetInvoiceTemplate", obj{"templateId": id})
		wantEq(t, "lateFeesConfiguration.type read back", atStr(t, g, "lateFeesConfiguration.type"), "percentage")
	})

	b.step(t, "UpdateInvoiceTemplatePaymentMethods", func(t *testing.T) {
		need(t, id)
		b.run(t, "UpdateInvoiceTemplatePaymentMethods", obj{"templateId": id, "body": obj{"paymentMethods": obj{"stripe": obj{"enableBankDebitOnly": true}}}})
		g := b.run(t, "GetInvoiceTemplate", obj{"templateId": id})
		wantEq(t, "paymentMethods read back", at(t, g, "paymentMethods.stripe.enableBankDebitOnly"), any(true))
	})

	b.step(t, "GetInvoiceTemplate", func(t *testing.T) {
		need(t, id)
		g := b.run(t, "GetInvoiceTemplate", obj{"templateId": id})
		wantEq(t, "_id", atStr(t, g, "_id"), id)
		wantEq(t, "altId", atStr(t, g, "altId"), b.loc.ID)
	})

	b.step(t, "ListInvoiceTemplates", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "ListInvoiceTemplates", page)
		if !slices.Contains(ids(t, r, "data"), id) {
			t.Errorf("template %s is not listed", id)
		}
		wantEq(t, "totalCount", int(atNum(t, r, "totalCount")), len(atList(t, r, "data")))
	})

	b.step(t, "DeleteInvoiceTemplate", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "DeleteInvoiceTemplate", obj{"templateId": id})
		wantEq(t, "success", at(t, r, "success"), any(true))
		b.notFound(t, "GetInvoiceTemplate", obj{"templateId": id})
	})
}

// estimateSteps: draft → sent → invoiced; another one deleted.
func (b *ghlBed) estimateSteps(t *testing.T, currency string) {
	inv := invoiceBody("Catalog estimate", currency)
	expiry := inv["dueDate"]
	inv = without(inv, "dueDate")
	body := func(name string) obj {
		return with(inv, "name", name, "expiryDate", expiry, "estimateNumberPrefix", "EST-",
			"frequencySettings", obj{"enabled": false, "schedule": obj{}})
	}

	var next string
	b.step(t, "GenerateEstimateNumber", func(t *testing.T) {
		r := b.run(t, "GenerateEstimateNumber", obj{})
		next = fmt.Sprint(at(t, r, "estimateNumber"))
		if _, err := strconv.Atoi(next); err != nil {
			t.Errorf("estimateNumber %q", next)
		}
	})

	var id string
	b.step(t, "CreateEstimate", func(t *testing.T) {
		e := b.run(t, "CreateEstimate", obj{"body": body("Catalog estimate")})
		wantEq(t, "estimateStatus", atStr(t, e, "estimateStatus"), "draft")
		wantEq(t, "estimateNumber", fmt.Sprint(at(t, e, "estimateNumber")), next)
		wantEq(t, "total", cents(atNum(t, e, "total")), 25000)
		id = atStr(t, e, "_id")
		l := b.run(t, "ListEstimates", with(page, "status", "draft"))
		if !slices.Contains(ids(t, l, "estimates"), id) {
			t.Errorf("status=draft does not list estimate %s", id)
		}
	})

	b.step(t, "UpdateEstimate", func(t *testing.T) {
		need(t, id)
		bd := body("Catalog estimate (revised)")
		r := b.run(t, "UpdateEstimate", obj{"estimateId": id, "body": with(bd, "items", bd["items"].([]any)[:1])})
		wantEq(t, "total", cents(atNum(t, r, "total")), 24000)
		wantEq(t, "__v", atNum(t, r, "__v"), 1)
	})

	b.step(t, "SendEstimate", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "SendEstimate", obj{"estimateId": id, "body": obj{"action": "email", "liveMode": true, "userId": "catalog-user"}})
		wantEq(t, "estimateStatus", atStr(t, r, "estimateStatus"), "sent")
	})

	b.step(t, "ListEstimates", func(t *testing.T) {
		need(t, id)
		sent := b.run(t, "ListEstimates", with(page, "status", "sent"))
		if !slices.Contains(ids(t, sent, "estimates"), id) {
			t.Errorf("status=sent does not list estimate %s", id)
		}
		drafts := b.run(t, "ListEstimates", with(page, "status", "draft"))
		if slices.Contains(ids(t, drafts, "estimates"), id) {
			t.Errorf("status=draft still lists the sent estimate %s", id)
		}
	})

	b.step(t, "UpdateEstimateLastVisitedAt", func(t *testing.T) {
		need(t, id)
		lastVisit := func() time.Time {
			tr, err := b.sb.Truth(b.loc.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tr.Locations[0].Estimates {
				if e.ID == id {
					return e.LastVisitedAt.Time
				}
			}
			t.Fatalf("estimate %s is not in the truth", id)
			return time.Time{}
		}
		before := lastVisit()
		b.run(t, "UpdateEstimateLastVisitedAt", obj{"body": obj{"estimateId": id}})
		if after := lastVisit(); !after.After(before) {
			t.Errorf("lastVisitedAt %v -> %v", before, after)
		}
	})

	b.step(t, "CreateInvoiceFromEstimate", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "CreateInvoiceFromEstimate", obj{"estimateId": id, "body": obj{"markAsInvoiced": true, "version": "v2"}})
		wantEq(t, "estimateStatus", atStr(t, r, "estimate.estimateStatus"), "invoiced")
		wantEq(t, "the invoice's total", cents(atNum(t, r, "invoice.total")), 24000)
		g := b.run(t, "GetInvoice", obj{"invoiceId": atStr(t, r, "invoice._id")})
		wantEq(t, "the invoice's status read back", atStr(t, g, "status"), "draft")
	})

	b.step(t, "DeleteEstimate", func(t *testing.T) {
		gone := b.run(t, "CreateEstimate", obj{"body": body("Catalog estimate (to delete)")})
		goneID := atStr(t, gone, "_id")
		r := b.run(t, "DeleteEstimate", obj{"estimateId": goneID, "body": obj{}})
		wantEq(t, "deleted", at(t, r, "deleted"), any(true))
		all := b.run(t, "ListEstimates", with(page, "status", "all"))
		if slices.Contains(ids(t, all, "estimates"), goneID) {
			t.Errorf("the deleted estimate %s is still listed", goneID)
		}
		b.notFound(t, "DeleteEstimate", obj{"estimateId": goneID, "body": obj{}})
	})
}

func (b *ghlBed) estimateTemplateSteps(t *testing.T, currency string) {
	inv := without(invoiceBody("Catalog estimate template", currency), "issueDate", "dueDate", "sentTo", "contactDetails")
	body := func(name string) obj {
		return with(inv, "name", name, "title", "ESTIMATE", "estimateNumberPrefix", "EQ-", "meta", obj{"source": "catalog"})
	}
	var id string
	b.step(t, "CreateEstimateTemplate", func(t *testing.T) {
		tpl := b.run(t, "CreateEstimateTemplate", obj{"body": body("Catalog estimate template")})
		wantEq(t, "total", cents(atNum(t, tpl, "total")), 25000)
		wantEq(t, "estimateNumberPrefix", atStr(t, tpl, "estimateNumberPrefix"), "EQ-")
		id = atStr(t, tpl, "_id")
	})

	b.step(t, "PreviewEstimateTemplate", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "PreviewEstimateTemplate", obj{"templateId": id})
		wantEq(t, "_id", atStr(t, r, "_id"), id)
		wantEq(t, "name", atStr(t, r, "name"), "Catalog estimate template")
	})

	b.step(t, "UpdateEstimateTemplate", func(t *testing.T) {
		need(t, id)
		bd := body("Catalog estimate template (revised)")
		r := b.run(t, "UpdateEstimateTemplate", obj{"templateId": id, "body": with(bd, "items", bd["items"].([]any)[:1])})
		wantEq(t, "total", cents(atNum(t, r, "total")), 24000)
		p := b.run(t, "PreviewEstimateTemplate", obj{"templateId": id})
		wantEq(t, "the name read back", atStr(t, p, "name"), "Catalog estimate template (revised)")
	})

	b.step(t, "ListEstimateTemplates", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "ListEstimateTemplates", page)
		if !slices.Contains(ids(t, r, "data"), id) {
			t.Errorf("estimate template %s is not listed", id)
		}
		wantEq(t, "totalCount", int(atNum(t, r, "totalCount")), len(atList(t, r, "data")))
	})

	b.step(t, "DeleteEstimateTemplate", func(t *testing.T) {
		need(t, id)
		r := b.run(t, "DeleteEstimateTemplate", obj{"templateId": id, "body": obj{}})
		wantEq(t, "deleted", at(t, r, "deleted"), any(true))
		b.notFound(t, "PreviewEstimateTemplate", obj{"templateId": id})
	})
}
