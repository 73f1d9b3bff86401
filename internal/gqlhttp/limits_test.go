package gqlhttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestResponseTooLarge: an answer past the transport's bound is replaced by
// a RESPONSE_TOO_LARGE error, with data null, whatever the Accept header;
// the statuses of answers within it are those of the README.
func TestResponseTooLarge(t *testing.T) {
	t.Parallel()
	big := json.RawMessage(`{"name":"` + strings.Repeat("x", 2000) + `"}`)
	refusal := gqlerror.List{{Message: "no", Extensions: map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}}}
	many := make(gqlerror.List, 100)
	for i := range many {
		many[i] = &gqlerror.Error{Message: fmt.Sprintf("error %d", i)}
	}
	tests := []struct {
		name       string
		media      mediaType
		status     int
		resp       *graphql.Response
		wantStatus int
		wantCode   string
		wantData   string // the data entry as written; "" for none
	}{
		{name: "within, json", media: mediaType{}, status: 200, resp: &graphql.Response{Data: json.RawMessage(`{"name":"a"}`)}, wantStatus: 200, wantData: `{"name":"a"}`},
		{name: "refused, graphql-response", media: mediaType{graphQLResponse: true}, status: 400, resp: &graphql.Response{Errors: refusal}, wantStatus: 400, wantCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "too large, json", media: mediaType{}, status: 200, resp: &graphql.Response{Data: big}, wantStatus: 200, wantCode: CodeResponseTooLarge, wantData: "null"},
		{name: "too large, graphql-response", media: mediaType{graphQLResponse: true}, status: 200, resp: &graphql.Response{Data: big}, wantStatus: 200, wantCode: CodeResponseTooLarge, wantData: "null"},
		{name: "too many errors, no data", media: mediaType{graphQLResponse: true}, status: 400, resp: &graphql.Response{Errors: many}, wantStatus: 400, wantCode: CodeResponseTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.media.maxBytes = 1000
			rec := httptest.NewRecorder()
			writeResponse(rec, tt.media, tt.status, tt.resp)
			if rec.Code != tt.wantStatus || rec.Body.Len() > tt.media.maxBytes {
				t.Errorf("%d, %d bytes; want %d, at most %d bytes", rec.Code, rec.Body.Len(), tt.wantStatus, tt.media.maxBytes)
			}
			var a struct {
				Data   *json.RawMessage
				Errors []struct{ Extensions struct{ Code string } }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatalf("not JSON: %v: %s", err, rec.Body)
			}
			code := ""
			if len(a.Errors) > 0 {
				code = a.Errors[0].Extensions.Code
			}
			data := ""
			if a.Data != nil {
				data = string(*a.Data)
			} else if strings.Contains(rec.Body.String(), `"data":null`) {
				data = "null"
			}
			if code != tt.wantCode || data != tt.wantData {
				t.Errorf("code %q, data %q; want %q, %q: %s", code, data, tt.wantCode, tt.wantData, rec.Body)
			}
		})
	}
}

func newTestServerWith(t *testing.T, tr Transport) http.Handler {
	t.Helper()
	srv := testserver.New()
	srv.AddTransport(tr)
	return srv
}

// TestTransportMaxResponseBytes: the transport's bound applies through Do.
func TestTransportMaxResponseBytes(t *testing.T) {
	t.Parallel()
	srv := newTestServerWith(t, Transport{MaxResponseBytes: 10})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, post("application/json", graphQLOnly, `{"query":"{ name }"}`))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), CodeResponseTooLarge) {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}
