package sandbox

import (
	"regexp"

	"github.com/rankr/rankr/ghl"
)

var uniqueNamePattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func (s *Server) createWhiteLabel(req *apiRequest) (any, *apiError) {
	var b struct {
		UniqueName  string `json:"uniqueName"`
		Title       string `json:"title"`
		Provider    string `json:"provider"`
		Description string `json:"description"`
		ImageURL    string `json:"imageUrl"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	var msgs []string
	if !uniqueNamePattern.MatchString(b.UniqueName) {
		msgs = append(msgs, "uniqueName must be lowercase letters and digits separated by hyphens")
	}
	for field, v := range map[string]string{"title": b.Title, "description": b.Description, "imageUrl": b.ImageURL} {
		if v == "" {
			msgs = append(msgs, field+" should not be empty")
		}
	}
	if b.Provider != "authorize-net" && b.Provider != "nmi" {
		msgs = append(msgs, "provider must be one of the following values: authorize-net, nmi")
	}
	if len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.whitelabel {
		if p.Route == b.UniqueName {
			return nil, badRequest("A provider named " + b.UniqueName + " already exists")
		}
	}
	p := &ghl.WhiteLabelProvider{
		ID: dice{l.rng}.objectID(req.now), AltID: l.id, AltType: "location", Title: b.Title, Route: b.UniqueName,
		Provider: b.Provider, Description: b.Description, ImageURL: b.ImageURL,
		CreatedAt: ghl.NewTime(req.now), UpdatedAt: ghl.NewTime(req.now),
	}
	l.whitelabel = append(l.whitelabel, p)
	return p, nil
}

func (s *Server) listWhiteLabel(req *apiRequest) (any, *apiError) {
	limit, offset, e := req.page(0, false)
	if e != nil {
		return nil, e
	}
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	all := func(*ghl.WhiteLabelProvider) bool { return true }
	render := func(p *ghl.WhiteLabelProvider) ghl.WhiteLabelProvider { return *p }
	// Listed oldest first: the order in which they were added.
	recs := make([]*ghl.WhiteLabelProvider, len(l.whitelabel))
	for i, p := range l.whitelabel {
		recs[len(recs)-1-i] = p
	}
	items, _ := collect(recs, limit, offset, all, render)
	return map[string]any{"providers": items}, nil
}

const marketplaceAppID = "65f0b217a05c774da7f1efa5"

func (s *Server) createCustomProvider(req *apiRequest) (any, *apiError) {
	var b struct {
		Name                         string `json:"name"`
		Description                  string `json:"description"`
		PaymentsURL                  string `json:"paymentsUrl"`
		QueryURL                     string `json:"queryUrl"`
		ImageURL                     string `json:"imageUrl"`
		SupportsSubscriptionSchedule *bool  `json:"supportsSubscriptionSchedule"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	var msgs []string
	for _, f := range []struct{ name, v string }{{"name", b.Name}, {"description", b.Description},
		{"paymentsUrl", b.PaymentsURL}, {"queryUrl", b.QueryURL}, {"imageUrl", b.ImageURL}} {
		if f.v == "" {
			msgs = append(msgs, f.name+" should not be empty")
		}
	}
	if b.SupportsSubscriptionSchedule == nil {
		msgs = append(msgs, "supportsSubscriptionSchedule must be a boolean value")
	}
	if len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.customProvider
	if p == nil || p.Deleted {
		p = &ghl.CustomProvider{ID: dice{l.rng}.objectID(req.now), LocationID: l.id,
			MarketplaceAppID: marketplaceAppID, CreatedAt: ghl.NewTime(req.now)}
		l.customProvider = p
	}
	p.Name, p.Description, p.PaymentsURL, p.QueryURL, p.ImageURL = b.Name, b.Description, b.PaymentsURL, b.QueryURL, b.ImageURL
	p.Deleted, p.UpdatedAt = false, ghl.NewTime(req.now)
	l.capabilities = b.SupportsSubscriptionSchedule
	return s.customProviderView(p), nil
}

func (s *Server) customProviderView(p *ghl.CustomProvider) ghl.CustomProvider {
	out := *p
	if p.PaymentProvider != nil {
		cfg := *p.PaymentProvider
		out.PaymentProvider = &cfg
	}
	out.TraceID = s.traceID()
	return out
}

// activeProvider returns the location's custom provider. Call with the
// lock held.
func (l *location) activeProvider() (*ghl.CustomProvider, *apiError) {
	if l.customProvider == nil || l.customProvider.Deleted {
		return nil, notFound("Custom provider config not found for this location")
	}
	return l.customProvider, nil
}

func (s *Server) deleteCustomProvider(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	p, e := l.activeProvider()
	if e != nil {
		return nil, e
	}
	p.Deleted, p.PaymentProvider, p.UpdatedAt = true, nil, ghl.NewTime(req.now)
	return map[string]bool{"success": true}, nil
}

func (s *Server) getCustomProvider(req *apiRequest) (any, *apiError) {
	l := req.loc
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, e := l.activeProvider()
	if e != nil {
		return nil, e
	}
	return s.customProviderView(p), nil
}

func (s *Server) connectCustomProvider(req *apiRequest) (any, *apiError) {
	var b struct {
		Live *ghl.CustomProviderKeys `json:"live"`
		Test *ghl.CustomProviderKeys `json:"test"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	var msgs []string
	for mode, k := range map[string]*ghl.CustomProviderKeys{"live": b.Live, "test": b.Test} {
		if k == nil || k.APIKey == "" || k.PublishableKey == "" {
			msgs = append(msgs, mode+".apiKey should not be empty", mode+".publishableKey should not be empty")
		}
	}
	if len(msgs) > 0 {
		return nil, unprocessable(msgs...)
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	p, e := l.activeProvider()
	if e != nil {
		return nil, e
	}
	p.PaymentProvider = &ghl.CustomProviderConfigs{
		Live: &ghl.CustomProviderConfig{LiveMode: true, APIKey: b.Live.APIKey, PublishableKey: b.Live.PublishableKey},
		Test: &ghl.CustomProviderConfig{LiveMode: false, APIKey: b.Test.APIKey, PublishableKey: b.Test.PublishableKey},
	}
	p.UpdatedAt = ghl.NewTime(req.now)
	return s.customProviderView(p), nil
}

func (s *Server) disconnectCustomProvider(req *apiRequest) (any, *apiError) {
	var b struct {
		LiveMode *bool `json:"liveMode"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if b.LiveMode == nil {
		return nil, unprocessable("liveMode must be a boolean value")
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	p, e := l.activeProvider()
	if e != nil {
		return nil, e
	}
	if p.PaymentProvider != nil {
		if *b.LiveMode {
			p.PaymentProvider.Live = nil
		} else {
			p.PaymentProvider.Test = nil
		}
		if p.PaymentProvider.Live == nil && p.PaymentProvider.Test == nil {
			p.PaymentProvider = nil
		}
	}
	p.UpdatedAt = ghl.NewTime(req.now)
	return map[string]bool{"success": true}, nil
}

func (s *Server) updateCapabilities(req *apiRequest) (any, *apiError) {
	var b struct {
		SupportsSubscriptionSchedules *bool `json:"supportsSubscriptionSchedules"`
	}
	if e := req.decode(&b); e != nil {
		return nil, e
	}
	if b.SupportsSubscriptionSchedules == nil {
		return nil, unprocessable("supportsSubscriptionSchedules must be a boolean value")
	}
	if req.loc == nil {
		// A company-level call: every location of the company.
		for _, l := range req.company {
			l.mu.Lock()
			l.capabilities = b.SupportsSubscriptionSchedules
			l.mu.Unlock()
		}
		return map[string]bool{"success": true}, nil
	}
	l := req.loc
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, e := l.activeProvider(); e != nil {
		return nil, e
	}
	l.capabilities = b.SupportsSubscriptionSchedules
	return map[string]bool{"success": true}, nil
}
