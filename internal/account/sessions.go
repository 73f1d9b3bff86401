package account

import (
	"context"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/store"
)

// tokenCheck is what the store confirms about a verified token.
func tokenCheck(c auth.Claims) store.TokenCheck {
	return store.TokenCheck{Generation: c.Generation, TokenID: c.ID}
}

// Logout revokes the token the request carries, and only that one: the
// user's other tokens keep working. The revocation is kept until the token
// expires.
func (s *Service) Logout(ctx context.Context) error {
	user, claims, err := s.authenticate(ctx)
	if err != nil {
		return err
	}
	return s.users.RevokeToken(ctx, store.RevokedToken{
		TokenID:   claims.ID,
		UserID:    user.ID,
		ExpiresAt: claims.ExpiresAt,
	}, s.tokens.RevocationHorizon())
}

var errWrongPassword = apperr.New(apperr.Invalid, "the current password is wrong")

// ChangePassword replaces the caller's password after checking the current
// one, revokes every token issued to the caller so far (the one in use
// included), and returns a fresh token. The new password follows the rules
// of a registration and must differ from the current one. Attempts count
// against the same per-user limit as logins, so a stolen token cannot be
// used to guess the password.
func (s *Service) ChangePassword(ctx context.Context, currentPassword, newPassword string) (Token, error) {
	user, claims, err := s.authenticate(ctx)
	if err != nil {
		return Token{}, err
	}
	// Two hashes: counted and queued per client address, as a login is.
	done, err := s.clients.admit(ctx, opLogin)
	if err != nil {
		return Token{}, err
	}
	defer done()
	if err := auth.ValidateNewPassword(newPassword); err != nil {
		return Token{}, err
	}
	if newPassword == currentPassword {
		return Token{}, apperr.New(apperr.Invalid, "the new password must differ from the current one")
	}
	// Each guess at the current password counts, as a login does.
	if err := s.countAttempt(ctx, user.Username, "password"); err != nil {
		return Token{}, err
	}
	if auth.ValidatePassword(currentPassword) != nil {
		return Token{}, errWrongPassword // no account has it: no hashing needed
	}
	ok, err := s.passwords.Verify(ctx, user.PasswordHash, currentPassword)
	if err != nil {
		return Token{}, err
	}
	if !ok {
		return Token{}, errWrongPassword
	}
	hash, err := s.passwords.Hash(ctx, newPassword)
	if err != nil {
		return Token{}, err
	}
	// Only while the token is still good: after a revocation or a
	// concurrent change since it was checked, storage finds no such user,
	// and nothing changes.
	updated, err := s.users.ChangePassword(ctx, user.ID, tokenCheck(claims), hash)
	if err != nil {
		return Token{}, CallerError(err)
	}
	token, expiresAt, err := s.tokens.Issue(updated.ID, updated.TokenGeneration)
	if err != nil {
		return Token{}, err
	}
	return Token{Token: token, Type: "Bearer", ExpiresAt: expiresAt}, nil
}

// RevokeUserTokens revokes every token issued to a user so far, on an
// administrator's behalf; the user can log in again. An administrator may
// revoke their own tokens, not another administrator's.
func (s *Service) RevokeUserTokens(ctx context.Context, userID int64) (store.User, error) {
	admin, err := s.RequireAdmin(ctx)
	if err != nil {
		return store.User{}, err
	}
	if err := s.notAnotherAdmin(ctx, admin, userID); err != nil {
		return store.User{}, err
	}
	return s.users.RevokeUserTokens(ctx, userID)
}

// notAnotherAdmin refuses an administrator's operation on another
// administrator's account: over the API, administrators cannot lock each
// other out. The command line can. A missing user is NotFound.
func (s *Service) notAnotherAdmin(ctx context.Context, admin store.User, userID int64) error {
	if admin.ID == userID {
		return nil
	}
	target, err := s.users.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if target.Role == store.RoleAdmin {
		return apperr.New(apperr.Forbidden, "an administrator cannot disable, enable, delete or revoke the tokens of another administrator")
	}
	return nil
}
