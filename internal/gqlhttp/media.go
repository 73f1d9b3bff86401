package gqlhttp

import (
	"net/http"

	"github.com/mlapi/mlapi/internal/httpserver"
)

const (
	graphQLResponseJSON = "application/graphql-response+json"
	applicationJSON     = "application/json"
)

// mediaType is what a client accepts: the JSON flavour of its answers.
type mediaType struct {
	// graphQLResponse: application/graphql-response+json, whose status
	// codes tell request errors (4xx) from execution results (200).
	// Otherwise application/json, which older clients read only with 200.
	graphQLResponse bool
	// maxBytes bounds one answer as written (not negotiated: the
	// transport's setting).
	maxBytes int
}

func (m mediaType) contentType() string {
	if m.graphQLResponse {
		return graphQLResponseJSON + "; charset=utf-8"
	}
	return applicationJSON + "; charset=utf-8"
}

// requestErrorStatus is the status of an answer without data: a document
// that does not parse or validate, or variables that do not fit it.
func (m mediaType) requestErrorStatus() int {
	if m.graphQLResponse {
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// negotiate picks the media type of the answer from an Accept header. Of
// application/graphql-response+json and application/json, the one with the
// higher quality wins, application/graphql-response+json on a tie.
// Wildcards (*/*, application/*) are ignored, so a type named explicitly
// wins over them. With no Accept header, or none naming a type we serve,
// the answer is application/json, as the specification asks of servers
// that still serve older clients.
func negotiate(accept string) mediaType {
	q := httpserver.AcceptQualities(accept)
	graphQL, named := q[graphQLResponseJSON]
	json, ok := q[applicationJSON]
	if !ok {
		json = -1
	}
	return mediaType{graphQLResponse: named && graphQL >= json}
}
