package sandbox

import (
	"maps"
	"strconv"
	"sync"
)

// Stats counts what the sandbox answered, for tests and the admin API.
type Stats struct {
	// Requests counts API answers per location, then per "Operation status",
	// e.g. "ListOrders 200".
	Requests map[string]map[string]int `json:"requests"`
	// Faults counts injected faults by kind.
	Faults map[string]int `json:"faults"`
}

type stats struct {
	mu       sync.Mutex
	requests map[string]map[string]int
	faults   map[string]int
}

func (st *stats) count(locationID, op string, status int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.requests == nil {
		st.requests = map[string]map[string]int{}
	}
	m := st.requests[locationID]
	if m == nil {
		m = map[string]int{}
		st.requests[locationID] = m
	}
	m[op+" "+strconv.Itoa(status)]++
}

func (st *stats) fault(kind string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.faults == nil {
		st.faults = map[string]int{}
	}
	st.faults[kind]++
}

func (st *stats) snapshot() Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := Stats{Requests: map[string]map[string]int{}, Faults: map[string]int{}}
	for loc, m := range st.requests {
		out.Requests[loc] = maps.Clone(m)
	}
	maps.Copy(out.Faults, st.faults)
	return out
}

// Stats returns counts of answers and injected faults so far.
func (s *Server) Stats() Stats { return s.stats.snapshot() }
