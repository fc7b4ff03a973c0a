package app

// OffsetCursor is the cursor that starts an offset-paged list (deliveries,
// exceptions, pushes, notices) at its nth item, for a caller that counts
// rather than follows the lists' cursors (the CLI's --offset).
func OffsetCursor(n int) string {
	if n <= 0 {
		return ""
	}
	return encodeOffset(n)
}
