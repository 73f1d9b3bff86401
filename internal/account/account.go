// Package account registers users, exchanges passwords for access tokens,
// authenticates callers and carries out the administrators' user management.
package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/store"
)

// Users is the storage the service needs.
type Users interface {
	CreateUser(ctx context.Context, u store.NewUser) (store.User, error)
	UserByUsername(ctx context.Context, username string) (store.User, error)
	TokenUser(ctx context.Context, id int64, check store.TokenCheck) (store.User, error)
	UserByID(ctx context.Context, id int64) (store.User, error)
	SetUserEnabled(ctx context.Context, id int64, enabled bool) (store.User, error)
	DeleteUser(ctx context.Context, id int64) error
	RevokeToken(ctx context.Context, t store.RevokedToken, pruneBefore time.Time) error
	RevokeUserTokens(ctx context.Context, id int64) (store.User, error)
	ChangePassword(ctx context.Context, id int64, c store.TokenCheck, passwordHash string) (store.User, error)
	ListUsers(ctx context.Context, q store.UserQuery) (store.UserPage, error)
}

// Limiter counts the attempts of a key (a username, a client address) and
// says whether one more is within the limit, or how long until it would be.
// auth.AttemptLimiter counts in this process's memory; auth.SharedLimiter
// in the database, for every process using it. An attempt that could not be
// counted is refused with the error.
type Limiter interface {
	Attempt(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// Service implements the account operations.
type Service struct {
	registry  *Registry
	users     Users
	passwords *auth.Passwords
	tokens    *auth.Tokens
	attempts  Limiter       // per username
	clients   *clientLimits // per client address; nil: none (limits.go)
	observer  Observer      // nil: none (observer.go)
}

// NewService returns a Service using the given storage and credentials,
// counting the login attempts of each username in attempts.
func NewService(users Users, passwords *auth.Passwords, tokens *auth.Tokens, attempts Limiter, opts ...Option) *Service {
	s := &Service{
		registry:  NewRegistry(users, passwords),
		users:     users,
		passwords: passwords,
		tokens:    tokens,
		attempts:  attempts,
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Register creates an enabled user with the "user" role, within the
// caller's address limits.
func (s *Service) Register(ctx context.Context, r Registration) (store.User, error) {
	user, err := s.register(ctx, r)
	if s.observer != nil {
		s.observer.ObserveRegistration(resultOf(err))
	}
	return user, err
}

func (s *Service) register(ctx context.Context, r Registration) (store.User, error) {
	done, err := s.clients.admit(ctx, opRegister)
	if err != nil {
		return store.User{}, err
	}
	defer done()
	return s.registry.Register(ctx, r)
}

// Token is an issued access token.
type Token struct {
	Token     string
	Type      string
	ExpiresAt time.Time
}

var errBadCredentials = apperr.New(apperr.Unauthenticated, "invalid username or password")

// IssueToken checks a username and password and issues an access token. An
// unknown user and a wrong password get the same answer after the same work.
func (s *Service) IssueToken(ctx context.Context, username, password string) (Token, error) {
	token, err := s.issueToken(ctx, username, password)
	if s.observer != nil {
		s.observer.ObserveLogin(resultOf(err))
	}
	return token, err
}

func (s *Service) issueToken(ctx context.Context, username, password string) (Token, error) {
	done, err := s.clients.admit(ctx, opLogin)
	if err != nil {
		return Token{}, err
	}
	defer done()
	// A name or a password no account can have (a NUL byte, 10 KB of
	// text): refused at once, before it takes a throttle slot, a hash or a
	// query. The rules are public, so this tells an attacker nothing.
	if auth.ValidateUsername(username) != nil {
		return Token{}, errBadCredentials
	}
	if err := s.countAttempt(ctx, username, "login"); err != nil {
		return Token{}, err
	}
	if auth.ValidatePassword(password) != nil {
		return Token{}, errBadCredentials
	}
	user, err := s.users.UserByUsername(ctx, username)
	if errors.Is(err, store.ErrUserNotFound) {
		if err := s.passwords.VerifyUnknownUser(ctx, password); err != nil {
			return Token{}, err
		}
		return Token{}, errBadCredentials
	}
	if err != nil {
		return Token{}, err
	}
	ok, err := s.passwords.Verify(ctx, user.PasswordHash, password)
	if err != nil {
		return Token{}, err
	}
	if !ok {
		return Token{}, errBadCredentials
	}
	if !user.Enabled {
		return Token{}, apperr.New(apperr.Forbidden, "this account is disabled")
	}
	token, expiresAt, err := s.tokens.Issue(user.ID, user.TokenGeneration)
	if err != nil {
		return Token{}, err
	}
	return Token{Token: token, Type: "Bearer", ExpiresAt: expiresAt}, nil
}

// countAttempt counts an attempt at username's password, and refuses it
// beyond the limit, naming what was attempted.
func (s *Service) countAttempt(ctx context.Context, username, what string) error {
	ok, _, err := s.attempts.Attempt(ctx, strings.ToLower(username))
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Wrap(apperr.TooManyRequests, fmt.Sprintf("too many %s attempts for this user, try again in a minute", what), errUsernameThrottled)
	}
	return nil
}

var errNoToken = apperr.New(apperr.Unauthenticated, "this operation needs an access token: send 'Authorization: Bearer <token>'")

// Authenticate returns the enabled user whose token ctx carries. A disabled or
// deleted user's token stops working here, on the next request, and so does
// a revoked token (logout, a password change, revokeUserTokens).
func (s *Service) Authenticate(ctx context.Context) (store.User, error) {
	user, _, err := s.authenticate(ctx)
	return user, err
}

// authenticate is Authenticate, also returning the token's claims.
func (s *Service) authenticate(ctx context.Context) (store.User, auth.Claims, error) {
	token, err := callerToken(ctx)
	if err != nil {
		return store.User{}, auth.Claims{}, err
	}
	claims, err := s.tokens.Verify(token)
	if err != nil {
		return store.User{}, auth.Claims{}, err
	}
	user, err := s.tokenUser(ctx, claims)
	return user, claims, err
}

// CallerID verifies the token ctx carries, without a database read, and
// returns the caller's id with a context for the next storage call. Use it
// only where that call re-checks the user itself, and pass it the returned
// context: the context carries the token's generation and id, which the
// store checks too (store.WithTokenCheck), so that a revoked token is
// refused there.
func (s *Service) CallerID(ctx context.Context) (context.Context, int64, error) {
	token, err := callerToken(ctx)
	if err != nil {
		return ctx, 0, err
	}
	claims, err := s.tokens.Verify(token)
	if err != nil {
		return ctx, 0, err
	}
	return store.WithTokenCheck(ctx, tokenCheck(claims)), claims.UserID, nil
}

// callerToken returns the access token the request carries, or why it
// carries none that can be used.
func callerToken(ctx context.Context) (string, error) {
	if token, ok := auth.TokenFrom(ctx); ok {
		return token, nil
	}
	if reason, malformed := auth.MalformedCredentials(ctx); malformed {
		return "", apperr.New(apperr.Unauthenticated, reason)
	}
	return "", errNoToken
}

func (s *Service) tokenUser(ctx context.Context, claims auth.Claims) (store.User, error) {
	user, err := s.users.TokenUser(ctx, claims.UserID, tokenCheck(claims))
	return user, CallerError(err)
}

// sessionEnded is the message of a token that no longer speaks for an
// active user, however that came about: revoked, its user disabled or
// deleted. One message for all, so a token's holder learns nothing more.
const sessionEnded = "the token has been revoked, or its user is disabled or no longer exists"

// CallerError returns err as the caller must see it, for a call made on
// the caller's own behalf (under the context CallerID returns). It turns
// store.ErrUserNotFound, storage's word for a user who is not there or not
// active, into Unauthenticated: that ends the caller's session. Any other
// err is returned as it is. This is the one place that decision is made.
func CallerError(err error) error {
	if errors.Is(err, store.ErrUserNotFound) {
		return apperr.Wrap(apperr.Unauthenticated, sessionEnded, err)
	}
	return err
}

// TokenStatus reports whether token is valid now: a good signature, not
// expired, not revoked, and a user that still exists and is enabled.
func (s *Service) TokenStatus(ctx context.Context, token string) (valid bool, expiresAt time.Time, err error) {
	claims, err := s.tokens.Verify(token)
	if err != nil {
		return false, time.Time{}, nil
	}
	if _, err := s.tokenUser(ctx, claims); err != nil {
		if apperr.CodeOf(err) == apperr.Unauthenticated {
			return false, time.Time{}, nil
		}
		return false, time.Time{}, err
	}
	return true, claims.ExpiresAt, nil
}

// SetUserEnabled enables or disables a user on an administrator's behalf.
func (s *Service) SetUserEnabled(ctx context.Context, userID int64, enabled bool) (store.User, error) {
	admin, err := s.RequireAdmin(ctx)
	if err != nil {
		return store.User{}, err
	}
	if admin.ID == userID && !enabled {
		return store.User{}, apperr.New(apperr.Invalid, "an administrator cannot disable their own account")
	}
	if err := s.notAnotherAdmin(ctx, admin, userID); err != nil {
		return store.User{}, err
	}
	return s.users.SetUserEnabled(ctx, userID, enabled)
}

// DeleteUser deletes a user, their requests and their responses, on an
// administrator's behalf.
func (s *Service) DeleteUser(ctx context.Context, userID int64) error {
	admin, err := s.RequireAdmin(ctx)
	if err != nil {
		return err
	}
	if admin.ID == userID {
		return apperr.New(apperr.Invalid, "an administrator cannot delete their own account")
	}
	if err := s.notAnotherAdmin(ctx, admin, userID); err != nil {
		return err
	}
	return s.users.DeleteUser(ctx, userID)
}

// User returns a user's account to that user or to an administrator; anyone
// else is told it does not exist, as they are for a missing user.
func (s *Service) User(ctx context.Context, userID int64) (store.User, error) {
	caller, err := s.Authenticate(ctx)
	if err != nil {
		return store.User{}, err
	}
	switch {
	case caller.ID == userID:
		return caller, nil
	case caller.Role != store.RoleAdmin:
		return store.User{}, store.ErrUserNotFound
	}
	return s.users.UserByID(ctx, userID)
}

// RequireAdmin returns the authenticated caller when they are an
// administrator: UNAUTHENTICATED without a valid token, FORBIDDEN otherwise.
func (s *Service) RequireAdmin(ctx context.Context) (store.User, error) {
	user, err := s.Authenticate(ctx)
	if err != nil {
		return store.User{}, err
	}
	if user.Role != store.RoleAdmin {
		return store.User{}, apperr.New(apperr.Forbidden, "this operation is for administrators only")
	}
	return user, nil
}
