package sqlstore

import "testing"

// Statements built with lists of varying length are not kept: they would
// fill the cache with statements used once.
func TestStatementCacheKeepsOnlyFixedQueries(t *testing.T) {
	t.Parallel()
	var c stmtCache
	fixed := `SELECT a FROM t WHERE id = ?`
	c.get(fixed)
	c.get(`SELECT a FROM t WHERE id IN (?, ?)`)
	if !c.missed[fixed] || !c.missed[`SELECT a FROM t WHERE id IN (?, ?)`] {
		t.Fatalf("missed %v", c.missed)
	}
	// The same shape with another length: both are built, neither kept.
	c.get(`SELECT a FROM t WHERE id IN (?, ?, ?)`)
	c.get(`INSERT INTO t (a, b) VALUES (?, ?)`)
	c.get(`INSERT INTO t (a, b) VALUES (?, ?), (?, ?)`)
	want := map[string]bool{fixed: true}
	if len(c.missed) != len(want) || !c.missed[fixed] {
		t.Fatalf("missed %v, want only %v", c.missed, want)
	}
	for _, q := range []string{`SELECT a FROM t WHERE id IN (?)`, `INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)`} {
		if c.get(q); c.missed[q] {
			t.Fatalf("%s is kept", q)
		}
	}
}
