package gqlhttp

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
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
	var m mediaType
	bestJSON, bestGraphQL := -1.0, -1.0
	for _, item := range strings.Split(accept, ",") {
		typ, params, err := mime.ParseMediaType(strings.TrimSpace(item))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q <= 0 {
			continue
		}
		switch typ {
		case graphQLResponseJSON:
			bestGraphQL = max(bestGraphQL, q)
		case applicationJSON:
			bestJSON = max(bestJSON, q)
		}
	}
	m.graphQLResponse = bestGraphQL >= 0 && bestGraphQL >= bestJSON
	return m
}
