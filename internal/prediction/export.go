package prediction

import (
	"context"

	"github.com/mlapi/mlapi/internal/store"
)

// Export calls each with every request of the user's that matches filter,
// in order, each with its response and outcome. It reads them in keyset
// pages of MaxPageSize, so memory stays bounded whatever the history's
// size, and stops at the first error each returns, or ctx's.
func (s *Service) Export(ctx context.Context, userID int64, filter store.RequestFilter, order store.Order, each func(store.Request) error) error {
	if err := ValidateFilter(filter); err != nil {
		return err
	}
	q := store.PageQuery{Filter: filter, Order: order, Size: MaxPageSize, SkipCount: true}
	for {
		page, err := s.log.ListRequests(ctx, userID, q)
		if err != nil {
			return err
		}
		for _, r := range page.Requests {
			if err := each(r); err != nil {
				return err
			}
		}
		if !page.HasNextPage {
			return nil
		}
		q.AfterID = page.Requests[len(page.Requests)-1].ID
	}
}
