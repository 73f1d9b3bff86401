package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/mlapi/mlapi/internal/lru"
)

// codeTooManyErrors replaces the errors past the first maxErrors of an answer.
const codeTooManyErrors = "TOO_MANY_ERRORS"

// documents is the handler extension that parses and validates each
// document before gqlgen does, within Limits, and it is gqlgen's query cache.
// It bounds what a document may cost before the expensive work.
//
// The parser stops at Limits.MaxTokens. Then, before any validation rule
// runs, the parsed document's fragments (Limits.MaxFragments), selections
// (Limits.MaxSelections) and fields sharing one response name in one
// selection set (Limits.MaxSameResponseName; with the fragments the set
// spreads, Limits.MaxFieldPairs) are counted, and so are the selections
// validation would visit (Limits.MaxValidationVisits) and the comparisons
// of fields it would make (Limits.MaxMergeWork). They are counted first
// because validation walks every fragment from each fragment that spreads
// it, and compares every pair of fields of one name.
//
// Validation stops at the first MaxErrors errors instead of building one
// error per conflicting pair.
//
// A document enters the cache only once one of its operations has passed
// every limit (MutateOperationContext runs after the other limits). The
// cache is bounded by an estimate of its bytes, not by a count of
// documents.
//
// As the query cache, it answers gqlgen, which asks before it parses, with
// the document just validated for the request, so gqlgen's own parse and
// validation never run.
type documents struct {
	schema *ast.Schema
	limits Limits
	rules  func() *rules.Rules
	cache  *lru.Cache[*ast.QueryDocument]
}

var (
	_ graphql.HandlerExtension          = (*documents)(nil)
	_ graphql.OperationParameterMutator = (*documents)(nil)
	_ graphql.OperationContextMutator   = (*documents)(nil)
	_ graphql.Cache[*ast.QueryDocument] = (*documents)(nil)
)

// documentBytesPerSourceByte estimates what a parsed and validated document
// keeps in memory per byte of its source: measured at 17 to 23 on documents
// dense in fields (TestDocumentSizeEstimate), with a margin.
const documentBytesPerSourceByte = 32

// documentEntryOverhead is what any parsed document keeps besides its
// selections (the document, its operation, its source), with the cache's
// list element and map entry: measured at about 3 KB for a 100-byte
// document.
const documentEntryOverhead = 4096

func newDocuments(schema *ast.Schema, limits Limits, rulesFn func() *rules.Rules) *documents {
	return &documents{schema: schema, limits: limits, rules: rulesFn, cache: lru.New[*ast.QueryDocument](limits.DocumentCacheBytes, limits.DocumentCacheBytes/8)}
}

func (*documents) ExtensionName() string                   { return "Documents" }
func (*documents) Validate(graphql.ExecutableSchema) error { return nil }

// prepared is the document validated for one request, handed from
// MutateOperationParameters to Get and MutateOperationContext.
type prepared struct {
	query  string
	doc    *ast.QueryDocument
	cached bool
}

const preparedKey = "mlapi.document"

func preparedFor(ctx context.Context) *prepared {
	if !graphql.HasOperationContext(ctx) {
		return nil
	}
	p, _ := graphql.GetOperationContext(ctx).Stats.GetExtension(preparedKey).(*prepared)
	return p
}

// MutateOperationParameters parses and validates the request's document,
// within the limits, unless the cache holds it already.
func (d *documents) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	op := graphql.GetOperationContext(ctx)
	if doc, ok := d.cache.Get(params.Query); ok {
		op.Stats.SetExtension(preparedKey, &prepared{query: params.Query, doc: doc, cached: true})
		return nil
	}
	doc, errs := d.load(params.Query)
	if errs != nil {
		return joinErrors(errs)
	}
	op.Stats.SetExtension(preparedKey, &prepared{query: params.Query, doc: doc})
	return nil
}

// load parses and validates query within the limits.
func (d *documents) load(query string) (*ast.QueryDocument, gqlerror.List) {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, d.limits.MaxTokens)
	if err != nil {
		var gqlErr *gqlerror.Error
		if !errors.As(err, &gqlErr) {
			gqlErr = gqlerror.Wrap(err)
		}
		errcode.Set(gqlErr, errcode.ParseFailed)
		return nil, gqlerror.List{gqlErr}
	}
	if len(doc.Operations) == 0 {
		return nil, gqlerror.List{validationError("no operation provided")}
	}
	if err := d.checkShape(doc); err != nil {
		return nil, gqlerror.List{err}
	}
	if errs := d.validate(doc); len(errs) > 0 {
		return nil, errs
	}
	return doc, nil
}

// checkShape refuses a document larger than the limits allow, with a
// validation error for the first limit it exceeds. It runs before any
// validation rule. It counts selections as written: a fragment counts where
// it is defined, not where it is spread, so the count is linear in the
// document.
func (d *documents) checkShape(doc *ast.QueryDocument) *gqlerror.Error {
	if len(doc.Fragments) > d.limits.MaxFragments {
		return validationError(fmt.Sprintf("the document defines %d fragments; at most %d are allowed", len(doc.Fragments), d.limits.MaxFragments))
	}
	s := shape{maxSameName: d.limits.MaxSameResponseName}
	roots := make([]shapeRoot, 0, len(doc.Operations)+len(doc.Fragments))
	for _, o := range doc.Operations {
		roots = append(roots, s.root(o.SelectionSet))
	}
	fragments := make(map[string]shapeRoot, len(doc.Fragments))
	for _, f := range doc.Fragments {
		r := s.root(f.SelectionSet)
		roots = append(roots, r)
		if _, ok := fragments[f.Name]; !ok { // the first of a name, as validation takes
			fragments[f.Name] = r
		}
	}
	switch {
	case s.selections > d.limits.MaxSelections:
		return validationError(fmt.Sprintf("the document has %d selections; at most %d are allowed", s.selections, d.limits.MaxSelections))
	case s.sameName != "":
		return validationError(fmt.Sprintf("the document selects %q more than %d times in one selection set", s.sameName, d.limits.MaxSameResponseName))
	}
	if pairs := fieldPairs(s.sets, fragments, d.limits.MaxFieldPairs); pairs > d.limits.MaxFieldPairs {
		return validationError(fmt.Sprintf("the document selects too many fields of one name in the same selection set, its fragments included: at most %d pairs of them may be compared", d.limits.MaxFieldPairs))
	}
	if visits := validationVisits(roots, fragments, d.limits.MaxValidationVisits); visits > d.limits.MaxValidationVisits {
		return validationError(fmt.Sprintf("the document's fragments spread too many selections: at most %d may be reached from its operations and fragments, counting each fragment once per operation or fragment reaching it", d.limits.MaxValidationVisits))
	}
	if work := mergeWork(doc, d.limits.MaxMergeWork); work > d.limits.MaxMergeWork {
		return validationError("the document repeats fields of one name at several levels: comparing them would cost too much")
	}
	return nil
}

// mergeWork estimates the comparisons validation's field-merging rule makes
// on doc. It stops counting past limit, so its own cost is bounded by limit.
//
// The rule compares the fields of one response name in a selection set
// pairwise, then their sub-selections, level by level, so repeating a name
// at several levels multiplies the work: 20 x's, each with 6 x's, each with
// 11 totalCount, passed every other count in checkShape and cost 200 ms.
// The estimate walks the merged fields once per key.
func mergeWork(doc *ast.QueryDocument, limit int) int {
	work := 0
	for _, op := range doc.Operations {
		work = saturatingAdd(work, mergedSetWork([]ast.SelectionSet{op.SelectionSet}, doc.Fragments, nil, limit-work))
		if work > limit {
			break
		}
	}
	return work
}

// mergedSetWork is mergeWork for selection sets compared as one. A key
// selected once costs its sub-selections. A key selected c times costs its
// c(c-1)/2 pairs times the work of comparing two of their sub-selections.
func mergedSetWork(sets []ast.SelectionSet, fragments ast.FragmentDefinitionList, expanding []string, limit int) int {
	byKey := map[string][]ast.SelectionSet{}
	counts := map[string]int{}
	var keys []string
	work := 0
	var collect func(set ast.SelectionSet)
	collect = func(set ast.SelectionSet) {
		for _, sel := range set {
			if work++; work > limit {
				return
			}
			switch sel := sel.(type) {
			case *ast.Field:
				key := sel.Alias
				if key == "" {
					key = sel.Name
				}
				if counts[key] == 0 {
					keys = append(keys, key)
				}
				counts[key]++
				if len(sel.SelectionSet) > 0 {
					byKey[key] = append(byKey[key], sel.SelectionSet)
				}
			case *ast.InlineFragment:
				collect(sel.SelectionSet)
			case *ast.FragmentSpread:
				if slices.Contains(expanding, sel.Name) {
					continue // a cycle, which validation refuses
				}
				if f := fragments.ForName(sel.Name); f != nil {
					expanding = append(expanding, sel.Name)
					collect(f.SelectionSet)
					expanding = expanding[:len(expanding)-1]
				}
			}
		}
	}
	for _, set := range sets {
		collect(set)
	}
	for _, key := range keys {
		if work > limit {
			return work
		}
		children := byKey[key]
		if len(children) == 0 {
			continue
		}
		c := counts[key]
		if c == 1 {
			work = saturatingAdd(work, mergedSetWork(children, fragments, expanding, limit-work))
			continue
		}
		// Each of the c(c-1)/2 pairs compares its two sub-selections: priced
		// by the first pair, the others being alike in the documents that
		// matter (one written many times).
		pair := mergedSetWork(children[:min(2, len(children))], fragments, expanding, limit-work)
		work = saturatingAdd(work, saturatingMul(saturatingMul(c, c-1)/2, saturatingAdd(pair, 1)))
	}
	return work
}

// validationVisits counts the selections validation walks, and stops
// counting past limit. Validation walks every operation and every fragment
// definition, each with the fragments it reaches, once each.
func validationVisits(roots []shapeRoot, fragments map[string]shapeRoot, limit int) int {
	visits := 0
	seen := make(map[string]bool, len(fragments))
	var stack []string
	for _, r := range roots {
		clear(seen)
		visits += r.selections
		stack = append(stack[:0], r.spreads...)
		for len(stack) > 0 && visits <= limit {
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			f, ok := fragments[name]
			if !ok || seen[name] {
				continue
			}
			seen[name] = true
			visits += f.selections
			stack = append(stack, f.spreads...)
		}
		if visits > limit {
			break
		}
	}
	return visits
}

// shape counts a document's selections.
type shape struct {
	maxSameName int
	selections  int
	sameName    string // a response name selected too often in one set
	spreads     []string
	// sets are the document's selection sets, each with the fields of its
	// inline fragments merged in, as field merging validation sees them.
	sets []*mergeSet
}

// mergeSet is a selection set's response names, counted, and the fragments
// it spreads (not those spread in its fields' selection sets).
type mergeSet struct {
	names   map[string]int
	spreads []string
}

// shapeRoot is an operation's or a fragment's count of selections, the
// fragments it spreads at any depth, and its top selection set.
type shapeRoot struct {
	selections int
	spreads    []string
	top        *mergeSet
}

func (s *shape) root(set ast.SelectionSet) shapeRoot {
	before := s.selections
	s.spreads = nil
	top := s.selectionSet(set)
	return shapeRoot{selections: s.selections - before, spreads: s.spreads, top: top}
}

func (s *shape) selectionSet(set ast.SelectionSet) *mergeSet {
	m := &mergeSet{names: map[string]int{}}
	if len(set) == 0 {
		return m
	}
	s.sets = append(s.sets, m)
	s.collect(set, m)
	for name, n := range m.names {
		if n > s.maxSameName && s.sameName == "" {
			s.sameName = name
		}
	}
	return m
}

func (s *shape) collect(set ast.SelectionSet, m *mergeSet) {
	for _, sel := range set {
		s.selections++
		switch sel := sel.(type) {
		case *ast.Field:
			key := sel.Alias
			if key == "" {
				key = sel.Name
			}
			m.names[key]++
			s.selectionSet(sel.SelectionSet)
		case *ast.InlineFragment:
			s.collect(sel.SelectionSet, m)
		case *ast.FragmentSpread:
			s.spreads = append(s.spreads, sel.Name)
			m.spreads = append(m.spreads, sel.Name)
		}
	}
}

// fieldPairs counts the pairs of fields of one response name that field
// merging validation compares, and stops counting past limit. In each
// selection set, validation merges its own fields with those of every
// fragment it reaches through spreads, each fragment once.
func fieldPairs(sets []*mergeSet, fragments map[string]shapeRoot, limit int) int {
	pairs := 0
	merged := map[string]int{}
	seen := map[string]bool{}
	var stack []string
	for _, set := range sets {
		if len(set.spreads) == 0 {
			for _, k := range set.names {
				pairs = saturatingAdd(pairs, k*(k-1)/2)
			}
			continue
		}
		clear(merged)
		clear(seen)
		for name, k := range set.names {
			merged[name] = k
		}
		stack = append(stack[:0], set.spreads...)
		for len(stack) > 0 {
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			f, ok := fragments[name]
			if !ok || seen[name] {
				continue
			}
			seen[name] = true
			for n, k := range f.top.names {
				merged[n] += k
			}
			stack = append(stack, f.top.spreads...)
		}
		for _, k := range merged {
			pairs = saturatingAdd(pairs, saturatingMul(k, k-1)/2)
		}
		if pairs > limit {
			break
		}
	}
	return pairs
}

// errValidationStopped stops validation once it has found enough errors.
var errValidationStopped = errors.New("validation stopped")

// validate runs the validation rules on doc and returns their errors. It
// stops at the first MaxErrors errors, adding one TOO_MANY_ERRORS error
// when it stopped early. Past the limit, the function the rules report
// through panics with errValidationStopped, which validate recovers, so no
// rule goes on building errors nobody will read.
func (d *documents) validate(doc *ast.QueryDocument) (errs gqlerror.List) {
	stopped := false
	defer func() {
		if r := recover(); r != nil {
			if r != errValidationStopped { //nolint:errorlint // the sentinel itself is panicked
				panic(r)
			}
			stopped = true
		}
		if stopped {
			errs = append(errs, tooManyErrors("validation stopped after the first %d errors", d.limits.MaxErrors))
		}
	}()
	limited := rules.NewRules()
	for name, ruleFunc := range d.rules().GetInner() {
		limited.AddRule(name, func(observers *core.Events, _ core.AddErrFunc) {
			ruleFunc(observers, func(options ...core.ErrorOption) {
				if len(errs) >= d.limits.MaxErrors {
					panic(errValidationStopped)
				}
				err := &gqlerror.Error{Rule: name}
				for _, o := range options {
					o(err)
				}
				errcode.Set(err, errcode.ValidationFailed)
				errs = append(errs, err)
			})
		})
	}
	// The rules report through the function above, not through what
	// ValidateWithRules returns.
	_ = validator.ValidateWithRules(d.schema, doc, limited)
	return errs
}

// Get hands gqlgen the document validated for this request, or one the
// cache holds.
func (d *documents) Get(ctx context.Context, query string) (*ast.QueryDocument, bool) {
	if p := preparedFor(ctx); p != nil && p.query == query {
		return p.doc, true
	}
	return d.cache.Get(query)
}

// Add does nothing: MutateOperationContext caches documents, and only once
// their operation passed every limit. gqlgen calls Add after it validated a
// document itself, which it does only when Get missed: never once
// MutateOperationParameters ran.
func (d *documents) Add(context.Context, string, *ast.QueryDocument) {}

// MutateOperationContext caches the request's document, unless it came
// from the cache. It runs after every other limit, so the operation has
// passed them all.
func (d *documents) MutateOperationContext(ctx context.Context, _ *graphql.OperationContext) *gqlerror.Error {
	if p := preparedFor(ctx); p != nil && !p.cached {
		// A document over an eighth of the cache is not kept: a few large
		// documents must not push out every common one.
		d.cache.Add(p.query, p.doc, documentSize(p.query))
	}
	return nil
}

func validationError(message string) *gqlerror.Error {
	err := &gqlerror.Error{Message: message}
	errcode.Set(err, errcode.ValidationFailed)
	return err
}

func tooManyErrors(format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    "too many errors: " + fmt.Sprintf(format, args...),
		Extensions: map[string]any{"code": codeTooManyErrors},
	}
}

// joinedErrors carries several errors out of a gqlgen extension hook, which
// can return only one. layOut lays them out again in capErrors or in
// variableRefusals, whichever response interceptor reads them first.
type joinedErrors struct{ list gqlerror.List }

func (j joinedErrors) Error() string { return j.list.Error() }

// joinErrors returns the one error of errs, or the first carrying them all.
func joinErrors(errs gqlerror.List) *gqlerror.Error {
	if len(errs) == 1 {
		return errs[0]
	}
	first := *errs[0]
	first.Err = joinedErrors{list: errs}
	return &first
}

// capErrors is the response interceptor that lays out joined errors and
// keeps the first max errors of an answer, then one saying how many more
// there were.
type capErrors struct {
	max     int
	present graphql.ErrorPresenterFunc
}

var (
	_ graphql.HandlerExtension    = capErrors{}
	_ graphql.ResponseInterceptor = capErrors{}
)

func (capErrors) ExtensionName() string                   { return "CapErrors" }
func (capErrors) Validate(graphql.ExecutableSchema) error { return nil }

func (c capErrors) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return resp
	}
	resp.Errors = c.limit(ctx, resp.Errors)
	return resp
}

func (c capErrors) limit(ctx context.Context, errs gqlerror.List) gqlerror.List {
	errs = layOut(errs, func(err *gqlerror.Error) *gqlerror.Error { return c.present(ctx, err) })
	if len(errs) <= c.max || (len(errs) == c.max+1 && isTooMany(errs[c.max])) {
		return errs
	}
	hidden := len(errs) - c.max
	return append(errs[:c.max:c.max], tooManyErrors("%d more not shown", hidden))
}

// layOut replaces the error carrying the errors documents joined with those
// errors, each passed through present.
func layOut(errs gqlerror.List, present func(*gqlerror.Error) *gqlerror.Error) gqlerror.List {
	for i, err := range errs {
		var joined joinedErrors
		if !errors.As(err.Err, &joined) {
			continue
		}
		expanded := make(gqlerror.List, 0, len(errs)+len(joined.list))
		expanded = append(expanded, errs[:i]...)
		for _, e := range joined.list {
			expanded = append(expanded, present(e))
		}
		return append(expanded, errs[i+1:]...)
	}
	return errs
}

func isTooMany(err *gqlerror.Error) bool {
	code, _ := err.Extensions["code"].(string)
	return code == codeTooManyErrors
}

// documentSize estimates what a parsed document of query keeps in memory.
func documentSize(query string) int {
	return documentEntryOverhead + len(query)*documentBytesPerSourceByte
}
