package db

// ListOptions pages a list query. Page starts at 1; a Page below 1 is
// treated as 1. PageSize must be positive (the routers clamp it).
type ListOptions struct {
	Page     int
	PageSize int
}

// Offset is the number of rows to skip.
func (o ListOptions) Offset() int {
	if o.Page < 1 {
		return 0
	}
	return (o.Page - 1) * o.PageSize
}
