package ghl

// storeOperations are the operations of the store API (apps/store.json)
// the client implements: shipping zones and rates, carriers and the
// store's settings.
var storeOperations []Operation
