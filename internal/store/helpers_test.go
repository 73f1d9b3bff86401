package store_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
)

func createUser(t testing.TB, db *store.DB, username string) store.User {
	t.Helper()
	u, err := db.CreateUser(t.Context(), store.NewUser{
		Username:     username,
		Email:        username + "@example.com",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
	})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", username, err)
	}
	return u
}

// okLog is a successful prediction for userID; n makes each input distinct.
func okLog(userID int64, n int) store.PredictionLog {
	prob, yhat := 0.5124506, 1
	return store.PredictionLog{
		UserID:       userID,
		Input:        json.RawMessage(fmt.Sprintf(`{"age": %d, "sex": 1,  "platelets": 500000}`, n)),
		Output:       json.RawMessage(`{"yhat_prob": "0.5124506", "yhat": "1"}`),
		YhatProb:     &prob,
		Yhat:         &yhat,
		ModelVersion: "xgb-1",
		Status:       store.StatusOK,
	}
}

func logPrediction(t testing.TB, db *store.DB, p store.PredictionLog) store.LoggedPrediction {
	t.Helper()
	logged, err := db.LogPrediction(t.Context(), p)
	if err != nil {
		t.Fatalf("LogPrediction: %v", err)
	}
	return logged
}

// count runs a SELECT count(*) ... straight on the database.
func count(t testing.TB, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := store.Writer(db).QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// wantCount fails t unless the SELECT count(*) query finds want rows.
func wantCount(t testing.TB, db *store.DB, want int, query string, args ...any) {
	t.Helper()
	if n := count(t, db, query, args...); n != want {
		t.Fatalf("%s: %d, want %d", query, n, want)
	}
}

func wantCode(t testing.TB, err error, want apperr.Code) {
	t.Helper()
	if got := apperr.CodeOf(err); got != want {
		t.Fatalf("error %v: code %q, want %q", err, got, want)
	}
}

// wantError fails t unless err has the code and the client message.
func wantError(t testing.TB, err error, code apperr.Code, message string) {
	t.Helper()
	wantCode(t, err, code)
	if got := apperr.MessageOf(err); got != message {
		t.Fatalf("error %v: message %q, want %q", err, got, message)
	}
}

// reversed returns a reversed copy of s.
func reversed[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}
