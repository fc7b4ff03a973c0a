package sandbox

// storeRoutes serve the store API: shipping zones and rates, carriers and
// the store's settings.
func (s *Server) storeRoutes() []route { return nil }
