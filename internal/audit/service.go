package audit

import (
	"context"

	"github.com/mlapi/mlapi/internal/apperr"
)

// Service verifies one log with one key, for the API: one verification at a
// time, since each reads the whole log.
type Service struct {
	src  Source
	key  Key
	busy chan struct{}
}

// NewService returns a Service verifying src with key.
func NewService(src Source, key Key) *Service {
	return &Service{src: src, key: key, busy: make(chan struct{}, 1)}
}

// Verify verifies the log, or refuses with TooManyRequests while another
// verification runs.
func (s *Service) Verify(ctx context.Context) (Report, error) {
	select {
	case s.busy <- struct{}{}:
	default:
		return Report{}, apperr.New(apperr.TooManyRequests, "the audit log is being verified already: try again when that ends")
	}
	defer func() { <-s.busy }()
	return Verify(ctx, s.src, s.key)
}
