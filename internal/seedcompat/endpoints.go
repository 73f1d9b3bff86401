package seedcompat

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/httpserver"
)

// The Python app's answers, word for word (its app.py, in the api-book
// repository's chapter-7-final-serving/ML_API), for the outcomes it had.
// Where mlapi knows more than the app said, the answer adds it as
// FastAPI's "detail" and keeps the app's keys.
const (
	msgUserCreated       = "User created successfully"
	msgUserExists        = "User already exists"
	msgCannotCreate      = "Cannot create user"
	msgInvalidCredential = "Invalid credentials"
	msgTokenValid        = "Token is valid"
	msgTokenInvalid      = "Invalid token"
	msgBadRequest        = "Bad request"
	msgUnauthorized      = "Unauthorized"
	msgPermissionUpdated = "User permission updated successfully"
	msgUserDeleted       = "User deleted successfully"
	msgUserNotFound      = "User not found"
)

// credentials is the body of POST /register-user and POST /token. Other
// keys are ignored, as the app ignored them: its own example posts the
// registration, email and all, to /token.
type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Email    string `json:"email"`
}

// registerUser is POST /register-user: 201 with the new user's id. A taken
// username is 409 without the existing user's id, which the app gave to
// anyone who asked.
func (h *Handler) registerUser(w http.ResponseWriter, r *http.Request, _ string) {
	var in credentials
	if err := readJSON(r, &in); err != nil {
		h.fail(w, r, err, 0, field{"message", msgCannotCreate})
		return
	}
	user, err := h.accounts.Register(r.Context(), account.Registration{Username: in.Username, Password: in.Password, Email: in.Email})
	switch apperr.CodeOf(err) {
	case "":
		writeJSON(w, http.StatusCreated, field{"message", msgUserCreated}, field{"user_id", user.ID})
	case apperr.Conflict:
		h.fail(w, r, err, 0, field{"message", msgUserExists})
	default:
		h.fail(w, r, err, 0, field{"message", msgCannotCreate})
	}
}

// token is POST /token: 200 with the token, 401 for any refusal of the
// credentials (a disabled account too, which the detail names, as the
// GraphQL API's FORBIDDEN does).
func (h *Handler) token(w http.ResponseWriter, r *http.Request, _ string) {
	var in credentials
	if err := readJSON(r, &in); err != nil {
		h.fail(w, r, err, 0)
		return
	}
	token, err := h.accounts.IssueToken(r.Context(), in.Username, in.Password)
	switch apperr.CodeOf(err) {
	case "":
		writeJSON(w, http.StatusOK, field{"token", token.Token})
	case apperr.Unauthenticated, apperr.Forbidden:
		h.fail(w, r, err, http.StatusUnauthorized, field{"message", msgInvalidCredential})
	default:
		h.fail(w, r, err, 0)
	}
}

// tokenStatus is GET /token_status/{token}: 200 while the token is valid
// (as the GraphQL tokenStatus query judges it), 401 otherwise. The token
// is in the path, so the access log records the route's pattern instead.
func (h *Handler) tokenStatus(w http.ResponseWriter, r *http.Request, at string) {
	httpserver.LogPath(r.Context(), at)
	valid, _, err := h.accounts.TokenStatus(r.Context(), r.PathValue("token"))
	switch {
	case err != nil:
		h.fail(w, r, err, 0)
	case valid:
		writeJSON(w, http.StatusOK, field{"message", msgTokenValid})
	default:
		annotateCode(r, string(apperr.Unauthenticated))
		writeJSON(w, http.StatusUnauthorized, field{"message", msgTokenInvalid})
	}
}

// predict is POST /predict: the token in Authorization (bare, as the app's
// clients send it, or Bearer), the model's features as a flat JSON object
// keyed by their names. It is the GraphQL predict: the same service
// validates, predicts and logs the request and its response, a refused
// input included, before anything is answered.
func (h *Handler) predict(w http.ResponseWriter, r *http.Request, _ string) {
	unauthorized := field{"error", msgUnauthorized}
	ctx, userID, err := h.accounts.CallerID(r.Context())
	if err != nil {
		h.fail(w, r, err, 0, unauthorized)
		return
	}
	var body any
	if err := readJSON(r, &body); err != nil {
		h.fail(w, r, err, 0, field{"message", msgBadRequest})
		return
	}
	input, ok := body.(map[string]any)
	if !ok {
		// Not an object: no field to name, nothing a predict would log.
		h.fail(w, r, badRequest("the body must be a JSON object of the model's features"), 0, field{"message", msgBadRequest})
		return
	}
	// One model answers the whole request, should a reload serve another
	// meanwhile.
	result, err := h.predictions().PredictReceived(ctx, userID, input, input)
	err = account.CallerError(err)
	switch apperr.CodeOf(err) {
	case "":
		yhatProb, yhat := result.SeedOutput()
		// The app wrote this body with Python's json.dumps, spaces and all;
		// the values are JSON-safe digits.
		writeRaw(w, http.StatusOK, fmt.Sprintf(`{"yhat_prob": "%s", "yhat": "%s"}`, yhatProb, yhat))
	case apperr.Unauthenticated:
		h.fail(w, r, err, 0, unauthorized)
	case apperr.Invalid:
		h.fail(w, r, err, 0, field{"message", msgBadRequest})
	default:
		h.fail(w, r, err, 0)
	}
}

// togglePermission is PUT /toggle-user-permission/{user_id}/{permission}:
// permission is the user's enabled flag. An administrator's operation
// (setUserEnabled), which the app left open to anyone.
func (h *Handler) togglePermission(w http.ResponseWriter, r *http.Request, _ string) {
	userID, idErr := pathUserID(r)
	enabled, permErr := pathBool(r, "permission")
	if idErr != nil || permErr != nil {
		writeUnprocessable(w, r, idErr, permErr)
		return
	}
	user, err := h.accounts.SetUserEnabled(r.Context(), userID, enabled)
	h.answerUserChange(w, r, err, field{"message", msgPermissionUpdated}, field{"user_id", user.ID})
}

// removeUser is DELETE /remove-user/{user_id}: the user goes with their
// requests and responses (deleteUser). An administrator's operation, which
// the app left open to anyone.
func (h *Handler) removeUser(w http.ResponseWriter, r *http.Request, _ string) {
	userID, idErr := pathUserID(r)
	if idErr != nil {
		writeUnprocessable(w, r, idErr)
		return
	}
	h.answerUserChange(w, r, h.accounts.DeleteUser(r.Context(), userID), field{"message", msgUserDeleted})
}

// answerUserChange answers an administrator's change to a user: done with
// 200 and the app's answer, a missing user with the app's 404, or err.
func (h *Handler) answerUserChange(w http.ResponseWriter, r *http.Request, err error, done ...field) {
	switch apperr.CodeOf(err) {
	case "":
		writeJSON(w, http.StatusOK, done...)
	case apperr.NotFound:
		h.fail(w, r, err, 0, field{"message", msgUserNotFound})
	default:
		h.fail(w, r, err, 0)
	}
}

// pathError is a path parameter FastAPI would have refused, in its words
// (pydantic's), with the 422 it answered.
type pathError struct {
	name, msg, kind string
}

// pathUserID reads {user_id}, an integer as FastAPI parsed it.
func pathUserID(r *http.Request) (int64, *pathError) {
	id, err := strconv.ParseInt(r.PathValue("user_id"), 10, 64)
	if err != nil {
		return 0, &pathError{"user_id", "value is not a valid integer", "type_error.integer"}
	}
	return id, nil
}

// pathBool reads a boolean path parameter as FastAPI (pydantic) did:
// 1, true, yes, on, t, y and their opposites, in any case.
func pathBool(r *http.Request, name string) (bool, *pathError) {
	switch strings.ToLower(r.PathValue(name)) {
	case "1", "true", "t", "yes", "y", "on":
		return true, nil
	case "0", "false", "f", "no", "n", "off":
		return false, nil
	}
	return false, &pathError{name, "value could not be parsed to a boolean", "type_error.bool"}
}
