package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// resultRecorder is an Observer that keeps what it is told.
type resultRecorder struct {
	mu                    sync.Mutex
	logins, registrations []Result
}

func (r *resultRecorder) ObserveLogin(res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logins = append(r.logins, res)
}

func (r *resultRecorder) ObserveRegistration(res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.registrations = append(r.registrations, res)
}

// The observer hears how every login and registration ended, each refusal
// by its reason.
func TestObserverHearsEveryResult(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		clock := newTestClock()
		recorder := &resultRecorder{}
		s := NewService(db, cheapPasswords(), limitsTokens(t),
			must(auth.NewAttemptLimiter(auth.AttemptLimiterConfig{Max: 3, Now: clock.Now})),
			WithClientLimits(ClientLimits{Login: limiter(1, time.Hour, clock), Register: limiter(2, time.Hour, clock)}),
			WithObserver(recorder))
		register := func(ctx context.Context, username, password string) Result {
			_, err := s.Register(ctx, Registration{Username: username, Password: password, Email: username + "@example.com"})
			return resultOf(err)
		}
		login := func(ctx context.Context, username, password string) Result {
			_, err := s.IssueToken(ctx, username, password)
			return resultOf(err)
		}
		disable := func(username string) {
			u, err := db.UserByUsername(t.Context(), username)
			if err == nil {
				_, err = db.SetUserEnabled(t.Context(), u.ID, false)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		anywhere := context.Background() // the command line: no address, no address limits
		steps := []struct {
			name         string
			registration bool
			call         func() Result
			want         Result
		}{
			{"registered", true, func() Result { return register(from("192.0.2.1"), "ada", limitsPassword) }, ResultOK},
			{"name taken", true, func() Result { return register(from("192.0.2.1"), "ADA", limitsPassword) }, ResultConflict},
			{"address over its rate", true, func() Result { return register(from("192.0.2.1"), "bob", limitsPassword) }, ResultRateLimited},
			{"input refused", true, func() Result { return register(anywhere, "bob", "short") }, ResultInvalid},
			{"logged in", false, func() Result { return login(anywhere, "ada", limitsPassword) }, ResultOK},
			{"wrong password", false, func() Result { return login(anywhere, "ada", "wrong password") }, ResultBadCredentials},
			{"unknown user", false, func() Result { return login(anywhere, "nobody", limitsPassword) }, ResultBadCredentials},
			{"third attempt for the name", false, func() Result { return login(anywhere, "ada", "wrong password") }, ResultBadCredentials},
			{"name throttled", false, func() Result { return login(anywhere, "ada", limitsPassword) }, ResultThrottled},
			{"address's first login", false, func() Result { return login(from("192.0.2.9"), "nobody", limitsPassword) }, ResultBadCredentials},
			{"address over its login rate", false, func() Result { return login(from("192.0.2.9"), "nobody", limitsPassword) }, ResultRateLimited},
			{"registered to be disabled", true, func() Result { return register(anywhere, "grace", limitsPassword) }, ResultOK},
			{"disabled", false, func() Result { disable("grace"); return login(anywhere, "grace", limitsPassword) }, ResultDisabled},
		}
		var wantLogins, wantRegistrations []Result
		for _, step := range steps {
			if got := step.call(); got != step.want {
				t.Errorf("%s: %s, want %s", step.name, got, step.want)
			}
			if step.registration {
				wantRegistrations = append(wantRegistrations, step.want)
			} else {
				wantLogins = append(wantLogins, step.want)
			}
		}
		recorder.mu.Lock()
		defer recorder.mu.Unlock()
		if !slices.Equal(recorder.logins, wantLogins) {
			t.Errorf("logins observed %v, want %v", recorder.logins, wantLogins)
		}
		if !slices.Equal(recorder.registrations, wantRegistrations) {
			t.Errorf("registrations observed %v, want %v", recorder.registrations, wantRegistrations)
		}
	})
}

// The refusals no call above meets are told apart by their code.
func TestResultOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want Result
	}{
		{errAddressBusy, ResultBusy},
		{apperr.Wrap(apperr.TooManyRequests, "too many login attempts in progress", errors.New("hashing slots taken")), ResultBusy},
		{fmt.Errorf("look up: %w", apperr.Wrap(apperr.Unavailable, "the database is unavailable", errors.New("dial tcp"))), ResultUnavailable},
		{context.Canceled, ResultError},
	}
	for _, tt := range tests {
		if got := resultOf(tt.err); got != tt.want {
			t.Errorf("resultOf(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}
