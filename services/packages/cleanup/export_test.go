package cleanup

import (
	"context"

	user_model "wharf/models/user"
)

// RemovePassOnly is RunConfirmed's remove pass without its check pass:
// what the run does when the selection changed after the check passed.
func (s *Service) RemovePassOnly(ctx context.Context, doer *user_model.User, ownerName string, id int64, confirmed []int64) (*Result, error) {
	owner, r, err := s.ruleOf(ctx, doer, ownerName, id)
	if err != nil {
		return nil, err
	}
	only := map[int64]bool{}
	for _, vid := range confirmed {
		only[vid] = true
	}
	return s.runWithin(ctx, owner, r, only)
}
