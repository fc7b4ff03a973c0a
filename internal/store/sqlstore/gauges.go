package sqlstore

import (
	"context"
	"fmt"

	"github.com/rankr/rankr/internal/store"
)

// Gauges counts the outboxes by state and the open exceptions (see
// store.Gauger).
func (s *Store) Gauges(ctx context.Context) (store.Gauges, error) {
	g := store.Gauges{}
	var err error
	byState := func(table string) map[string]int {
		if err != nil {
			return nil
		}
		var m map[string]int
		m, err = s.countBy(ctx, `SELECT state, COUNT(*) FROM `+table+` GROUP BY state`)
		return m
	}
	g.Pushes, g.Notices, g.Deliveries = byState("fulfillment_pushes"), byState("notices"), byState("webhook_deliveries")
	if err != nil {
		return store.Gauges{}, fmt.Errorf("counting the outboxes: %w", unavailable(err))
	}
	if g.OpenExceptions, err = s.OpenExceptionCounts(ctx); err != nil {
		return store.Gauges{}, err
	}
	return g, nil
}

// OpenExceptionCounts counts the open exceptions by location and kind.
func (s *Store) OpenExceptionCounts(ctx context.Context) ([]store.ExceptionCount, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT location_id, kind, COUNT(*) FROM reconcile_exceptions
		WHERE resolved_at IS NULL GROUP BY location_id, kind ORDER BY location_id, kind`)
	if err != nil {
		return nil, fmt.Errorf("counting open exceptions: %w", unavailable(err))
	}
	counts, err := rowsOf(rows, func(r scanner) (store.ExceptionCount, error) {
		var c store.ExceptionCount
		return c, r.Scan(&c.LocationID, &c.Kind, &c.Open)
	})
	if err != nil {
		return nil, fmt.Errorf("counting open exceptions: %w", unavailable(err))
	}
	return counts, nil
}

// countBy runs a query of (key, count) rows into a map.
func (s *Store) countBy(ctx context.Context, query string) (map[string]int, error) {
	rows, err := s.read().QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	type kv struct {
		k string
		n int
	}
	list, err := rowsOf(rows, func(r scanner) (kv, error) {
		var c kv
		return c, r.Scan(&c.k, &c.n)
	})
	if err != nil {
		return nil, err
	}
	m := make(map[string]int, len(list))
	for _, c := range list {
		m[c.k] = c.n
	}
	return m, nil
}
