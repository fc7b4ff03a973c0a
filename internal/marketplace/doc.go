// Package marketplace serves GHL's marketplace "Workflow Triggers &
// Actions" contract, so that rankr's triggers and actions appear inside
// GHL's own workflow builder: the trigger subscription endpoint GHL calls
// when a workflow adds, edits or removes one of rankr's triggers; the loop
// that fires those subscriptions from rankr's change feed, POSTing each
// firing to GHL's target URL with the location's token inside its rate
// budget; the custom action endpoints that run catalog actions for a
// workflow; and the definitions to register in the marketplace app, made
// from the catalog.
//
// It sits beside the API, over internal/app (the catalog and its run use
// case) and the store; the daemon wires its routes and its loop. It must
// not import the daemon, the API or the CLI.
package marketplace
