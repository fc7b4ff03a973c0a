package app

import (
	"time"

	"github.com/rankr/rankr/internal/rankr"
)

// samples are the records the catalog's samples show: one of each kind,
// related as real ones are (the payment is the order's, the fulfillment
// ships its item), so that a sample reads like what a run answers.
type samples struct {
	order        Order
	fulfillment  Fulfillment
	transaction  Transaction
	subscription Subscription
	invoice      Invoice
	push         rankr.FulfillmentPush
	notice       rankr.Notice
	exception    Exception
	at           time.Time
}

func sampleRecords() samples {
	const loc, contact = "ve9EPM428h8vShlRW1KT", "9NkT25Vor1v4aQatFsv2"
	at := time.Date(2026, 11, 2, 14, 30, 0, 0, time.UTC)
	usd := func(minor int64) Money { return Money{Minor: minor, Currency: "USD"} }
	s := samples{at: at}
	s.order = Order{ID: "6578278e879ad2646715ba9c", LocationID: loc, ContactID: contact, ContactName: "Ada Lovelace",
		ContactEmail: "ada@example.com", Amount: usd(4900), Currency: "USD", Status: "completed", FulfillmentStatus: "unfulfilled",
		PaymentStatus: "paid", RankrStatus: rankr.StatusPaid, LiveMode: true, Source: rankr.Source{Type: "funnel", Name: "Spring sale"},
		CreatedAt: at, UpdatedAt: at.Add(time.Minute),
		Items: []OrderItem{{ID: "6578278e879ad2646715ba9d", Name: "Field notebook", Qty: 1, PriceID: "6578278e879ad2646715ba9e",
			ProductID: "6578278e879ad2646715ba9f", ProductType: "PHYSICAL", UnitAmount: usd(4900)}}}
	s.transaction = Transaction{ID: "6578278e879ad2646715baa0", LocationID: loc, EntityType: "order", EntityID: s.order.ID,
		OrderID: s.order.ID, ContactID: contact, Amount: usd(4900), AmountRefunded: usd(0), Currency: "USD", Status: "succeeded",
		LiveMode: true, Provider: "stripe", ChargeID: "ch_3OQ1sample", Timestamp: at, UpdatedAt: at}
	s.fulfillment = Fulfillment{ID: "6578278e879ad2646715baa1", LocationID: loc, OrderID: s.order.ID,
		Trackings: []rankr.Tracking{{Number: "1Z999AA10123456784", Carrier: "UPS"}},
		Items:     []rankr.FulfillmentItem{{ItemID: s.order.Items[0].ID, PriceID: s.order.Items[0].PriceID, Name: "Field notebook", Qty: 1}},
		CreatedAt: at.Add(24 * time.Hour)}
	s.subscription = Subscription{ID: "6578278e879ad2646715baa2", LocationID: loc, ContactID: contact, ContactName: "Ada Lovelace",
		ContactEmail: "ada@example.com", Amount: usd(1900), Currency: "USD", Status: "active", LiveMode: true, OrderID: s.order.ID,
		ProviderSubscriptionID: "sub_1OQ1sample", Interval: "monthly", IntervalCount: 1, NextRunAt: at.AddDate(0, 1, 0),
		CreatedAt: at, UpdatedAt: at}
	s.invoice = Invoice{ID: "6578278e879ad2646715baa3", LocationID: loc, Number: "INV-000042", Name: "November retainer",
		Status: "paid", ContactID: contact, ContactName: "Ada Lovelace", ContactEmail: "ada@example.com", Currency: "USD",
		Total: usd(120000), AmountPaid: usd(120000), AmountDue: usd(0), LiveMode: true, IssueDate: "2026-11-01",
		DueDate: "2026-11-15", CreatedAt: at, UpdatedAt: at}
	s.push = rankr.FulfillmentPush{ID: "fp_3c1b2a9d8e7f6a5b4c3d", LocationID: loc, OrderID: s.order.ID,
		Trackings: s.fulfillment.Trackings, Items: []rankr.PushItem{{PriceID: s.order.Items[0].PriceID, Qty: 1}}, NotifyCustomer: true,
		State: rankr.PushPending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at, NotifyVia: rankr.NotifyGHL}
	s.notice = rankr.Notice{ID: "nt_5a4b3c2d1e0f9a8b7c6d", LocationID: loc, Kind: rankr.NoticeMessage,
		DedupeKey: loc + "/0f1e2d3c4b5a69788796a5b4", Recipient: "ops@example.com",
		Payload: mustMarshal(rankr.MessageNotice{Subject: "Order 6578278e879ad2646715ba9c shipped", Text: "Tracking 1Z999AA10123456784 (UPS)."}),
		State:   rankr.NoticePending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}
	s.exception = Exception{ID: 17, Kind: "underpaid", RecordType: rankr.RecordOrder, RecordID: s.order.ID, Amount: usd(1000),
		Message: "order 6578278e879ad2646715ba9c was paid 39.00 of 49.00", OpenedAt: at,
		Fix: "collect the 10.00 outstanding, or refund and cancel the order"}
	return s
}

func (s samples) orderDetail() OrderDetail {
	o := s.order
	o.Fulfillments = []Fulfillment{s.fulfillment}
	o.Transactions = []Transaction{s.transaction}
	return OrderDetail{Order: o, ItemsFetched: true, Pushes: []rankr.FulfillmentPush{s.push}, Notices: []rankr.Notice{},
		Events: []rankr.Event{{Seq: 42, LocationID: o.LocationID, Kind: rankr.OrderCreated, RecordType: rankr.RecordOrder,
			RecordID: o.ID, At: s.at}}}
}

func (s samples) job(kind string) Job {
	return Job{ID: "1042", Kind: kind, LocationID: s.order.LocationID, State: "available", CreatedAt: s.at}
}

func (s samples) report() Report {
	return Report{
		Rows: []ReportRow{{LocationID: s.order.LocationID, RecordType: rankr.RecordOrder, ID: s.order.ID, CreatedAt: s.at,
			Currency: "USD", LiveMode: true, Expected: Money{4900, "USD"}, Collected: Money{3900, "USD"}, Refunded: Money{0, "USD"},
			Balance: Money{1000, "USD"}, Outcome: "underpaid", PaymentStatus: "partially_paid", Exceptions: []string{"underpaid"}}},
		Totals: []ReportTotal{{Currency: "USD", Records: 1, Expected: Money{4900, "USD"}, Collected: Money{3900, "USD"},
			Refunded: Money{0, "USD"}, Balance: Money{1000, "USD"}, Exceptions: 1}},
		Exceptions: []Exception{s.exception},
	}
}
