package gqlhttp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mlapi/mlapi/internal/lru"
)

// Codes of persisted-document refusals. The first two are the ones Apollo's
// persisted-query link and urql's persisted exchange act on: NOT_FOUND makes
// them send the whole document, NOT_SUPPORTED makes them stop hashing.
const (
	CodePersistedQueryNotFound     = "PERSISTED_QUERY_NOT_FOUND"
	CodePersistedQueryNotSupported = "PERSISTED_QUERY_NOT_SUPPORTED"
	CodeTrustedDocumentRequired    = "TRUSTED_DOCUMENT_REQUIRED"
)

// PersistedOptions choose how documents may be sent by hash.
type PersistedOptions struct {
	// Automatic accepts Apollo's automatic persisted queries: a client
	// sends a document's SHA-256 alone and, on a miss, the document with
	// its hash, which is then kept for the next time.
	Automatic bool
	// CacheBytes bounds the documents kept for automatic persisted queries;
	// the least recently used go first.
	CacheBytes int
	// Trusted, when set, are the only documents that run, by hash. With
	// them, automatic persisted queries are off: a client must not be able
	// to register a document of its own.
	Trusted map[string]string
}

// Persisted resolves a request's persisted document, as a gqlgen
// extension that runs before the document is parsed.
type Persisted struct {
	cache   *lru.Cache[string] // nil: automatic persisted queries are off
	trusted map[string]string
}

var (
	_ graphql.HandlerExtension          = (*Persisted)(nil)
	_ graphql.OperationParameterMutator = (*Persisted)(nil)
)

// NewPersisted returns the extension for opts. Every trusted document must
// be valid against schema: a manifest written for another version of the
// API must stop the server from starting, not fail its clients one by one.
func NewPersisted(opts PersistedOptions, schema *ast.Schema) (*Persisted, error) {
	p := &Persisted{}
	if opts.Trusted != nil {
		hashes := make([]string, 0, len(opts.Trusted))
		for hash := range opts.Trusted {
			hashes = append(hashes, hash)
		}
		sort.Strings(hashes)
		p.trusted = make(map[string]string, len(hashes))
		for _, hash := range hashes {
			doc := opts.Trusted[hash]
			if _, errs := gqlparser.LoadQueryWithRules(schema, doc, nil); errs != nil {
				return nil, fmt.Errorf("trusted document %s: %w", hash, errs)
			}
			p.trusted[bareHash(hash)] = doc
		}
		return p, nil
	}
	if opts.Automatic {
		p.cache = lru.New[string](opts.CacheBytes, opts.CacheBytes)
	}
	return p, nil
}

// LoadManifest reads a trusted documents manifest: a JSON object mapping
// each document's hash to its text, as graphql-codegen's client preset
// writes it (persisted-documents.json).
func LoadManifest(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trusted documents: %w", err)
	}
	var docs map[string]string
	if err := json.Unmarshal(b, &docs); err != nil {
		return nil, fmt.Errorf("trusted documents %s: want a JSON object of hash to document: %w", path, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("trusted documents %s: the manifest is empty", path)
	}
	return docs, nil
}

func (*Persisted) ExtensionName() string                   { return "PersistedDocuments" }
func (*Persisted) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters puts the persisted document in params.Query.
func (p *Persisted) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	hash, err := requestedHash(params)
	if err != nil {
		return err
	}
	switch {
	case p.trusted != nil:
		return p.trustedDocument(params, hash)
	case hash == "":
		return nil
	case p.cache == nil:
		return persistedError(CodePersistedQueryNotSupported, "PersistedQueryNotSupported")
	case params.Query == "":
		doc, ok := p.cache.Get(hash)
		if !ok {
			return persistedError(CodePersistedQueryNotFound, "PersistedQueryNotFound")
		}
		params.Query = doc
	case documentHash(params.Query) != hash:
		return persistedError(CodeBadRequest, "the persistedQuery hash is not the SHA-256 of the query")
	default:
		p.cache.Add(hash, params.Query, len(hash)+len(params.Query))
	}
	return nil
}

func (p *Persisted) trustedDocument(params *graphql.RawParams, hash string) *gqlerror.Error {
	if hash == "" {
		hash = documentHash(params.Query)
		if _, ok := p.trusted[hash]; !ok {
			return persistedError(CodeTrustedDocumentRequired,
				"this server runs trusted documents only: send the hash of a document it knows")
		}
	}
	doc, ok := p.trusted[hash]
	if !ok {
		return persistedError(CodePersistedQueryNotFound, "PersistedQueryNotFound")
	}
	if params.Query != "" && params.Query != doc {
		return persistedError(CodeTrustedDocumentRequired, "the query is not the trusted document of that hash")
	}
	params.Query = doc
	return nil
}

// requestedHash reads the persistedQuery extension: {"version": 1,
// "sha256Hash": "..."}.
func requestedHash(params *graphql.RawParams) (string, *gqlerror.Error) {
	raw, ok := params.Extensions["persistedQuery"]
	if !ok || raw == nil {
		return "", nil
	}
	ext, ok := raw.(map[string]any)
	if !ok {
		return "", persistedError(CodeBadRequest, "extensions.persistedQuery must be an object")
	}
	if version, _ := ext["version"].(json.Number); version != "" && version != "1" {
		return "", persistedError(CodeBadRequest, "extensions.persistedQuery.version must be 1")
	}
	hash, _ := ext["sha256Hash"].(string)
	hash = bareHash(hash)
	if hash == "" {
		return "", persistedError(CodeBadRequest, "extensions.persistedQuery.sha256Hash must be a SHA-256 in hex")
	}
	return hash, nil
}

// bareHash drops the "sha256:" prefix graphql-codegen writes in its
// manifest and the persisted documents proposal sends as documentId;
// Apollo's and urql's persistedQuery extension sends the hex alone.
func bareHash(hash string) string { return strings.TrimPrefix(hash, "sha256:") }

func setPersistedHash(params *graphql.RawParams, hash string) {
	if params.Extensions == nil {
		params.Extensions = map[string]any{}
	}
	params.Extensions["persistedQuery"] = map[string]any{"version": json.Number("1"), "sha256Hash": hash}
}

func persistedHash(params *graphql.RawParams) string {
	hash, _ := requestedHash(params)
	return hash
}

func persistedError(code, message string) *gqlerror.Error {
	return &gqlerror.Error{Message: message, Extensions: map[string]any{"code": code}}
}

func documentHash(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}
