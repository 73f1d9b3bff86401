package store_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

func TestCreateUserAndLookUp(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		created, err := db.CreateUser(ctx, store.NewUser{
			Username: "Ada", Email: "ada@example.com", PasswordHash: "hash", Role: store.RoleAdmin,
		})
		if err != nil {
			t.Fatal(err)
		}
		if created.ID == 0 || !created.Enabled || created.Role != store.RoleAdmin ||
			created.CreatedAt.Location() != time.UTC || !created.UpdatedAt.Equal(created.CreatedAt) {
			t.Fatalf("created %+v", created)
		}

		lookups := []struct {
			name string
			get  func() (store.User, error)
		}{
			{"by username as registered", func() (store.User, error) { return db.UserByUsername(ctx, "Ada") }},
			{"by username lower case", func() (store.User, error) { return db.UserByUsername(ctx, "ada") }},
			{"by username upper case", func() (store.User, error) { return db.UserByUsername(ctx, "ADA") }},
			{"by id", func() (store.User, error) { return db.UserByID(ctx, created.ID) }},
			{"active", func() (store.User, error) { return db.ActiveUser(ctx, created.ID) }},
		}
		for _, lookup := range lookups {
			got, err := lookup.get()
			if err != nil {
				t.Fatalf("%s: %v", lookup.name, err)
			}
			if !sameUser(got, created) {
				t.Fatalf("%s: got %+v, want %+v", lookup.name, got, created)
			}
		}

		plain := createUser(t, db, "grace")
		if plain.Role != store.RoleUser {
			t.Fatalf("default role %q, want %q", plain.Role, store.RoleUser)
		}
	})
}

func TestCreateUserRefuses(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		existing := createUser(t, db, "Ada")
		tests := []struct {
			name    string
			user    store.NewUser
			code    apperr.Code
			message string
		}{
			{"same name", store.NewUser{Username: "Ada"}, apperr.Conflict, "username is already taken"},
			{"lower case", store.NewUser{Username: "ada"}, apperr.Conflict, "username is already taken"},
			{"upper case", store.NewUser{Username: "ADA"}, apperr.Conflict, "username is already taken"},
			{"empty name", store.NewUser{Username: ""}, apperr.Invalid, "username is required"},
			{"unknown role", store.NewUser{Username: "root", Role: "superuser"}, apperr.Invalid, `role must be "user" or "admin"`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := db.CreateUser(t.Context(), tt.user)
				wantError(t, err, tt.code, tt.message)
				if strings.Contains(apperr.MessageOf(err), strconv.FormatInt(existing.ID, 10)) {
					t.Fatalf("message %q reveals an id", apperr.MessageOf(err))
				}
			})
		}
		wantCount(t, db, 1, "SELECT count(*) FROM users")
	})
}

func TestCreateUserConcurrentlyKeepsOne(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		const attempts = 10
		errs := make([]error, attempts)
		var wg sync.WaitGroup
		for i := range attempts {
			wg.Go(func() {
				// Vary the case too: the index, not the spelling, decides.
				name := "Ada"
				if i%2 == 1 {
					name = "ada"
				}
				_, errs[i] = db.CreateUser(t.Context(), store.NewUser{Username: name, Email: "e", PasswordHash: "h"})
			})
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			if err == nil {
				created++
				continue
			}
			wantCode(t, err, apperr.Conflict)
		}
		if created != 1 {
			t.Fatalf("%d registrations succeeded, want 1", created)
		}
		wantCount(t, db, 1, "SELECT count(*) FROM users")
	})
}

func TestSetUserEnabled(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		u := createUser(t, db, "ada")

		disabled, err := db.SetUserEnabled(ctx, u.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if disabled.Enabled || disabled.Username != "ada" || !disabled.CreatedAt.Equal(u.CreatedAt) ||
			disabled.UpdatedAt.Before(u.UpdatedAt) || disabled.UpdatedAt.Location() != time.UTC {
			t.Fatalf("disabled %+v, was %+v", disabled, u)
		}
		_, err = db.ActiveUser(ctx, u.ID)
		wantCode(t, err, apperr.NotFound)
		if stored, err := db.UserByID(ctx, u.ID); err != nil || !sameUser(stored, disabled) {
			t.Fatalf("UserByID = %+v, %v; want %+v", stored, err, disabled)
		}

		enabled, err := db.SetUserEnabled(ctx, u.ID, true)
		if err != nil || !enabled.Enabled {
			t.Fatalf("enable: %+v, %v", enabled, err)
		}
		if active, err := db.ActiveUser(ctx, u.ID); err != nil || !sameUser(active, enabled) {
			t.Fatalf("ActiveUser = %+v, %v; want %+v", active, err, enabled)
		}

		_, err = db.SetUserEnabled(ctx, u.ID+1000, false)
		wantCode(t, err, apperr.NotFound)
	})
}

func TestMissingUserIsNotFound(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		u := createUser(t, db, "ada")
		tests := []struct {
			name string
			call func() error
		}{
			{"UserByUsername", func() error { _, err := db.UserByUsername(ctx, "grace"); return err }},
			{"UserByUsername prefix", func() error { _, err := db.UserByUsername(ctx, "ad"); return err }},
			{"UserByID", func() error { _, err := db.UserByID(ctx, u.ID+1); return err }},
			{"ActiveUser", func() error { _, err := db.ActiveUser(ctx, u.ID+1); return err }},
			{"DeleteUser", func() error { return db.DeleteUser(ctx, u.ID+1) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.call()
				wantError(t, err, apperr.NotFound, "user not found")
			})
		}
	})
}

func TestDeleteUserCascades(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		gone, kept := createUser(t, db, "ada"), createUser(t, db, "grace")
		for i := range 3 {
			logPrediction(t, db, okLog(gone.ID, i))
			logPrediction(t, db, okLog(kept.ID, i))
		}

		if err := db.DeleteUser(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		_, err := db.UserByID(ctx, gone.ID)
		wantCode(t, err, apperr.NotFound)
		wantCount(t, db, 0, "SELECT count(*) FROM requests WHERE user_id = ?", gone.ID)
		wantCount(t, db, 3, "SELECT count(*) FROM responses")
		wantCount(t, db, 3, "SELECT count(*) FROM requests WHERE user_id = ?", kept.ID)

		err = db.DeleteUser(ctx, gone.ID)
		wantCode(t, err, apperr.NotFound)
	})
}

// sameUser compares users field by field, times by instant and zone: == on
// time.Time also compares how the value was built.
func sameUser(a, b store.User) bool {
	sameTime := func(x, y time.Time) bool { return x.Equal(y) && x.Location() == y.Location() }
	return a.ID == b.ID && a.Username == b.Username && a.Email == b.Email &&
		a.PasswordHash == b.PasswordHash && a.Role == b.Role && a.Enabled == b.Enabled &&
		sameTime(a.CreatedAt, b.CreatedAt) && sameTime(a.UpdatedAt, b.UpdatedAt)
}
