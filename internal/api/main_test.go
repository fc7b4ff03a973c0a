package api_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the tests, then, when the whole suite ran and passed,
// fails it when an operation of openapi.json was never answered with a
// 2xx by the tests (every operation is exercised, and so checked against
// the document), or when a goroutine outlives the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if f := flag.Lookup("test.run"); code == 0 && f != nil && f.Value.String() == "" && !testing.Short() {
		if missing := unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: operations of openapi.json no test got a 2xx from: %v\n", missing)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: goroutines outlive the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
