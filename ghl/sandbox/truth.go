package sandbox

import (
	"fmt"

	"github.com/rankr/rankr/ghl"
)

// Truth is everything the sandbox holds, rendered as GHL would serve it. A
// client that synced correctly holds exactly this.
type Truth struct {
	Locations []LocationTruth `json:"locations"`
}

// LocationTruth is one location's records, oldest first.
type LocationTruth struct {
	ID                  string                   `json:"id"`
	Name                string                   `json:"name"`
	Orders              []OrderTruth             `json:"orders"`
	Transactions        []TransactionTruth       `json:"transactions"`
	Subscriptions       []SubscriptionTruth      `json:"subscriptions"`
	Invoices            []InvoiceTruth           `json:"invoices"`
	InvoiceSchedules    []InvoiceScheduleTruth   `json:"invoiceSchedules"` // recurring invoices, deleted ones too
	InvoiceTemplates    []InvoiceTemplateTruth   `json:"invoiceTemplates"`
	Estimates           []ghl.Estimate           `json:"estimates"` // deleted ones too, marked deleted
	EstimateTemplates   []ghl.EstimateTemplate   `json:"estimateTemplates"`
	Coupons             []ghl.Coupon             `json:"coupons"`
	WhiteLabelProviders []ghl.WhiteLabelProvider `json:"whiteLabelProviders"`
	CustomProvider      *ghl.CustomProvider      `json:"customProvider,omitempty"`
	// ShippingZones hold their rates.
	ShippingZones    []ghl.ShippingZone    `json:"shippingZones"`
	ShippingCarriers []ghl.ShippingCarrier `json:"shippingCarriers"`
	StoreSettings    *ghl.StoreSettings    `json:"storeSettings,omitempty"`
	// Catalog is the products API's state: products with their prices and
	// stock, collections, reviews and the store.
	Catalog *CatalogTruth `json:"catalog,omitempty"`
	// Notices are the customer notifications GHL sent for fulfillments
	// created with notifyCustomer.
	Notices []Notice `json:"notices"`
}

// OrderTruth is an order as listed and as fetched, with its fulfillments.
// Deleted orders are kept, marked, and no longer served.
type OrderTruth struct {
	Item          ghl.Order         `json:"item"`
	Detail        ghl.OrderDetail   `json:"detail"`
	PaymentStatus string            `json:"paymentStatus"`
	Fulfillments  []ghl.Fulfillment `json:"fulfillments"`
	Deleted       bool              `json:"deleted,omitempty"`
}

// TransactionTruth is a transaction as listed and as fetched.
type TransactionTruth struct {
	Item    ghl.Transaction       `json:"item"`
	Detail  ghl.TransactionDetail `json:"detail"`
	Deleted bool                  `json:"deleted,omitempty"`
}

// SubscriptionTruth is a subscription as listed and as fetched.
type SubscriptionTruth struct {
	Item    ghl.Subscription       `json:"item"`
	Detail  ghl.SubscriptionDetail `json:"detail"`
	Deleted bool                   `json:"deleted,omitempty"`
}

// InvoiceScheduleTruth is a recurring invoice as served.
type InvoiceScheduleTruth struct {
	Schedule ghl.InvoiceSchedule `json:"schedule"`
	Deleted  bool                `json:"deleted,omitempty"`
}

// InvoiceTemplateTruth is an invoice template as served.
type InvoiceTemplateTruth struct {
	Template ghl.InvoiceTemplate `json:"template"`
	Deleted  bool                `json:"deleted,omitempty"`
}

// InvoiceTruth is an invoice as served.
type InvoiceTruth struct {
	Invoice ghl.Invoice `json:"invoice"`
	Deleted bool        `json:"deleted,omitempty"`
	// LastVisitedAt is when update-invoice-last-visited-at last marked
	// the invoice viewed; GHL's invoice answers do not show it.
	LastVisitedAt ghl.Time `json:"lastVisitedAt,omitzero"`
}

// Truth returns the full state of one location, or of all when locationID
// is empty.
func (s *Server) Truth(locationID string) (Truth, error) {
	locs := s.allLocations()
	if locationID != "" {
		l := s.location(locationID)
		if l == nil {
			return Truth{}, errUnknownLocation(locationID)
		}
		locs = []*location{l}
	}
	var t Truth
	for _, l := range locs {
		t.Locations = append(t.Locations, s.locationTruth(l))
	}
	return t, nil
}

func (s *Server) locationTruth(l *location) LocationTruth {
	l.mu.RLock()
	defer l.mu.RUnlock()
	now := s.clock()
	// Empty lists are [] rather than null, for readers in other languages.
	lt := LocationTruth{ID: l.id, Name: l.name, Notices: append([]Notice{}, l.notices...),
		Orders: []OrderTruth{}, Transactions: []TransactionTruth{}, Subscriptions: []SubscriptionTruth{},
		Invoices: []InvoiceTruth{}, Coupons: []ghl.Coupon{}, WhiteLabelProviders: []ghl.WhiteLabelProvider{}}
	for _, o := range l.orders {
		ot := OrderTruth{Item: l.orderItem(o), Detail: l.orderDetail(o), PaymentStatus: string(o.payment),
			Deleted: o.deleted, Fulfillments: []ghl.Fulfillment{}}
		for _, f := range o.fulfillments {
			ot.Fulfillments = append(ot.Fulfillments, l.fulfillment(f))
		}
		lt.Orders = append(lt.Orders, ot)
	}
	for _, t := range l.txns {
		lt.Transactions = append(lt.Transactions, TransactionTruth{Item: l.txnItem(t), Detail: l.txnDetail(t), Deleted: t.deleted})
	}
	for _, sub := range l.subs {
		lt.Subscriptions = append(lt.Subscriptions, SubscriptionTruth{Item: l.subItem(sub), Detail: l.subDetail(sub), Deleted: sub.deleted})
	}
	for _, inv := range l.invoices {
		lt.Invoices = append(lt.Invoices, InvoiceTruth{Invoice: l.invoice(inv), Deleted: inv.deleted,
			LastVisitedAt: ghl.NewTime(inv.lastVisitedAt)})
	}
	lt.InvoiceSchedules, lt.InvoiceTemplates, lt.Estimates = []InvoiceScheduleTruth{}, []InvoiceTemplateTruth{}, []ghl.Estimate{}
	for _, e := range l.book.estimates {
		lt.Estimates = append(lt.Estimates, l.estimateOf(e, ""))
	}
	lt.EstimateTemplates = []ghl.EstimateTemplate{}
	for _, t := range l.book.estimateTemplates {
		lt.EstimateTemplates = append(lt.EstimateTemplates, l.estimateTemplateOf(t))
	}
	for _, t := range l.book.templates {
		lt.InvoiceTemplates = append(lt.InvoiceTemplates, InvoiceTemplateTruth{Template: l.templateOf(t), Deleted: t.deleted})
	}
	for _, sc := range l.book.schedules {
		lt.InvoiceSchedules = append(lt.InvoiceSchedules, InvoiceScheduleTruth{Schedule: l.scheduleOf(sc, now), Deleted: sc.deleted})
	}
	for _, c := range l.coupons {
		lt.Coupons = append(lt.Coupons, couponOf(c, now))
	}
	for _, p := range l.whitelabel {
		lt.WhiteLabelProviders = append(lt.WhiteLabelProviders, *p)
	}
	lt.ShippingZones, lt.ShippingCarriers, lt.StoreSettings = l.storeTruth()
	lt.Catalog = l.catalogTruth()
	if l.customProvider != nil && !l.customProvider.Deleted {
		p := *l.customProvider
		lt.CustomProvider = &p
	}
	return lt
}

// Delete removes a record from what GHL serves, as if someone deleted it in
// GHL, while the truth keeps it marked as deleted. kind is "order",
// "transaction", "subscription" or "invoice".
func (s *Server) Delete(locationID, kind, id string) error {
	l := s.location(locationID)
	if l == nil {
		return errUnknownLocation(locationID)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := s.clock()
	switch kind {
	case "order":
		if o := l.orderByID[id]; o != nil {
			l.deleteOrder(o, now)
			return nil
		}
	case "transaction":
		if t := l.txnByID[id]; t != nil {
			t.deleted = true
			l.deleted++
			touch(&t.updatedAt, now)
			// The order's payment status follows the payments GHL still has.
			if o := l.orderByID[t.entityID]; o != nil && t.entityType == "order" {
				l.settle(dice{l.rng}, o, now)
			}
			return nil
		}
	case "subscription":
		if sub := l.subByID[id]; sub != nil {
			sub.deleted = true
			l.deleted++
			touch(&sub.updatedAt, now)
			return nil
		}
	case "invoice":
		if inv := l.invByID[id]; inv != nil {
			l.deleteInvoice(inv, now)
			return nil
		}
	default:
		return fmt.Errorf("unknown record kind %q (want order, transaction, subscription or invoice)", kind)
	}
	return fmt.Errorf("no %s %s in location %s", kind, id, locationID)
}

func errUnknownLocation(id string) error { return fmt.Errorf("unknown location %q", id) }
