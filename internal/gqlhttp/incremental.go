package gqlhttp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// boundary separates the parts of an incremental answer. Apollo Client and
// urql read "-", which makes every delimiter "---".
const boundary = "-"

// streamIncremental writes an answer whose @defer fragments arrive after
// the first part, as multipart/mixed (the incremental delivery format Apollo
// Client and urql read): the initial result, then one part per deferred
// fragment as it completes, each flushed at once.
func streamIncremental(w http.ResponseWriter, ctx context.Context, first *graphql.Response, next graphql.ResponseHandler) {
	flush := http.NewResponseController(w).Flush
	w.Header().Set("Content-Type", `multipart/mixed; boundary="`+boundary+`"; deferSpec=20220824`)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)

	data := first.Data
	if graphql.HasOperationContext(ctx) {
		op := graphql.GetOperationContext(ctx)
		data = withoutDeferredPlaceholders(data, op.Operation, op.Variables)
	}
	writePart(w, initialPayload{body: body{Errors: first.Errors, Data: data, Extensions: first.Extensions}, HasNext: true}, true)
	_ = flush()
	hasNext := true
	for hasNext {
		resp := next(ctx)
		if resp == nil {
			break
		}
		hasNext = resp.HasNext != nil && *resp.HasNext
		writePart(w, incrementalPayload{
			Incremental: []incrementalResult{{Data: resp.Data, Path: resp.Path, Label: resp.Label, Errors: resp.Errors}},
			HasNext:     hasNext,
		}, hasNext)
		_ = flush()
	}
	if hasNext {
		// The stream ended early (the client left or the deadline passed):
		// close the multipart body all the same.
		_, _ = io.WriteString(w, "\r\n--"+boundary+"--\r\n")
	}
}

// initialPayload marks the first part: hasNext is true until the last part.
type initialPayload struct {
	body
	HasNext bool `json:"hasNext"`
}

type incrementalPayload struct {
	Incremental []incrementalResult `json:"incremental"`
	HasNext     bool                `json:"hasNext"`
}

type incrementalResult struct {
	Data   json.RawMessage `json:"data"`
	Path   ast.Path        `json:"path"`
	Label  string          `json:"label,omitempty"`
	Errors gqlerror.List   `json:"errors,omitempty"`
}

// writePart writes one part; the delimiter after it says whether more
// follow.
func writePart(w io.Writer, payload any, more bool) {
	b, err := json.Marshal(payload)
	if err != nil {
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}],"hasNext":false}`)
		more = false
	}
	_, _ = io.WriteString(w, "\r\n--"+boundary+"\r\nContent-Type: application/json; charset=utf-8\r\n\r\n")
	_, _ = w.Write(b)
	if !more {
		_, _ = io.WriteString(w, "\r\n--"+boundary+"--\r\n")
	}
}
