package ghl

import "slices"

// Operation describes one GHL API operation as the official spec defines it.
// The table is checked against the spec files in the tests, and the sandbox
// routes and authorizes by it.
type Operation struct {
	Name        string // the method name in this package, e.g. "ListOrders"
	OperationID string // the spec's operationId
	Method      string
	Path        string // with {param} placeholders, as in the spec
	Scope       string // the scope a token needs; "" when the spec names none
}

// Scopes of the Payments and Invoices APIs.
const (
	ScopeOrdersRead           = "payments/orders.readonly"
	ScopeOrdersWrite          = "payments/orders.write"
	ScopeOrdersCollectPayment = "payments/orders.collectPayment"
	ScopeTransactionsRead     = "payments/transactions.readonly"
	ScopeSubscriptionsRead    = "payments/subscriptions.readonly"
	ScopeIntegrationRead      = "payments/integration.readonly"
	ScopeIntegrationWrite     = "payments/integration.write"
	ScopeCouponsRead          = "payments/coupons.readonly"
	ScopeCouponsWrite         = "payments/coupons.write"
	ScopeCustomProviderRead   = "payments/custom-provider.readonly"
	ScopeCustomProviderWrite  = "payments/custom-provider.write"
	ScopeInvoicesRead         = "invoices.readonly"
	ScopeInvoicesWrite        = "invoices.write"
)

// The operations, in the spec's order. The first 23 are the Payments API;
// the last two are the invoice reads that payment reconciliation needs.
var (
	OpCreateWhiteLabelProvider = Operation{"CreateWhiteLabelProvider", "create-integration provider", "POST", "/payments/integrations/provider/whitelabel", ScopeIntegrationWrite}
	OpListWhiteLabelProviders  = Operation{"ListWhiteLabelProviders", "list-integration-providers", "GET", "/payments/integrations/provider/whitelabel", ScopeIntegrationRead}
	OpListOrders               = Operation{"ListOrders", "list-orders", "GET", "/payments/orders", ScopeOrdersRead}
	OpGetOrder                 = Operation{"GetOrder", "get-order-by-id", "GET", "/payments/orders/{orderId}", ScopeOrdersRead}
	OpRecordOrderPayment       = Operation{"RecordOrderPayment", "record-order-payment", "POST", "/payments/orders/{orderId}/record-payment", ScopeOrdersCollectPayment}
	OpCreateFulfillment        = Operation{"CreateFulfillment", "create-order-fulfillment", "POST", "/payments/orders/{orderId}/fulfillments", ScopeOrdersWrite}
	OpListFulfillments         = Operation{"ListFulfillments", "list-order-fulfillment", "GET", "/payments/orders/{orderId}/fulfillments", ScopeOrdersRead}
	OpListOrderNotes           = Operation{"ListOrderNotes", "list-order-notes", "GET", "/payments/orders/{orderId}/notes", ""}
	OpListTransactions         = Operation{"ListTransactions", "list-transactions", "GET", "/payments/transactions", ScopeTransactionsRead}
	OpGetTransaction           = Operation{"GetTransaction", "get-transaction-by-id", "GET", "/payments/transactions/{transactionId}", ScopeTransactionsRead}
	OpListSubscriptions        = Operation{"ListSubscriptions", "list-subscriptions", "GET", "/payments/subscriptions", ScopeSubscriptionsRead}
	OpGetSubscription          = Operation{"GetSubscription", "get-subscription-by-id", "GET", "/payments/subscriptions/{subscriptionId}", ScopeSubscriptionsRead}
	OpListCoupons              = Operation{"ListCoupons", "list-coupons", "GET", "/payments/coupon/list", ScopeCouponsRead}
	OpCreateCoupon             = Operation{"CreateCoupon", "create-coupon", "POST", "/payments/coupon", ScopeCouponsWrite}
	OpUpdateCoupon             = Operation{"UpdateCoupon", "update-coupon", "PUT", "/payments/coupon", ScopeCouponsWrite}
	OpDeleteCoupon             = Operation{"DeleteCoupon", "delete-coupon", "DELETE", "/payments/coupon", ScopeCouponsWrite}
	OpGetCoupon                = Operation{"GetCoupon", "get-coupon", "GET", "/payments/coupon", ScopeCouponsRead}
	OpCreateCustomProvider     = Operation{"CreateCustomProvider", "create-integration", "POST", "/payments/custom-provider/provider", ScopeCustomProviderWrite}
	OpDeleteCustomProvider     = Operation{"DeleteCustomProvider", "delete-integration", "DELETE", "/payments/custom-provider/provider", ScopeCustomProviderWrite}
	OpGetCustomProviderConfig  = Operation{"GetCustomProviderConfig", "fetch-config", "GET", "/payments/custom-provider/connect", ScopeCustomProviderRead}
	OpConnectCustomProvider    = Operation{"ConnectCustomProvider", "create-config", "POST", "/payments/custom-provider/connect", ScopeCustomProviderWrite}
	OpDisconnectCustomProvider = Operation{"DisconnectCustomProvider", "disconnect-config", "POST", "/payments/custom-provider/disconnect", ScopeCustomProviderWrite}
	OpUpdateCustomProviderCaps = Operation{"UpdateCustomProviderCapabilities", "custom-provider-marketplace-app-update-capabilities", "PUT", "/payments/custom-provider/capabilities", ScopeCustomProviderWrite}
	OpListInvoices             = Operation{"ListInvoices", "list-invoices", "GET", "/invoices/", ScopeInvoicesRead}
	OpGetInvoice               = Operation{"GetInvoice", "get-invoice", "GET", "/invoices/{invoiceId}", ScopeInvoicesRead}
)

// paymentsOperations are the 23 operations of the Payments API
// (apps/payments.json), in the spec's order.
var paymentsOperations = []Operation{
	OpCreateWhiteLabelProvider, OpListWhiteLabelProviders, OpListOrders, OpGetOrder,
	OpRecordOrderPayment, OpCreateFulfillment, OpListFulfillments, OpListOrderNotes,
	OpListTransactions, OpGetTransaction, OpListSubscriptions, OpGetSubscription,
	OpListCoupons, OpCreateCoupon, OpUpdateCoupon, OpDeleteCoupon, OpGetCoupon,
	OpCreateCustomProvider, OpDeleteCustomProvider, OpGetCustomProviderConfig,
	OpConnectCustomProvider, OpDisconnectCustomProvider, OpUpdateCustomProviderCaps,
}

// Operations returns every operation the client implements: the Payments
// API's first, then those of the invoices, products and store APIs
// (invoiceOperations, productOperations and storeOperations, each beside
// its family's methods).
func Operations() []Operation {
	return slices.Concat(paymentsOperations, invoiceOperations, productOperations, storeOperations)
}

// PaymentsOperations returns the 23 operations of the Payments API.
func PaymentsOperations() []Operation { return slices.Clone(paymentsOperations) }

// idempotentPosts are the POSTs (and PATCHes) that repeating cannot change
// either: they read, or replace a record keyed by the location or by the
// path. One list per family.
var idempotentPosts = slices.Concat(storeIdempotentPosts, invoiceIdempotentPatches)

// Idempotent reports whether repeating the request cannot change the result.
func (op Operation) Idempotent() bool {
	return op.Method == "GET" || op.Method == "PUT" || op.Method == "DELETE" ||
		slices.Contains(idempotentPosts, op.OperationID)
}

// Scopes returns every scope the operations need, each once.
func Scopes() []string {
	seen := map[string]bool{}
	var out []string
	for _, op := range Operations() {
		if op.Scope != "" && !seen[op.Scope] {
			seen[op.Scope] = true
			out = append(out, op.Scope)
		}
	}
	return out
}
