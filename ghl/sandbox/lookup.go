package sandbox

// find returns the first of recs that match accepts, or nil. A location's
// zones, carriers, templates and catalog are short lists kept in the order
// their owner made them, so a scan serves where an index would have to be
// kept in step with every write.
func find[R any](recs []*R, match func(*R) bool) *R {
	for _, r := range recs {
		if match(r) {
			return r
		}
	}
	return nil
}

// found turns a lookup's nil into GHL's 404, worded as the API words it for
// that record ("Shipping zone not found").
func found[R any](rec *R, missing string) (*R, *apiError) {
	if rec == nil {
		return nil, notFound(missing)
	}
	return rec, nil
}
