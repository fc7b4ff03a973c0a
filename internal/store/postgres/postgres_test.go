package postgres_test

import (
	"testing"

	"github.com/rankr/rankr/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.OpenPostgres)
}
