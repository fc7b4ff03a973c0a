package doctor_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a
// server, client or worker a test forgot to stop, or code that leaks one.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
