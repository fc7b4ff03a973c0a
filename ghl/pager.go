package ghl

import (
	"context"
	"iter"
)

// Page is one page of a list: its records and the total GHL reports for the
// whole list.
type Page[T any] struct {
	Items      []T
	TotalCount int
}

// paginate walks a list page by page from offset, pageSize records at a time.
// It advances by the number of records received, not the number asked for, so
// that a server capping the page size cannot make it skip records, and it
// stops at the reported total or at an empty page.
func paginate[T any](ctx context.Context, offset, pageSize int,
	fetch func(ctx context.Context, limit, offset int) (Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			page, err := fetch(ctx, pageSize, offset)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range page.Items {
				if !yield(item, nil) {
					return
				}
			}
			offset += len(page.Items)
			if len(page.Items) == 0 || (page.TotalCount > 0 && offset >= page.TotalCount) {
				return
			}
		}
	}
}

func (c *Client) pageSizeOr(limit int) int {
	if limit > 0 {
		return limit
	}
	return c.pageSize
}

// listResponse is the {data, totalCount} envelope of most list operations.
type listResponse[T any] struct {
	Data       []T `json:"data"`
	TotalCount int `json:"totalCount"`
}

func (r listResponse[T]) page() Page[T] { return Page[T]{Items: r.Data, TotalCount: r.TotalCount} }
