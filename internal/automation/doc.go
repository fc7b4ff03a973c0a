// Package automation holds rankr's no-code automations: the automation
// file (YAML or JSON, validated by the JSON Schema it publishes), its
// compilation against the catalog (every expression compiled and every
// field path it reads checked against the trigger's and the steps'
// schemas, when the file is saved rather than when a run meets a null),
// and the evaluation of a compiled automation's filter, step conditions,
// input mappings and concurrency key.
//
// Expressions are expr-lang/expr: typed, side-effect free, always
// terminating, with no function beyond expr's built-ins, so a file cannot
// reach the host. Payloads and outputs are decoded JSON with plain float64
// numbers (not json.Number) so that expr's numeric comparisons work.
//
// It imports internal/catalog and internal/rankr, never internal/app
// (which imports it): the registry is a parameter.
package automation
