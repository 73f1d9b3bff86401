package account

import (
	"errors"

	"github.com/mlapi/mlapi/internal/apperr"
)

// Result is how a login (IssueToken) or a registration (Register) ended,
// as an Observer is told: a small fixed set, fit for a metric's label.
type Result string

const (
	ResultOK Result = "ok"
	// ResultBadCredentials: an unknown user, a wrong password, or a name
	// or password no account can have.
	ResultBadCredentials Result = "bad_credentials"
	// ResultDisabled: the right password of a disabled account.
	ResultDisabled Result = "disabled"
	// ResultInvalid: a registration's input was refused.
	ResultInvalid Result = "invalid"
	// ResultConflict: the username is taken.
	ResultConflict Result = "conflict"
	// ResultThrottled: too many logins for this username.
	ResultThrottled Result = "throttled"
	// ResultRateLimited: the client address is over its rate (ClientLimits'
	// Login or Register).
	ResultRateLimited Result = "rate_limited"
	// ResultBusy: no place to hash the password in time, the address's or
	// the server's.
	ResultBusy Result = "busy"
	// ResultUnavailable: the database could not be reached.
	ResultUnavailable Result = "unavailable"
	// ResultError: anything else.
	ResultError Result = "error"
)

// Observer is told how each login and registration ended: the metrics. It
// runs on the caller's goroutine, so it must be quick.
type Observer interface {
	ObserveLogin(Result)
	ObserveRegistration(Result)
}

// WithObserver tells o how each login and registration ends.
func WithObserver(o Observer) Option {
	return func(s *Service) { s.observer = o }
}

// The refusals Result tells apart from others of their code.
var (
	// errUsernameThrottled is the cause of a refusal by the username's
	// attempts (countAttempt), whose message names the operation.
	errUsernameThrottled = errors.New("the username is over its attempts")
	// errRateLimited is the cause of a refusal by the address's rate, whose
	// message varies with the time to wait.
	errRateLimited = errors.New("the client address is over its rate")
)

// resultOf names how a login or registration that returned err ended.
func resultOf(err error) Result {
	switch {
	case err == nil:
		return ResultOK
	case errors.Is(err, errBadCredentials):
		return ResultBadCredentials
	case errors.Is(err, errUsernameThrottled):
		return ResultThrottled
	case errors.Is(err, errRateLimited):
		return ResultRateLimited
	}
	switch apperr.CodeOf(err) {
	case apperr.TooManyRequests:
		return ResultBusy
	case apperr.Forbidden:
		return ResultDisabled
	case apperr.Invalid:
		return ResultInvalid
	case apperr.Conflict:
		return ResultConflict
	case apperr.Unavailable:
		return ResultUnavailable
	}
	return ResultError
}
