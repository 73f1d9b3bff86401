// Package gqlhttp serves GraphQL over HTTP as the GraphQL-over-HTTP
// specification describes it: queries over GET and POST, mutations over POST
// only, content negotiation between application/graphql-response+json and
// application/json with the status codes each implies, @defer answered in
// one part, and persisted documents (Apollo's automatic persisted queries and
// a manifest of trusted documents).
package gqlhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/mlapi/mlapi/internal/httpserver"
)

// Codes of the requests refused before any GraphQL work.
const (
	CodeBadRequest           = "BAD_REQUEST"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	// CodeResponseTooLarge replaces an answer larger than the transport
	// writes.
	CodeResponseTooLarge = "RESPONSE_TOO_LARGE"
)

// DefaultMaxResponseBytes bounds one answer when Transport.MaxResponseBytes
// is not set.
const DefaultMaxResponseBytes = 4 << 20

// Transport is a gqlgen transport for GET and POST requests. It answers
// every request it is given, refusing with the right status what the
// specification does not allow, so mount it on the endpoint's path alone.
type Transport struct {
	// MaxResponseBytes bounds one answer as written: a larger one is
	// replaced by a RESPONSE_TOO_LARGE error. Zero means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int
	// Shortcut, when set, may answer a POST without the executor.
	Shortcut Shortcut
}

// Shortcut answers some operations without gqlgen's executor, faster. For
// any other, it returns a nil answer and the context the executor is to run
// the operation in.
type Shortcut interface {
	Answer(ctx context.Context, params *graphql.RawParams) (*graphql.Response, context.Context)
}

var _ graphql.Transport = Transport{}

// Supports claims every request: a request no transport supports would get
// gqlgen's bare 400, not the 405 or 415 a client can act on.
func (Transport) Supports(*http.Request) bool { return true }

// Do reads the request, runs the operation and writes its result.
func (t Transport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := negotiate(r.Header.Get("Accept"))
	media.maxBytes = t.MaxResponseBytes
	if media.maxBytes <= 0 {
		media.maxBytes = DefaultMaxResponseBytes
	}
	w.Header().Add("Vary", "Accept")
	start := graphql.Now()
	params, refusal := readParams(r)
	if refusal != nil {
		refuse(w, r, media, refusal)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	ctx := r.Context()
	if t.Shortcut != nil && r.Method == http.MethodPost {
		var resp *graphql.Response
		if resp, ctx = t.Shortcut.Answer(ctx, params); resp != nil {
			writeResponse(w, media, http.StatusOK, resp)
			return
		}
	}
	op, errs := exec.CreateOperationContext(ctx, params)
	// A GET must not change anything: refuse a mutation before any of its
	// work, a logged refusal of its input included, valid document or not.
	if r.Method == http.MethodGet {
		if kind := operationKind(op, params); kind != "" && kind != ast.Query {
			refuse(w, r, media, &requestError{
				status: http.StatusMethodNotAllowed, code: CodeMethodNotAllowed, allow: "POST",
				message: fmt.Sprintf("a %s must be sent with POST", kind),
			})
			return
		}
	}
	if errs != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, op), errs)
		writeResponse(w, media, media.requestErrorStatus(), resp)
		return
	}

	// Deferral has taken @defer out, so one answer is all there is.
	responses, ctx := exec.DispatchOperation(ctx, op)
	writeResponse(w, media, http.StatusOK, responses(ctx))
}

// maxKindTokens bounds the parse that finds a refused document's operation.
const maxKindTokens = 15000

// operationKind returns the kind of the operation a request runs, or ""
// when it is unknown. It reads the operation context, or, for a document
// that validation refused (gqlgen then leaves no operation), parses the
// document again.
func operationKind(op *graphql.OperationContext, params *graphql.RawParams) ast.Operation {
	if op != nil && op.Operation != nil {
		return op.Operation.Operation
	}
	if params.Query == "" {
		return ""
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: params.Query}, maxKindTokens)
	if err != nil {
		return ""
	}
	if o := doc.Operations.ForName(params.OperationName); o != nil {
		return o.Operation
	}
	return ""
}

// requestError is a request refused before it reached GraphQL.
type requestError struct {
	status  int
	code    string
	message string
	allow   string
}

// readParams reads a GET's query string or a POST's JSON body.
func readParams(r *http.Request) (*graphql.RawParams, *requestError) {
	switch r.Method {
	case http.MethodGet:
		return paramsFromQuery(r)
	case http.MethodPost:
		return paramsFromBody(r)
	}
	return nil, &requestError{
		status: http.StatusMethodNotAllowed, code: CodeMethodNotAllowed, allow: "GET, POST",
		message: "send queries with GET or POST, mutations with POST",
	}
}

func paramsFromQuery(r *http.Request) (*graphql.RawParams, *requestError) {
	q := r.URL.Query()
	var fields requestFields
	for _, p := range []struct {
		name string
		dst  **string
	}{{"query", &fields.Query}, {"operationName", &fields.OperationName}, {"documentId", &fields.DocumentID}} {
		// An empty operationName or documentId is no name, as gqlgen
		// takes it; an empty query is a query, to be refused as empty.
		if v, ok := q[p.name]; ok && (v[0] != "" || p.name == "query") {
			*p.dst = &v[0]
		}
	}
	for _, p := range []struct {
		name string
		dst  *map[string]any
	}{{"variables", &fields.Variables}, {"extensions", &fields.Extensions}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(p.dst); err != nil || dec.More() {
			if !json.Valid([]byte(v)) {
				return nil, badRequest("the %s parameter is not JSON", p.name)
			}
			return nil, badRequest("%s must be an object", p.name)
		}
	}
	return fields.params()
}

func paramsFromBody(r *http.Request) (*graphql.RawParams, *requestError) {
	if !httpserver.JSONBody(r) {
		return nil, &requestError{
			status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMediaType,
			message: "send the request as Content-Type: application/json (UTF-8)",
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &requestError{
				status: http.StatusRequestEntityTooLarge, code: CodePayloadTooLarge,
				message: fmt.Sprintf("the request body is larger than %d bytes", tooLarge.Limit),
			}
		}
		return nil, badRequest("the request body could not be read")
	}
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return nil, badRequest("the request body is empty: send {\"query\": \"...\"}")
	case trimmed[0] == '[':
		return nil, badRequest("batched requests are not supported: send one operation per request")
	}
	// One pass over the body, numbers kept as json.Number as gqlgen's
	// coercion expects. A parameter of the wrong type does not stop the
	// decoder, which reports the first one met; a key sent twice counts
	// once, as the last value, except variables and extensions sent twice,
	// whose entries add up.
	var fields requestFields
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	err = dec.Decode(&fields)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return nil, badRequest("%s", fieldTypeMessage(typeErr.Field))
	case err != nil || dec.InputOffset() != int64(len(trimmed)):
		// The decoder's message quotes the body, which may hold a password.
		return nil, badRequest("the request body is not a JSON object of GraphQL request parameters")
	}
	return fields.params()
}

// requestFields are a request's parameters, of the types the specification
// requires; nil for one absent or null.
type requestFields struct {
	Query         *string        `json:"query"`
	OperationName *string        `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
	// DocumentID names a persisted document, as the GraphQL-over-HTTP
	// persisted documents proposal sends it.
	DocumentID *string `json:"documentId"`
}

// fieldTypeMessage says what a parameter decoded as the wrong type must be.
func fieldTypeMessage(field string) string {
	switch field {
	case "variables", "extensions":
		return field + " must be an object"
	}
	return field + " must be a string"
}

// params makes the parameters gqlgen takes, refusing a request without a
// document.
func (f requestFields) params() (*graphql.RawParams, *requestError) {
	p := graphql.RawParams{Variables: f.Variables, Extensions: f.Extensions}
	if f.Query != nil {
		p.Query = *f.Query
	}
	if f.OperationName != nil {
		p.OperationName = *f.OperationName
	}
	if f.DocumentID != nil && *f.DocumentID != "" {
		setPersistedHash(&p, bareHash(*f.DocumentID))
	}
	if p.Query == "" && persistedHash(&p) == "" {
		return nil, badRequest("the request has no query: send {\"query\": \"...\"}")
	}
	return &p, nil
}

func badRequest(format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, code: CodeBadRequest, message: fmt.Sprintf(format, args...)}
}

// refuse answers a request refused before GraphQL ran: its status, the
// methods allowed, and a GraphQL error with no data entry.
func refuse(w http.ResponseWriter, r *http.Request, media mediaType, e *requestError) {
	if e.allow != "" {
		w.Header().Set("Allow", e.allow)
	}
	httpserver.Annotate(r.Context(), slog.Any(httpserver.ErrorCodesKey, []string{e.code}))
	err := &gqlerror.Error{Message: e.message, Extensions: map[string]any{"code": e.code}}
	writeResponse(w, media, e.status, &graphql.Response{Errors: gqlerror.List{err}})
}

// body is a GraphQL response as the specification writes it: no data entry
// at all for a request error, data: null when execution failed at the root.
type body struct {
	Errors     gqlerror.List   `json:"errors,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	Extensions map[string]any  `json:"extensions,omitempty"`
}

func writeResponse(w http.ResponseWriter, media mediaType, status int, resp *graphql.Response) {
	if resp == nil {
		resp = &graphql.Response{Errors: gqlerror.List{{Message: "the operation was cancelled"}}}
	}
	b, err := json.Marshal(body{Errors: resp.Errors, Data: resp.Data, Extensions: resp.Extensions})
	switch {
	case err != nil:
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	case len(b) > media.maxBytes:
		// The client gets an error it can read rather than an answer cut
		// short, with the status the answer had: data null for an executed
		// operation (as when execution fails at the root), no data entry
		// for a refused request.
		b = responseTooLarge(len(b), media.maxBytes, resp.Data != nil)
	}
	w.Header().Set("Content-Type", media.contentType())
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// responseTooLarge is the answer that replaces one of size bytes, over max.
func responseTooLarge(size, max int, withData bool) []byte {
	err := &gqlerror.Error{
		Message:    fmt.Sprintf("the answer is %d bytes, more than the %d this server sends: ask for fewer fields or a smaller page", size, max),
		Extensions: map[string]any{"code": CodeResponseTooLarge},
	}
	b := body{Errors: gqlerror.List{err}}
	if withData {
		b.Data = json.RawMessage("null")
	}
	out, _ := json.Marshal(b)
	return out
}
