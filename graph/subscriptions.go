package graph

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/gqlhttp"
	"github.com/mlapi/mlapi/internal/live"
	"github.com/mlapi/mlapi/internal/store"
)

// DefaultRecheck is how often a subscription checks its token again when
// nothing happens: a session ended where no event announces it (mlapi user
// disable, on the command line) ends its subscriptions within this time.
const DefaultRecheck = 30 * time.Second

// liveUpdates serves the subscriptions.
type liveUpdates struct {
	broker  *live.Broker
	recheck time.Duration
	logger  *slog.Logger
}

// WithLive serves requestLogged from broker, each subscription checking its
// token every recheck (DefaultRecheck when zero) besides on every event.
// Without it, requestLogged answers SERVICE_UNAVAILABLE. Failures that end
// a subscription, other than the client's, go to logger.
func WithLive(broker *live.Broker, recheck time.Duration, logger *slog.Logger) ResolverOption {
	if recheck <= 0 {
		recheck = DefaultRecheck
	}
	return func(r *Resolver) { r.live = &liveUpdates{broker: broker, recheck: recheck, logger: logger} }
}

var errNoLive = apperr.New(apperr.Unavailable, "live updates are not served here")

// requestLogged subscribes the caller to its own logged requests. It
// authenticates the caller once (a database read), takes one of the
// caller's few subscription places, and relays events until the client
// leaves, the token expires, or the session ends otherwise.
func (r *Resolver) requestLogged(ctx context.Context) (<-chan *store.Request, error) {
	if r.live == nil {
		return nil, errNoLive
	}
	user, expires, err := r.accounts.Session(ctx)
	if err != nil {
		return nil, err
	}
	sub, err := r.live.broker.Subscribe(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	out := make(chan *store.Request)
	go r.relay(ctx, sub, user.ID, expires, out)
	return out, nil
}

var errTokenExpired = apperr.New(apperr.Unauthenticated, "the token has expired: subscribe again with a fresh one")

// relay sends the caller's requests named by sub's events to out, read back
// scoped to userID, and closes out when the subscription ends: ctx done,
// the token's expiry, the broker closing it, or the session found ended.
// The session is checked again before every request sent (so nothing
// reaches a disabled user), on every UserChanged event (an admin's action,
// at once) and every recheck (what no event announces).
func (r *Resolver) relay(ctx context.Context, sub *live.Subscription, userID int64, expires time.Time, out chan<- *store.Request) {
	defer close(out)
	defer sub.Close()
	expiry := time.NewTimer(time.Until(expires))
	defer expiry.Stop()
	recheck := time.NewTicker(r.live.recheck)
	defer recheck.Stop()
	for {
		var e live.Event
		select {
		case <-ctx.Done():
			return
		case <-expiry.C:
			r.live.end(ctx, errTokenExpired)
			return
		case <-recheck.C:
			if err := r.sessionGoes(ctx, userID); err != nil {
				r.live.end(ctx, err)
				return
			}
			continue
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			e = ev
		}
		if err := r.sessionGoes(ctx, userID); err != nil {
			r.live.end(ctx, err)
			return
		}
		if e.Kind != live.RequestLogged {
			continue
		}
		req, err := r.served().predictions.Request(ctx, userID, e.RequestID)
		switch {
		case errors.Is(err, store.ErrRequestNotFound):
			continue // deleted since, with its user
		case err != nil:
			r.live.end(ctx, err)
			return
		}
		select {
		case out <- &req:
		case <-ctx.Done():
			return
		}
	}
}

// sessionGoes returns nil while ctx's token still speaks for userID: not
// expired or revoked, its user enabled.
func (r *Resolver) sessionGoes(ctx context.Context, userID int64) error {
	user, err := r.accounts.Authenticate(ctx)
	if err != nil {
		return err
	}
	if user.ID != userID {
		return apperr.New(apperr.Unauthenticated, "the token no longer speaks for this subscription's user")
	}
	return nil
}

// end tells the client why its subscription ends, where the transport
// can (gqlhttp.EndSubscription), as the error presenter would: an apperr's
// code and message, anything else INTERNAL and logged. ctx done means the
// client left and hears nothing.
func (l *liveUpdates) end(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	presented := &gqlerror.Error{Message: "internal error", Extensions: map[string]any{"code": string(apperr.Internal)}}
	var appErr *apperr.Error
	if errors.As(err, &appErr) && appErr.Code != apperr.Internal {
		presented = &gqlerror.Error{Message: appErr.Message, Extensions: map[string]any{"code": string(appErr.Code)}}
	}
	if code := presented.Extensions["code"]; (code == string(apperr.Internal) || code == string(apperr.Unavailable)) && l.logger != nil {
		l.logger.ErrorContext(ctx, "subscription ended", "code", code, "err", err)
	}
	gqlhttp.EndSubscription(ctx, presented)
}
