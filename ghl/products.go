package ghl

// productOperations are the operations of the products API
// (apps/products.json) the client implements: products, prices,
// inventory, collections, reviews and the store's product settings.
var productOperations []Operation
