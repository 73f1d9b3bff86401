package graph

import (
	"cmp"
	"context"
	"fmt"
	"github.com/mlapi/mlapi/internal/store"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/complexity"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// maxRequestBytes is what one refused request may allocate, all told:
// issue 7 asks for at most 10 MB of memory before a refusal.
const maxRequestBytes = 10 << 20

// allocated measures the bytes and allocations f makes. Tests that call it
// are not parallel: parallel tests run only once the sequential ones are
// done, so nothing else allocates meanwhile.
func allocated(f func()) (bytes, mallocs uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, after.Mallocs - before.Mallocs
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestConflictErrors reproduces issue 7's first finding: a document of
// fields of one response name that cannot be merged answered one error per
// pair (302,500 errors, 78.5 MB). Now the document is refused before
// validation, or validation stops at MaxErrors, and the answer is small.
func TestConflictErrors(t *testing.T) {
	h := newTestHandler(t, DefaultLimits())
	limits := DefaultLimits()
	tests := []struct {
		name        string
		query       string
		wantFirst   string // the first error's message contains it
		wantErrors  int
		wantTooMany bool
	}{
		{name: "issue 7's 550 pairs", query: conflictDocument(550), wantFirst: "selections; at most 1500", wantErrors: 1},
		{name: "one name more than 20 times", query: conflictDocument(11), wantFirst: `selects "a" more than 20 times`, wantErrors: 1},
		{name: "100 conflicts in one name", query: conflictDocument(10), wantFirst: "conflict", wantErrors: limits.MaxErrors + 1, wantTooMany: true},
		{name: "4,500 conflicts over 45 names", query: spreadConflictDocument(45, 20), wantFirst: "conflict", wantErrors: limits.MaxErrors + 1, wantTooMany: true},
		{name: "one conflict", query: `{ a: __typename a: model { version } }`, wantFirst: "conflict", wantErrors: 1},
		{name: "200,000 pairs over 45 fragments", query: fragmentConflictDocument(45), wantFirst: "at most 10000 pairs", wantErrors: 1},
		{name: "4,500 pairs over 3 fragments", query: fragmentConflictDocument(3), wantFirst: "conflict", wantErrors: limits.MaxErrors + 1, wantTooMany: true},
		// Within every count above, yet 135-250 ms of validation: each pair
		// of x's compares the pairs of their sub-selections, level by level.
		{name: "one name at three levels, 20 x 6 x 11", wantFirst: tooCostlyToMerge, wantErrors: 1,
			query: "{ " + strings.Repeat("x: me { "+strings.Repeat("x: requests { "+strings.Repeat("totalCount ", 11)+"} ", 6)+"} ", 20) + "}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a answer
			bytes, _ := allocated(func() { a = post(t, h, tt.query) })
			if len(a.Errors) != tt.wantErrors || !strings.Contains(a.Errors[0].Message, tt.wantFirst) {
				t.Fatalf("%d errors, the first %q; want %d, the first with %q", len(a.Errors), a.Errors[0].Message, tt.wantErrors, tt.wantFirst)
			}
			last := a.Errors[len(a.Errors)-1]
			if tooMany := last.Extensions["code"] == codeTooManyErrors; tooMany != tt.wantTooMany {
				t.Errorf("last error %q %v; want TOO_MANY_ERRORS %v", last.Message, last.Extensions["code"], tt.wantTooMany)
			}
			if a.Data != nil {
				t.Errorf("a refused document has data: %s", a.Data)
			}
			// 21 errors of 250 bytes at most, where there were 78.5 MB.
			if a.size > 8<<10 {
				t.Errorf("the answer is %d bytes, want at most 8 KiB", a.size)
			}
			if bytes > maxRequestBytes {
				t.Errorf("the request allocated %d bytes, want at most %d", bytes, maxRequestBytes)
			}
			t.Logf("%d bytes of document: %d errors, %d bytes of answer, %d bytes allocated", len(tt.query), len(a.Errors), a.size, bytes)
		})
	}
}

// TestValidationStopsEarly checks that validation stops building errors
// at MaxErrors rather than building them all and cutting: the work done
// for 4,500 conflicts is within a small factor of the work for 21.
func TestValidationStopsEarly(t *testing.T) {
	d := newDocuments(NewExecutableSchema(Config{}).Schema(), DefaultLimits(), validationRules)
	validate := func(query string) (gqlerror.List, uint64) {
		doc, err := parser.ParseQuery(&ast.Source{Input: query})
		if err != nil {
			t.Fatal(err)
		}
		var errs gqlerror.List
		bytes, _ := allocated(func() { errs = d.validate(doc) })
		return errs, bytes
	}
	few, fewBytes := validate(spreadConflictDocument(1, 10)) // 25 conflicts
	many, manyBytes := validate(spreadConflictDocument(45, 20))
	for _, errs := range []gqlerror.List{few, many} {
		if len(errs) != 21 || !isTooMany(errs[20]) {
			t.Fatalf("%d errors, want 20 and TOO_MANY_ERRORS", len(errs))
		}
	}
	// gqlparser builds the conflicts of one selection set before it
	// reports the first, so those are built (MaxSameResponseName bounds
	// them); the errors, their messages and the answer are not. All 4,500
	// errors would take 1.2 MB more, and their answer 1.1 MB.
	if manyBytes > 2<<20 {
		t.Errorf("validating 4,500 conflicts allocated %d bytes, 25 conflicts %d", manyBytes, fewBytes)
	}
	t.Logf("25 conflicts: %d bytes; 4,500 conflicts: %d bytes", fewBytes, manyBytes)
}

// TestFragmentBomb reproduces issue 7's third finding: fragments each
// spreading the next one twice cost 2^levels in gqlgen's complexity and our
// depth and once-per-operation walks (17 s of CPU at 26 levels). Each
// fragment is now priced once: the walks visit each selection of the
// document once, and a bomb too large to validate cheaply is refused before
// validation.
// tooCostlyToMerge is the refusal of documents whose fields of one name,
// fragments spread, would cost validation too much to compare: a bomb's
// copies of one fragment are such fields, so it is refused there, before the
// complexity and once-per-operation walks that refused it before.
const tooCostlyToMerge = "comparing them would cost too much"

func TestFragmentBomb(t *testing.T) {
	h := newTestHandler(t, DefaultLimits())
	tests := []struct {
		name      string
		query     string
		wantCode  string
		wantFirst string
	}{
		{name: "issue 7's 26 levels", query: fragmentBomb(26, "model", "ModelInfo", "version"), wantCode: "GRAPHQL_VALIDATION_FAILED", wantFirst: tooCostlyToMerge},
		{name: "64 levels", query: fragmentBomb(64, "model", "ModelInfo", "version"), wantCode: "GRAPHQL_VALIDATION_FAILED", wantFirst: tooCostlyToMerge},
		{name: "400 levels, too much to validate", query: fragmentBomb(400, "model", "ModelInfo", "version"), wantCode: "GRAPHQL_VALIDATION_FAILED", wantFirst: "at most 100 are allowed"},
		{name: "100 levels, too much to validate", query: fragmentBomb(100, "model", "ModelInfo", "version"), wantCode: "GRAPHQL_VALIDATION_FAILED", wantFirst: "fragments spread too many selections"},
		{name: "root fields", query: rootFragmentBomb(40), wantCode: "GRAPHQL_VALIDATION_FAILED", wantFirst: tooCostlyToMerge},
		{name: "token at the root", query: strings.Replace(rootFragmentBomb(30), "__typename", `token(input: {username: "u", password: "p"}) { token }`, 1), wantCode: "GRAPHQL_VALIDATION_FAILED", wantFirst: tooCostlyToMerge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a answer
			bytes, mallocs := allocated(func() { a = post(t, h, tt.query) })
			if codes := a.codes(); len(codes) != 1 || codes[0] != tt.wantCode || !strings.Contains(a.Errors[0].Message, tt.wantFirst) {
				t.Fatalf("errors %v %v, want one %s with %q", codes, a.Errors, tt.wantCode, tt.wantFirst)
			}
			if bytes > maxRequestBytes {
				t.Errorf("the request allocated %d bytes, want at most %d", bytes, maxRequestBytes)
			}
			t.Logf("%d bytes of document: %d bytes, %d allocations", len(tt.query), bytes, mallocs)
		})
	}
}

// TestFragmentBombIntrospection: under __schema, which costs nothing in the
// complexity budget and is not counted for depth, a bomb is refused before
// validation too (the count of introspection fields, each fragment counted
// once, would refuse it next).
func TestFragmentBombIntrospection(t *testing.T) {
	h := newTestHandler(t, DefaultLimits())
	query := fragmentBomb(40, "__schema", "__Schema", "description")
	var a answer
	bytes, _ := allocated(func() { a = post(t, h, query) })
	if codes := a.codes(); len(codes) != 1 || codes[0] != "GRAPHQL_VALIDATION_FAILED" || !strings.Contains(a.Errors[0].Message, tooCostlyToMerge) {
		t.Fatalf("answer %s %v", a.Data, a.Errors)
	}
	if bytes > maxRequestBytes {
		t.Errorf("the request allocated %d bytes, want at most %d", bytes, maxRequestBytes)
	}
}

// countSelections counts the selections written in doc.
func countSelections(doc *ast.QueryDocument) int {
	s := shape{maxSameName: maxInt}
	for _, o := range doc.Operations {
		s.root(o.SelectionSet)
	}
	for _, f := range doc.Fragments {
		s.root(f.SelectionSet)
	}
	return s.selections
}

// TestWalksAreLinear counts the selections each walk visits on fragment
// bombs: at most the selections written in the document, where they were
// 2^levels.
func TestWalksAreLinear(t *testing.T) {
	t.Parallel()
	es := NewExecutableSchema(Config{})
	for _, levels := range []int{20, 40, 60} {
		for _, query := range []string{
			fragmentBomb(levels, "model", "ModelInfo", "version"),
			fragmentBomb(levels, "me", "Viewer", "requests(first: 100) { totalCount }"),
			rootFragmentBomb(levels),
		} {
			doc, errs := gqlparser.LoadQueryWithRules(es.Schema(), query, nil)
			if errs != nil {
				t.Fatal(errs)
			}
			op := doc.Operations[0]
			written := countSelections(doc)

			dw := depthWalker{memo: map[*ast.FragmentDefinition]int{}}
			dw.selectionSet(op.SelectionSet)
			rw := rootFieldWalker{memo: map[*ast.FragmentDefinition]map[string]int{}}
			rw.selectionSet(op.SelectionSet, map[string]int{})
			ew := expandedWalker{memo: map[*ast.FragmentDefinition]int{}, rootMemo: map[*ast.FragmentDefinition]int{}}
			ew.introspection(op.SelectionSet)
			ew.size(op.SelectionSet)
			cw := complexityWalker{ctx: context.Background(), es: es, schema: es.Schema(), memo: map[*ast.FragmentDefinition]int{}}
			cost := cw.selectionSet(op.SelectionSet)
			for name, visited := range map[string]int{"depth": dw.visited, "root fields": rw.visited, "complexity": cw.visited, "introspection": ew.visited / 2} {
				if visited > written {
					t.Errorf("%d levels: the %s walk visited %d selections; the document has %d", levels, name, visited, written)
				}
			}
			if cost <= 2500 {
				t.Errorf("%d levels: complexity %d", levels, cost)
			}
		}
	}
}

// TestComplexityAsGqlgen prices documents as gqlgen's complexity
// calculation did (FixedComplexityLimit, the costs set in NewHandler),
// where neither overflows.
func TestComplexityAsGqlgen(t *testing.T) {
	t.Parallel()
	cfg := Config{}
	cfg.Complexity.Viewer.Requests = func(child int, first *int, _ *string, last *int, _ *string, _ *time.Time, _ *store.RequestFilter, _ *store.Order) int {
		return pageComplexity(child, cmp.Or(first, last))
	}
	cfg.Complexity.Mutation.Predict = func(child int, _ map[string]any) int { return saturatingAdd(predictCost, child) }
	es := NewExecutableSchema(cfg)
	tests := []struct {
		query string
		vars  map[string]any
	}{
		{query: `{ model { version features { name min max } } }`},
		{query: `{ me { username requests(first: 100) { totalCount edges { node { id input response { yhat } } } } } }`},
		{query: `query($n: Int) { me { requests(first: $n) { edges { cursor } } } }`, vars: map[string]any{"n": 7}},
		{query: `{ me { requests { edges { cursor } } } }`},
		{query: `{ node(id: "x") { id ... on PredictionRequest { input } ... on User { username } } }`},
		{query: `{ ...Q } fragment Q on Query { a: model { ...M } b: model { ...M } } fragment M on ModelInfo { version numTrees }`},
		{query: `mutation { a: predict(input: {}) { yhat } b: predict(input: {}) { ...P } } fragment P on PredictionResponse { yhat yhatProb }`},
		{query: `{ __schema { types { name } } __typename }`},
		{query: fragmentBomb(20, "model", "ModelInfo", "version")},
	}
	for _, tt := range tests {
		doc, err := parser.ParseQuery(&ast.Source{Input: tt.query})
		if err != nil {
			t.Fatal(err)
		}
		// Predict's input is not checked here: only costs are compared,
		// on the document as validation leaves it.
		d := newDocuments(es.Schema(), DefaultLimits(), validationRules)
		d.validate(doc)
		op := doc.Operations[0]
		want := complexity.Calculate(context.Background(), es, op, tt.vars)
		got := operationComplexity(context.Background(), es, op, tt.vars)
		if got != want {
			t.Errorf("%s: complexity %d, gqlgen's %d", tt.query, got, want)
		}
	}
}

func TestSaturatingCosts(t *testing.T) {
	t.Parallel()
	huge := maxInt / 3
	tests := []struct {
		name string
		got  int
		want int
	}{
		{name: "a page of 100", got: pageComplexity(10, ptr(100)), want: 1001},
		{name: "a huge page", got: pageComplexity(4, ptr(huge)), want: maxInt},
		{name: "a page of an expensive child", got: pageComplexity(maxInt, ptr(100)), want: maxInt},
		{name: "2^62 times 4 would wrap to 0", got: pageComplexity(4, ptr(1<<62)), want: maxInt},
		{name: "add", got: saturatingAdd(maxInt, 1), want: maxInt},
		{name: "negative counts as nothing", got: saturatingAdd(-5, 3), want: 3},
		{name: "mul", got: saturatingMul(1<<32, 1<<32), want: maxInt},
		{name: "mul zero", got: saturatingMul(0, maxInt), want: 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// aliased repeats field n times, aliased a0, a1, ...
func aliased(n int, field string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s ", i, field)
	}
	return b.String()
}

// TestDocumentCache reproduces issue 7's second finding: the cache of
// parsed documents kept any 1,000 documents, those refused for complexity
// included (1,087 MB). Now only documents whose operation passed every
// limit are kept, and the cache is bounded by bytes: distinct valid
// documents are sent and what the server keeps is measured.
func TestDocumentCache(t *testing.T) {
	limits := DefaultLimits()
	limits.MaxDepth = 4
	h, docs := newTestServer(t, limits)
	admitted := []struct {
		name  string
		query string
	}{
		{name: "small", query: `{ model { version } }`},
		{name: "introspection's size", query: cacheDocument(0, 100, 2000)},
	}
	for _, tt := range admitted {
		post(t, h, tt.query)
		if _, ok := docs.cache.Get(tt.query); !ok {
			t.Errorf("%s: not cached", tt.name)
		}
	}
	refused := []struct {
		name  string
		query string
	}{
		{name: "complexity", query: "{ " + aliased(6, "me { requests(first: 100) { edges { node { id input createdAt } } } }") + " }"},
		{name: "depth", query: `{ me { requests { edges { node { id } } } } }`},
		{name: "once per operation", query: `mutation { a: token(input: {username: "u", password: "p"}) { token } b: token(input: {username: "u", password: "p"}) { token } }`},
		{name: "invalid", query: `{ nope }`},
	}
	for _, tt := range refused {
		a := post(t, h, tt.query)
		if len(a.Errors) == 0 {
			t.Fatalf("%s: not refused", tt.name)
		}
		if _, ok := docs.cache.Get(tt.query); ok {
			t.Errorf("%s: refused (%s), and cached", tt.name, a.codes()[0])
		}
	}

	for _, tc := range []struct {
		name          string
		fields, bytes int
	}{
		{name: "2 KB documents", fields: 100, bytes: 2000},
		{name: "27 KB documents, as issue 7's", fields: 900, bytes: 27000},
	} {
		before := heapInUse()
		const n = 300
		for i := range n {
			q := cacheDocument(i+1, tc.fields, tc.bytes)
			if a := post(t, h, q); len(a.Errors) > 0 {
				t.Fatalf("document refused: %v", a.Errors)
			}
		}
		kept := int64(heapInUse()) - int64(before)
		count, estimate := docs.cache.Len()
		t.Logf("%s: %d sent, %d kept, estimated %d bytes, heap grew %d bytes", tc.name, n, count, estimate, kept)
		if estimate > limits.DocumentCacheBytes {
			t.Errorf("the cache estimates %d bytes, over its %d", estimate, limits.DocumentCacheBytes)
		}
		// Measured, not assumed: the estimate must not undercount.
		if kept > int64(limits.DocumentCacheBytes)+1<<20 {
			t.Errorf("the heap grew by %d bytes, over the cache's %d", kept, limits.DocumentCacheBytes)
		}
	}
}

// TestDocumentSizeEstimate measures what a cached document keeps in memory
// per byte of source, for documents dense in fields, against
// documentBytesPerSourceByte.
func TestDocumentSizeEstimate(t *testing.T) {
	d := newDocuments(NewExecutableSchema(Config{}).Schema(), DefaultLimits(), validationRules)
	for _, q := range []string{
		cacheDocument(1, 100, 1000),
		cacheDocument(2, 1000, 6000),
		`{ model { version objective numTrees maxDepth xgboostVersion features { name field type min max } } }`,
		fragmentBomb(4, "me", "Viewer", "requests(first: 10) { edges { node { id input response { yhat yhatProb } } } }"),
	} {
		before := heapInUse()
		doc, errs := d.load(q)
		if errs != nil {
			t.Fatal(errs)
		}
		kept := int64(heapInUse()) - int64(before)
		runtime.KeepAlive(doc)
		perByte := float64(kept) / float64(len(q))
		t.Logf("%d bytes of source keep %d bytes: %.1f per byte", len(q), kept, perByte)
		if kept > int64(documentSize(q)) {
			t.Errorf("%d bytes of source keep %d bytes, more than the %d estimated", len(q), kept, documentSize(q))
		}
	}
}

// TestCapErrors keeps the first MaxErrors errors of an answer.
func TestCapErrors(t *testing.T) {
	t.Parallel()
	errs := func(n int) gqlerror.List {
		list := make(gqlerror.List, n)
		for i := range list {
			list[i] = &gqlerror.Error{Message: fmt.Sprint(i), Extensions: map[string]any{"code": "X"}}
		}
		return list
	}
	c := capErrors{max: 3, present: func(_ context.Context, err error) *gqlerror.Error { return err.(*gqlerror.Error) }}
	stopped := append(errs(3), tooManyErrors("validation stopped"))
	tests := []struct {
		name     string
		in       gqlerror.List
		want     int
		wantLast string
	}{
		{name: "none", in: nil, want: 0},
		{name: "under", in: errs(2), want: 2, wantLast: "1"},
		{name: "at", in: errs(3), want: 3, wantLast: "2"},
		{name: "over", in: errs(300), want: 4, wantLast: "too many errors: 297 more not shown"},
		{name: "validation stopped", in: stopped, want: 4, wantLast: "too many errors: validation stopped"},
		{name: "joined", in: gqlerror.List{joinErrors(stopped)}, want: 4, wantLast: "too many errors: validation stopped"},
		{name: "joined, two", in: gqlerror.List{joinErrors(errs(2))}, want: 2, wantLast: "1"},
	}
	for _, tt := range tests {
		got := c.limit(context.Background(), tt.in)
		if len(got) != tt.want || (tt.want > 0 && got[len(got)-1].Message != tt.wantLast) {
			t.Errorf("%s: %d errors, the last %v; want %d, the last %q", tt.name, len(got), got, tt.want, tt.wantLast)
		}
	}
}

// TestExecutionErrorsCapped: errors met while running are capped too, a
// hundred aliased fields refused for want of a token answering 21 errors.
func TestExecutionErrorsCapped(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, DefaultLimits())
	var b strings.Builder
	b.WriteString("{ ")
	for i := range 100 {
		fmt.Fprintf(&b, "m%d: me { username } ", i)
	}
	b.WriteString("}")
	a := post(t, h, b.String())
	codes := a.codes()
	if len(codes) != 21 || codes[0] != "UNAUTHENTICATED" || codes[20] != codeTooManyErrors ||
		a.Errors[20].Message != "too many errors: 80 more not shown" {
		t.Errorf("errors %v, last %q", codes, a.Errors[len(a.Errors)-1].Message)
	}
	if a.Data == nil {
		t.Error("the data went with the errors")
	}
}

// TestIntrospectionAmplification: introspection is free in the complexity
// budget and exempt from the depth limit, so aliased __schema fields made a
// 12.8 KB document allocate 600 MB (300 copies of GraphiQL's query). The
// fields asked of introspection are now counted, fragments expanded.
func TestIntrospectionAmplification(t *testing.T) {
	h := newTestHandler(t, DefaultLimits())
	fragments := introspectionQuery[strings.Index(introspectionQuery, "fragment FullType"):]
	tests := []struct {
		name     string
		query    string
		wantCode string // "" for answered
	}{
		{name: "GraphiQL's query", query: introspectionQuery},
		{name: "twice", query: "{ " + aliased(2, "__schema { types { ...FullType } }") + " }\n" + fragments},
		{name: "300 aliases of __schema", query: "{ " + aliased(300, "__schema { types { ...FullType } }") + " }\n" + fragments, wantCode: codeComplexityLimit},
		{name: "300 aliases of types", query: "{ __schema { " + aliased(300, "types { ...FullType }") + " } }\n" + fragments, wantCode: codeComplexityLimit},
		{name: "through root fragments", query: "query { ...Q }\nfragment Q on Query { " + aliased(10, "__schema { types { ...FullType } }") + " }\n" + fragments, wantCode: codeComplexityLimit},
		{name: "a root fragment bomb", query: strings.Replace(fragmentBomb(40, "__typename", "Query", "__schema { description }"), "query { __typename { ...F0 } }", "query { ...F0 }", 1), wantCode: codeValidation}, // its fields of one name, merged across spreads
		{name: "__type", query: `{ __type(name: "Query") { name fields { name } } }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a answer
			bytes, _ := allocated(func() { a = post(t, h, tt.query) })
			code := ""
			if len(a.Errors) > 0 {
				code = a.codes()[0]
			}
			if code != tt.wantCode {
				t.Fatalf("code %q, want %q: %v", code, tt.wantCode, a.Errors)
			}
			if bytes > maxRequestBytes {
				t.Errorf("the request allocated %d bytes, want at most %d", bytes, maxRequestBytes)
			}
			t.Logf("%d bytes of document: %d bytes of answer, %d bytes allocated", len(tt.query), a.size, bytes)
		})
	}
}
