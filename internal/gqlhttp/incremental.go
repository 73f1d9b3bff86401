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
func streamIncremental(w http.ResponseWriter, ctx context.Context, maxBytes int, first *graphql.Response, next graphql.ResponseHandler) {
	flush := http.NewResponseController(w).Flush
	w.Header().Set("Content-Type", `multipart/mixed; boundary="`+boundary+`"; deferSpec=20220824`)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)

	data := first.Data
	if graphql.HasOperationContext(ctx) {
		op := graphql.GetOperationContext(ctx)
		data = withoutDeferredPlaceholders(data, op.Operation, op.Variables)
	}
	hasNext := writePart(w, maxBytes, initialPayload{body: body{Errors: first.Errors, Data: data, Extensions: first.Extensions}, HasNext: true}, true)
	_ = flush()
	for hasNext {
		resp := next(ctx)
		if resp == nil {
			break
		}
		more := resp.HasNext != nil && *resp.HasNext
		hasNext = writePart(w, maxBytes, incrementalPayload{
			Incremental: []incrementalResult{{Data: resp.Data, Path: resp.Path, Label: resp.Label, Errors: resp.Errors}},
			HasNext:     more,
		}, more)
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
// follow, which it reports: a part that could not be written ends the
// answer.
func writePart(w io.Writer, maxBytes int, payload any, more bool) bool {
	b, err := json.Marshal(payload)
	switch {
	case err != nil:
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}],"hasNext":false}`)
		more = false
	case len(b) > maxBytes:
		// The rest of the answer is dropped with this part: a client must
		// not wait for parts of an answer that was refused.
		b = responseTooLarge(len(b), maxBytes, false)
		b = append(b[:len(b)-1], `,"hasNext":false}`...)
		more = false
	}
	_, _ = io.WriteString(w, "\r\n--"+boundary+"\r\nContent-Type: application/json; charset=utf-8\r\n\r\n")
	_, _ = w.Write(b)
	if !more {
		_, _ = io.WriteString(w, "\r\n--"+boundary+"--\r\n")
	}
	return more
}
