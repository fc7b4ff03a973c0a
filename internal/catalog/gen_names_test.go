package catalog

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/rankr/rankr/ghl"
)

// Keys are immutable once committed: an automation file names an action
// by its key. A key is derived from the operation's Name (verb first, then
// the noun) unless genNameOverrides says better.

var genKeyPattern = regexp.MustCompile(`^ghl\.(payments|invoices|products|store)\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`)

type genName struct{ key, title string }

// genNameOverrides: "noun.verb" (and the title) for names the rule reads
// badly. A blank title is derived from the key.
var genNameOverrides = map[string]genName{
	"CreateFulfillment":                   {"order_fulfillment.create", "Create an order fulfillment"},
	"ListFulfillments":                    {"order_fulfillment.list", "List order fulfillments"},
	"RecordOrderPayment":                  {"order_payment.record", "Record an order payment"},
	"UpdateCustomProviderCapabilities":    {"custom_provider.update_capabilities", "Update a custom payment provider's capabilities"},
	"CreateCustomProvider":                {"custom_provider.create", "Create a custom payment provider"},
	"DeleteCustomProvider":                {"custom_provider.delete", "Delete a custom payment provider"},
	"GetCustomProviderConfig":             {"custom_provider_config.get", "Get a custom payment provider's config"},
	"ConnectCustomProvider":               {"custom_provider.connect", "Connect a custom payment provider"},
	"DisconnectCustomProvider":            {"custom_provider.disconnect", "Disconnect a custom payment provider"},
	"CreateWhiteLabelProvider":            {"white_label_provider.create", "Create a white-label payment provider"},
	"ListWhiteLabelProviders":             {"white_label_provider.list", "List white-label payment providers"},
	"GetInvoiceSettings":                  {"invoice_settings.get", "Get invoice settings"},
	"Text2PayInvoice":                     {"invoice.text2pay", "Create and send an invoice (Text2Pay)"},
	"UpdateInvoiceLateFees":               {"invoice_late_fee_config.update", "Update an invoice's late fees"},
	"UpdateInvoiceLastVisitedAt":          {"invoice_last_visited_at.update", "Update when an invoice was last viewed"},
	"UpdateInvoiceTemplateLateFees":       {"invoice_template_late_fee_config.update", "Update an invoice template's late fees"},
	"UpdateInvoiceTemplatePaymentMethods": {"invoice_template_payment_method_config.update", "Update an invoice template's payment methods"},
	"UpdateAndScheduleInvoiceSchedule":    {"invoice_schedule.update_and_schedule", "Update and schedule an invoice schedule"},
	"ScheduleInvoiceSchedule":             {"invoice_schedule.schedule", "Start sending an invoice schedule's invoices"},
	"SetInvoiceScheduleAutoPayment":       {"invoice_schedule.set_auto_payment", "Set an invoice schedule's auto-payment"},
	"CancelInvoiceSchedule":               {"invoice_schedule.cancel", "Cancel an invoice schedule"},
	"CreateInvoiceSchedule":               {"invoice_schedule.create", ""},
	"CreateInvoiceFromEstimate":           {"invoice.create_from_estimate", "Create an invoice from an estimate"},
	"UpdateEstimateLastVisitedAt":         {"estimate_last_visited_at.update", "Update when an estimate was last viewed"},
	"CreatePrice":                         {"price.create", "Create a price for a product"},
	"ListPrices":                          {"price.list", "List a product's prices"},
	"GetPrice":                            {"price.get", "Get a product's price"},
	"UpdatePrice":                         {"price.update", "Update a product's price"},
	"DeletePrice":                         {"price.delete", "Delete a product's price"},
	"BulkEditProducts":                    {"product.bulk_edit", "Bulk edit products and prices"},
	"ListInventory":                       {"inventory.list", "List inventory"},
	"UpdateInventory":                     {"inventory.update", "Update inventory"},
	"GetStoreStats":                       {"store_stats.get", "Get a store's product stats"},
	"UpdateStoreStatus":                   {"store_product.update", "Include or exclude products in a store"},
	"UpdateDisplayPriority":               {"store_display_priority.update", "Update the display priority of products in a store"},
	"ListCollections":                     {"collection.list", "List product collections"},
	"CreateCollection":                    {"collection.create", "Create a product collection"},
	"GetCollection":                       {"collection.get", "Get a product collection"},
	"UpdateCollection":                    {"collection.update", "Update a product collection"},
	"DeleteCollection":                    {"collection.delete", "Delete a product collection"},
	"ListReviews":                         {"review.list", "List product reviews"},
	"CountReviews":                        {"review.count", "Count product reviews by status"},
	"UpdateReview":                        {"review.update", "Update a product review"},
	"DeleteReview":                        {"review.delete", "Delete a product review"},
	"BulkUpdateReviews":                   {"review.bulk_update", "Bulk update product reviews"},
	"AvailableShippingRates":              {"shipping_rate.list_available", "List the shipping rates available for an order"},
	"SaveStoreSettings":                   {"store_settings.save", "Save store settings"},
	"GetStoreSettings":                    {"store_settings.get", "Get store settings"},
}

// genSummaryOverrides replace spec descriptions that describe another
// operation (copied and pasted in the spec).
var genSummaryOverrides = map[string]string{
	"VoidInvoice":                         "Void an invoice by its id.",
	"DeleteInvoiceTemplate":               "Delete an invoice template by its id.",
	"UpdateInvoiceTemplatePaymentMethods": "Update the payment methods configuration of an invoice template by its id.",
	"GetShippingZone":                     "Get a shipping zone by its id.",
	"GetShippingRate":                     "Get a shipping rate of a shipping zone by its id.",
	"GetShippingCarrier":                  "Get a shipping carrier by its id.",
	"ListCollections":                     "List the product collections of the location.",
}

func genNameFor(family string, op ghl.Operation) genName {
	o, ok := genNameOverrides[op.Name]
	nounVerb := o.key
	if !ok {
		words := genWords(op.Name)
		verb := strings.ToLower(words[0])
		rest := words[1:]
		if verb == "bulk" && len(rest) > 1 {
			verb += "_" + strings.ToLower(rest[0])
			rest = rest[1:]
		}
		rest[len(rest)-1] = genSingular(rest[len(rest)-1])
		nounVerb = strings.ToLower(strings.Join(rest, "_")) + "." + verb
	}
	title := o.title
	if title == "" {
		title = genTitle(nounVerb)
	}
	return genName{key: "ghl." + family + "." + nounVerb, title: title}
}

// genTitle is the sentence-case title of a "noun.verb" key.
func genTitle(nounVerb string) string {
	noun, verb, _ := strings.Cut(nounVerb, ".")
	phrase := strings.ReplaceAll(noun, "_", " ")
	v := strings.ReplaceAll(verb, "_", " ")
	v = strings.ToUpper(v[:1]) + v[1:]
	switch verb {
	case "list", "count", "bulk_update", "bulk_edit":
		return v + " " + genPlural(phrase)
	}
	return v + " " + genArticle(phrase) + " " + phrase
}

func genArticle(phrase string) string {
	if strings.ContainsRune("aeiou", rune(phrase[0])) {
		return "an"
	}
	return "a"
}

func genPlural(phrase string) string {
	switch {
	case strings.HasSuffix(phrase, "y") && !strings.HasSuffix(phrase, "ay"):
		return phrase[:len(phrase)-1] + "ies"
	case strings.HasSuffix(phrase, "s"), strings.HasSuffix(phrase, "x"):
		return phrase + "es"
	}
	return phrase + "s"
}

func genSingular(w string) string {
	switch {
	case strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"):
		return w
	case strings.HasSuffix(w, "s"):
		return w[:len(w)-1]
	}
	return w
}

// genWords splits a Go name into its words: "CreateWhiteLabelProvider"
// is Create, White, Label, Provider.
func genWords(name string) []string {
	var words []string
	start := 0
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			words = append(words, name[start:i])
			start = i
		}
	}
	return append(words, name[start:])
}

// genSnake turns "OrderStatusUpdate" into "order_status_update".
func genSnake(name string) string {
	return strings.ToLower(strings.Join(genWords(name), "_"))
}

// genEffect: reads are GETs; deletes and voids/cancels/disconnects are
// destructive; what reaches a customer (sending an invoice or estimate,
// scheduling sends) notifies; every other change writes.
func genEffect(op ghl.Operation) string {
	switch op.Name {
	case "SendInvoice", "SendEstimate", "Text2PayInvoice", "ScheduleInvoiceSchedule", "UpdateAndScheduleInvoiceSchedule":
		return "notify"
	case "VoidInvoice", "CancelInvoiceSchedule", "DisconnectCustomProvider":
		return "destructive"
	case "AvailableShippingRates":
		return "read" // a POST that only computes rates
	}
	switch op.Method {
	case "GET":
		return "read"
	case "DELETE":
		return "destructive"
	}
	return "write"
}
