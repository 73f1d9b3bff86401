package seedcompat

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/httpserver"
	"github.com/mlapi/mlapi/internal/model"
)

// field is one member of a JSON object answered to a client. Answers are
// lists of them, written in order, as FastAPI wrote a dict: the app's keys
// come first, as it wrote them.
type field struct {
	key   string
	value any
}

// requestError is a request refused before any service saw it, with the
// status and code the GraphQL transport gives the same fault.
type requestError struct {
	status        int
	code, message string
}

func (e *requestError) Error() string { return e.message }

func badRequest(message string) *requestError {
	return &requestError{http.StatusBadRequest, "BAD_REQUEST", message}
}

// readJSON decodes the request's body, one JSON value, into v; numbers
// stay json.Number, with the text the client wrote, for the log. As on the
// GraphQL endpoint, only a JSON body is read: a form or text/plain, which
// a page of any origin can post, is refused.
func readJSON(r *http.Request, v any) error {
	if !httpserver.JSONBody(r) {
		return &requestError{http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "send the body as Content-Type: application/json (UTF-8)"}
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	err := dec.Decode(v)
	if err == nil && dec.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &requestError{http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "the request body is too large"}
	case err != nil:
		return badRequest("the body must be one JSON object with the documented fields")
	}
	return nil
}

// statuses are the HTTP statuses of the services' error codes.
var statuses = map[apperr.Code]int{
	apperr.Unauthenticated: http.StatusUnauthorized,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.Invalid:         http.StatusBadRequest,
	apperr.Conflict:        http.StatusConflict,
	apperr.NotFound:        http.StatusNotFound,
	apperr.TooManyRequests: http.StatusTooManyRequests,
	apperr.Unavailable:     http.StatusServiceUnavailable,
}

// fail answers err with status (0: the one its code means) and the app's
// own members for the outcome if it had any, followed by FastAPI's
// "detail": the fields at fault, or the error's client-safe message. The
// code goes to the access log, and a server-side fault's detail to the log.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, status int, app ...field) {
	code := string(apperr.CodeOf(err))
	var reqErr *requestError
	if errors.As(err, &reqErr) {
		code = reqErr.code
		status = reqErr.status
	}
	if status == 0 {
		status = statuses[apperr.CodeOf(err)]
	}
	if status == 0 || status >= 500 {
		status = max(status, http.StatusInternalServerError)
		h.logger.ErrorContext(r.Context(), "seed endpoint failed", "code", code, "err", err)
	}
	annotateCode(r, code)
	writeJSON(w, status, append(app, field{"detail", detailOf(err)})...)
}

// fieldDetail is one field at fault, as FastAPI's validation errors name
// them: where it is, what is wrong, and a machine-readable type (mlapi's
// reason for the model's features).
type fieldDetail struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

// detailOf is FastAPI's detail for err: its fields when it names some,
// else its message.
func detailOf(err error) any {
	var verr *model.ValidationError
	var ferr *apperr.FieldsError
	var reqErr *requestError
	switch {
	case errors.As(err, &verr):
		details := make([]fieldDetail, len(verr.Fields))
		for i, f := range verr.Fields {
			details[i] = fieldDetail{Loc: []string{"body", f.Field}, Msg: f.Message, Type: string(f.Reason)}
		}
		return details
	case errors.As(err, &ferr):
		details := make([]fieldDetail, len(ferr.Problems))
		for i, p := range ferr.Problems {
			details[i] = fieldDetail{Loc: []string{"body", p.Field}, Msg: p.Message, Type: "value_error"}
		}
		return details
	case errors.As(err, &reqErr):
		return reqErr.message
	}
	return apperr.MessageOf(err)
}

// writeUnprocessable answers FastAPI's 422 for path parameters it could not
// parse, naming each.
func writeUnprocessable(w http.ResponseWriter, r *http.Request, errs ...*pathError) {
	var details []fieldDetail
	for _, e := range errs {
		if e != nil {
			details = append(details, fieldDetail{Loc: []string{"path", e.name}, Msg: e.msg, Type: e.kind})
		}
	}
	annotateCode(r, string(apperr.Invalid))
	writeJSON(w, http.StatusUnprocessableEntity, field{"detail", details})
}

// annotateCode records an answer's error code on the access log's line,
// and so in the request metrics, as the GraphQL handler does.
func annotateCode(r *http.Request, code string) {
	httpserver.Annotate(r.Context(), slog.Any(httpserver.ErrorCodesKey, []string{code}))
}

// writeJSON answers an object of fields, compact as FastAPI's JSONResponse
// wrote it, and like Python's json not escaping <, > and &.
func writeJSON(w http.ResponseWriter, status int, fields ...field) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	body.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			body.WriteByte(',')
		}
		// Keys and values are the package's own strings, numbers and
		// fieldDetails, which always encode.
		_ = enc.Encode(f.key)
		body.Truncate(body.Len() - 1) // Encode ends each value with a newline
		body.WriteByte(':')
		_ = enc.Encode(f.value)
		body.Truncate(body.Len() - 1)
	}
	body.WriteByte('}')
	writeRaw(w, status, body.String())
}

func writeRaw(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
