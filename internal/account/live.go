package account

import (
	"context"
	"time"

	"github.com/mlapi/mlapi/internal/store"
)

// Session returns the enabled user whose token ctx carries, as Authenticate
// does, and when that token expires. A long-lived caller (a subscription)
// ends at that time, and calls Authenticate again to learn whether the
// token was revoked or its user disabled or deleted meanwhile.
func (s *Service) Session(ctx context.Context) (store.User, time.Time, error) {
	user, claims, err := s.authenticate(ctx)
	if err != nil {
		return store.User{}, time.Time{}, err
	}
	return user, claims.ExpiresAt, nil
}
