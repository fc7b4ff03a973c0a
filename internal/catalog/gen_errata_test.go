package catalog

import "fmt"

// genErratum corrects one property of a component schema of GHL's specs,
// the same known mistakes the sandbox's conformance test corrects (its
// errata table, in ghl/sandbox/openapi_test.go, says why for each): the
// catalog's schemas must accept what GHL really sends and takes.
type genErratum struct {
	file, schema, property string
	want                   map[string]any
}

func genArrayOf(items map[string]any) map[string]any {
	return map[string]any{"type": "array", "items": items}
}

var (
	genObject = map[string]any{"type": "object"}
	genErrata = []genErratum{
		{"payments.json", "GetOrderResponseSchema", "items", genArrayOf(genObject)},
		{"payments.json", "ListWhitelabelIntegrationProviderResponseDto", "providers",
			genArrayOf(map[string]any{"$ref": "#/components/schemas/IntegrationProviderSchema"})},
		{"payments.json", "TxnResponseSchema", "status", map[string]any{"type": "string"}},
		{"payments.json", "GetTxnResponseSchema", "status", map[string]any{"type": "string"}},
		{"payments.json", "SubscriptionResponseSchema", "status", map[string]any{"type": "string"}},
		{"payments.json", "GetSubscriptionResponseSchema", "status", map[string]any{"type": "string"}},
		{"payments.json", "GetSubscriptionResponseSchema", "altType", map[string]any{"type": "string"}},
		{"invoices.json", "GetInvoiceResponseDto", "invoiceItems", genArrayOf(genObject)},
		{"invoices.json", "EstimateResponseDto", "items", genArrayOf(genObject)},
		{"invoices.json", "EstimateResponseDto", "estimateActionHistory", genArrayOf(genObject)},
		{"invoices.json", "EstimateTemplatesDto", "items", genArrayOf(genObject)},
		{"invoices.json", "EstimateTemplateResponseDTO", "items", genArrayOf(genObject)},
		{"invoices.json", "ListEstimateTemplateResponseDTO", "data", genArrayOf(genObject)},
		{"invoices.json", "ListEstimatesResponseDTO", "estimates", genArrayOf(genObject)},
		{"invoices.json", "ProcessingFeeDto", "charges", genArrayOf(map[string]any{})},
		{"invoices.json", "PaymentScheduleConfigDto", "schedules", genArrayOf(map[string]any{})},
		{"products.json", "CountReviewsByStatusResponseDto", "data", genArrayOf(genObject)},
		{"products.json", "ListProductReviewsResponseDto", "data", genArrayOf(genObject)},
		{"products.json", "ListCollectionResponseDto", "data", genArrayOf(map[string]any{"$ref": "#/components/schemas/CollectionSchema"})},
		{"products.json", "UpdateDisplayPriorityBodyDto", "products", genArrayOf(genObject)},
		{"products.json", "ProductMediaDto", "priceIds", genArrayOf(map[string]any{"type": "string"})},
		{"products.json", "UpdateProductReviewsDto", "status", map[string]any{"type": "string"}},
		{"store.json", "GetAvailableShippingRates", "amountAvailable", map[string]any{"type": "boolean"}},
	}
)

func init() {
	// The Invoice* webhooks: GHL's schemas (drawn from its examples) type
	// the number a string, as the examples write it; the invoices API
	// writes it a number, and so does the sandbox's webhook, which carries
	// the invoice as the API answers it (see ghl.InvoiceNumber). A trigger
	// takes both.
	for _, ev := range []string{"InvoiceCreate", "InvoiceUpdate", "InvoiceSent", "InvoicePaid", "InvoicePartiallyPaid", "InvoiceVoid", "InvoiceDelete"} {
		genErrata = append(genErrata, genErratum{ev + ".schema.json", "", "invoiceNumber", map[string]any{"type": []any{"string", "number"}}})
	}
}

// genApplyErrata corrects a loaded spec; an erratum whose property is gone
// is an error, so that a fixed spec is noticed and the erratum dropped.
func genApplyErrata(file string, doc map[string]any) error {
	for _, e := range genErrata {
		if e.file != file {
			continue
		}
		props, _ := genPath(doc, "components", "schemas", e.schema, "properties").(map[string]any)
		if e.schema == "" { // a webhook's schema: its own properties
			props, _ = genPath(doc, "properties").(map[string]any)
		}
		old, ok := props[e.property].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: erratum %s.%s: no such property any more", file, e.schema, e.property)
		}
		fixed := map[string]any{}
		for k, v := range e.want {
			fixed[k] = v
		}
		if d, ok := old["description"]; ok {
			fixed["description"] = d
		}
		props[e.property] = fixed
	}
	return nil
}

// genUntypeNulls drops the type of the webhook schemas' properties typed
// "null" and nothing else: GHL's webhook schemas are drawn from examples,
// and a field the example left null (a price's trackInventory) says
// nothing of the type it has when set.
func genUntypeNulls(v any) {
	switch t := v.(type) {
	case map[string]any:
		if t["type"] == "null" {
			delete(t, "type")
		}
		for _, e := range t {
			genUntypeNulls(e)
		}
	case []any:
		for _, e := range t {
			genUntypeNulls(e)
		}
	}
}
