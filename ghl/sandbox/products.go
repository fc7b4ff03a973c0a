package sandbox

// productRoutes serve the products API: products, prices, inventory,
// collections, reviews and the store's product settings.
func (s *Server) productRoutes() []route { return nil }
