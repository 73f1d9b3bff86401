package account

import (
	"context"
	"strings"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/auth"
	"github.com/mlapi/mlapi/internal/store"
)

// UserCreator is the storage a Registry needs.
type UserCreator interface {
	CreateUser(ctx context.Context, u store.NewUser) (store.User, error)
}

// Registry creates accounts. It is the part of the account service that the
// command line needs, which issues no tokens and has no callers to limit.
type Registry struct {
	users     UserCreator
	passwords *auth.Passwords
}

// NewRegistry returns a Registry storing users in users and hashing their
// passwords with passwords.
func NewRegistry(users UserCreator, passwords *auth.Passwords) *Registry {
	return &Registry{users: users, passwords: passwords}
}

// Registration is what a new user supplies.
type Registration struct {
	Username string
	Password string
	Email    string
}

// Register creates an enabled user with the "user" role.
func (r *Registry) Register(ctx context.Context, reg Registration) (store.User, error) {
	return r.create(ctx, reg, store.RoleUser)
}

// CreateAdmin creates an enabled administrator; only the command line calls
// it.
func (r *Registry) CreateAdmin(ctx context.Context, reg Registration) (store.User, error) {
	return r.create(ctx, reg, store.RoleAdmin)
}

func (r *Registry) create(ctx context.Context, reg Registration, role store.Role) (store.User, error) {
	email, err := validateRegistration(reg)
	if err != nil {
		return store.User{}, err
	}
	hash, err := r.passwords.Hash(ctx, reg.Password)
	if err != nil {
		return store.User{}, err
	}
	// Uniqueness is the database's constraint, not a check made here first:
	// two concurrent registrations of one name cannot both succeed.
	return r.users.CreateUser(ctx, store.NewUser{
		Username:     reg.Username,
		Email:        email,
		PasswordHash: hash,
		Role:         role,
	})
}

// validateRegistration checks every field and reports all problems at once,
// each with the field it concerns.
func validateRegistration(reg Registration) (email string, err error) {
	var problems []apperr.FieldProblem
	if err := auth.ValidateUsername(reg.Username); err != nil {
		problems = append(problems, apperr.FieldProblem{Field: "username", Message: apperr.MessageOf(err)})
	}
	if err := auth.ValidateNewPassword(reg.Password); err != nil {
		problems = append(problems, apperr.FieldProblem{Field: "password", Message: apperr.MessageOf(err)})
	}
	email, err = auth.NormalizeEmail(reg.Email)
	if err != nil {
		problems = append(problems, apperr.FieldProblem{Field: "email", Message: apperr.MessageOf(err)})
	}
	if len(problems) > 0 {
		messages := make([]string, len(problems))
		for i, p := range problems {
			messages[i] = p.Message
		}
		return "", apperr.Wrap(apperr.Invalid, strings.Join(messages, "; "), &apperr.FieldsError{Problems: problems})
	}
	return email, nil
}
