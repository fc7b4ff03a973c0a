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
	// TokenCalls counts POST /oauth/token answers by "grant_type status",
	// e.g. "refresh_token 200" ("drop" for an answer a fault dropped).
	TokenCalls map[string]int `json:"tokenCalls"`
	// Companies holds the company-level calls (locationToken,
	// installedLocations) per company.
	Companies map[string]CompanyStats `json:"companies"`
}

// CompanyStats is what one company's budget saw.
type CompanyStats struct {
	// Requests counts answers by "Operation status".
	Requests map[string]int `json:"requests"`
	// PeakWindow is the most requests admitted within one rate interval
	// (100 per 10 s by default): a client that paces itself stays at or
	// under the burst.
	PeakWindow int `json:"peakWindow"`
	// Refused counts the requests refused with 429 for the budget.
	Refused int `json:"refused"`
}

type stats struct {
	mu        sync.Mutex
	requests  map[string]map[string]int
	faults    map[string]int
	tokens    map[string]int
	companies map[string]map[string]int
}

func (st *stats) token(grantType string, status int) {
	key := grantType + " " + strconv.Itoa(status)
	if status == 0 {
		key = grantType + " drop"
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.tokens == nil {
		st.tokens = map[string]int{}
	}
	st.tokens[key]++
}

func (st *stats) company(companyID, op string, status int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.companies == nil {
		st.companies = map[string]map[string]int{}
	}
	m := st.companies[companyID]
	if m == nil {
		m = map[string]int{}
		st.companies[companyID] = m
	}
	m[op+" "+strconv.Itoa(status)]++
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
	out := Stats{Requests: map[string]map[string]int{}, Faults: map[string]int{}, TokenCalls: map[string]int{},
		Companies: map[string]CompanyStats{}}
	for loc, m := range st.requests {
		out.Requests[loc] = maps.Clone(m)
	}
	maps.Copy(out.Faults, st.faults)
	maps.Copy(out.TokenCalls, st.tokens)
	for c, m := range st.companies {
		out.Companies[c] = CompanyStats{Requests: maps.Clone(m)}
	}
	return out
}

// Stats returns counts of answers and injected faults so far.
func (s *Server) Stats() Stats {
	out := s.stats.snapshot()
	s.mu.RLock()
	limits := maps.Clone(s.companyLimits)
	s.mu.RUnlock()
	for id, l := range limits {
		c := out.Companies[id]
		c.PeakWindow, c.Refused = l.record()
		if c.Requests == nil {
			c.Requests = map[string]int{}
		}
		out.Companies[id] = c
	}
	return out
}
