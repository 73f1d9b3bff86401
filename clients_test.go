package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/mlapi/mlapi/clients/genqlient"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// The clients the README shows callers: the real npm clients against the
// built binary (skipped with -short), and the Go client generated with
// genqlient against the in-process API.

// TestRealClients runs the real npm GraphQL clients in clients/ against the
// built binary, each on its default settings: graphql-http's GraphQL-over-HTTP
// audit, Apollo Client 3 (auth link, automatic persisted queries, normalized
// cache with Relay pagination, @defer), urql, graphql-request, graphql-ws
// (the requestLogged subscription over a websocket), and GraphQL Code
// Generator's client preset type-checked by tsc. It needs Node.js 20+ and npm:
// without them it is skipped, except under CI=true, where it fails.
func TestRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("real clients: skipped with -short")
	}
	requireNode(t)
	t.Parallel()
	npmCI(t)
	server := start(t, t.TempDir())
	t.Logf("server at %s", server.base)

	tests := []struct {
		name  string
		cmds  [][]string
		check func(t *testing.T) // after the commands succeeded
	}{
		{name: "graphql-http audit", cmds: [][]string{{"node", "audit.mjs"}}},
		{name: "apollo", cmds: [][]string{{"node", "apollo.mjs"}}},
		{name: "urql", cmds: [][]string{{"node", "urql.mjs"}}},
		{name: "graphql-request", cmds: [][]string{{"node", "graphql-request.mjs"}}},
		// Node.js 20's WebSocket is behind the flag; later versions accept it.
		{name: "graphql-ws", cmds: [][]string{{"node", "--experimental-websocket", "graphql-ws.mjs"}}},
		{
			name:  "codegen and tsc",
			cmds:  [][]string{{"npm", "run", "--silent", "codegen"}, {"npm", "run", "--silent", "typecheck"}},
			check: checkPersistedDocuments,
		},
		// The web app's types: graphql-codegen's output from the schema and
		// operations.js is the committed one, and tsc finds the app's
		// JavaScript consistent with it.
		{name: "web app types", cmds: [][]string{{"npm", "run", "--silent", "check-webapp"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, args := range tt.cmds {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, args[0], args[1:]...)
				cmd.Dir = "clients"
				cmd.Env = append(os.Environ(), "MLAPI_URL="+server.base)
				cmd.WaitDelay = 5 * time.Second
				out, err := cmd.CombinedOutput()
				if ctx.Err() != nil {
					t.Fatalf("%s: timed out after 2 minutes\n%s", strings.Join(args, " "), out)
				}
				if err != nil {
					t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
				}
				t.Logf("%s:\n%s", strings.Join(args, " "), out)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}

// requireNode skips the test without Node.js 20+ and npm, or fails it under CI.
func requireNode(t *testing.T) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format+" (CI must install Node.js 20+ and npm)", args...)
		}
		t.Skipf(format+": install Node.js 20+ and npm to run the real clients", args...)
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing("%s not found", tool)
		}
	}
	out, err := exec.Command("node", "-p", "process.versions.node").Output()
	if err != nil {
		missing("node -p process.versions.node: %v", err)
	}
	version := strings.TrimSpace(string(out))
	major, _ := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	if major < 20 {
		missing("node %s is too old", version)
	}
}

// npmCI installs clients/node_modules from package-lock.json, unless the last
// install was of the same package.json and lock file with the same Node.js.
func npmCI(t *testing.T) {
	t.Helper()
	h := sha256.New()
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join("clients", name))
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	nodeVersion, _ := exec.Command("node", "--version").Output()
	h.Write(nodeVersion)
	want := hex.EncodeToString(h.Sum(nil))
	stamp := filepath.Join("clients", "node_modules", ".mlapi-npm-ci")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = "clients"
	cmd.WaitDelay = 5 * time.Second
	began := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in clients/: %v\n%s", err, out)
	}
	t.Logf("npm ci: %s", time.Since(began).Round(100*time.Millisecond))
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkPersistedDocuments reads the manifest the client preset wrote: every
// key is "sha256:" and the hex SHA-256 of its document, one per operation.
func checkPersistedDocuments(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("clients", "gql", "persisted-documents.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]string
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatalf("persisted-documents.json: %v\n%s", err, b)
	}
	operations := map[string]bool{}
	key := regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	for hash, document := range manifest {
		sum := sha256.Sum256([]byte(document))
		if !key.MatchString(hash) || hash != "sha256:"+hex.EncodeToString(sum[:]) {
			t.Errorf("manifest key %q is not the sha256 of %q", hash, document)
		}
		if m := regexp.MustCompile(`^(query|mutation) (\w+)`).FindStringSubmatch(document); m != nil {
			operations[m[2]] = true
		}
	}
	for _, name := range []string{"Register", "Token", "Predict", "History"} {
		if !operations[name] {
			t.Errorf("manifest: no %s operation in %s", name, b)
		}
	}
	if len(manifest) != len(operations) {
		t.Errorf("manifest: %d documents for %d operations", len(manifest), len(operations))
	}
	checkTrustedDocuments(t, manifest)
}

// checkTrustedDocuments serves the manifest as TRUSTED_DOCUMENTS: its
// documents run by documentId, any other document is refused.
func checkTrustedDocuments(t *testing.T, manifest map[string]string) {
	path, err := filepath.Abs(filepath.Join("clients", "gql", "persisted-documents.json"))
	if err != nil {
		t.Fatal(err)
	}
	server := start(t, t.TempDir(), "TRUSTED_DOCUMENTS="+path)
	for hash, document := range manifest {
		if !strings.HasPrefix(document, "query History") {
			continue
		}
		// Run without a token: me is null with UNAUTHENTICATED, which only
		// an operation that ran can answer. By hand: a documentId is not a
		// field of gqlgen's client.Request.
		body := mustJSON(map[string]any{"documentId": hash, "variables": map[string]any{"first": 2}})
		resp := server.send(t, server.newRequest(t, http.MethodPost, "/query", "", strings.NewReader(body)))
		var me *struct{ Username string }
		resp.field(t, "me", &me)
		if resp.code() != "UNAUTHENTICATED" || me != nil {
			t.Errorf("trusted History by documentId: %s", resp.Raw)
		}
	}
	if resp := server.post(t, "", "{ model { version } }"); resp.code() != "TRUSTED_DOCUMENT_REQUIRED" {
		t.Errorf("an untrusted document: %s", resp.Raw)
	}
}

// seedPredictInput is the seed document's example, as a Go caller sends it.
func seedPredictInput() genqlient.PredictInput {
	return genqlient.PredictInput{
		Age: 25, CreatininePhosphokinase: 1000, EjectionFraction: 35, Platelets: 500000,
		SerumCreatinine: 8, SerumSodium: 135, Sex: true, HighBloodPressure: false,
	}
}

// TestGenqlientClient runs the seed flow through the example typed client in
// clients/genqlient, so that the client the README shows Go callers keeps
// compiling against the schema and working against the real server.
func TestGenqlientClient(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		queryURL := api.server.URL + "/query"
		ctx := t.Context()
		api.register(t, "grace", userPassword)

		tok, err := genqlient.Token(ctx, genqlient.NewClient(queryURL, "", api.server.Client()), "grace", userPassword)
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		if tok.Token.Token == "" || tok.Token.TokenType != "Bearer" || !tok.Token.ExpiresAt.After(time.Now()) {
			t.Fatalf("Token = %+v, want a Bearer token that has not expired", tok.Token)
		}
		client := genqlient.NewClient(queryURL, tok.Token.Token, api.server.Client())

		// The seed's example goes last so that it heads the history.
		inputs := []genqlient.PredictInput{
			{Age: 75, CreatininePhosphokinase: 582, EjectionFraction: 20, Platelets: 265000,
				SerumCreatinine: 1.9, SerumSodium: 130, Sex: true, HighBloodPressure: true},
			{Age: 50, CreatininePhosphokinase: 200, EjectionFraction: 60, Platelets: 250000,
				SerumCreatinine: 0.9, SerumSodium: 140, Sex: false, HighBloodPressure: false},
			seedPredictInput(),
		}
		var predictions []genqlient.PredictPredictPrediction
		for _, in := range inputs {
			resp, err := genqlient.Predict(ctx, client, in)
			if err != nil {
				t.Fatalf("Predict(%+v): %v", in, err)
			}
			p := resp.Predict
			if p.YhatProb < 0 || p.YhatProb > 1 || p.Yhat != yhatOf(p.YhatProb) {
				t.Errorf("Predict(%+v): yhatProb %v yhat %d, want a probability and yhat = (yhatProb > 0.5)", in, p.YhatProb, p.Yhat)
			}
			if p.Request.Id == "" || p.Request.CreatedAt.IsZero() || len(p.ModelVersion) != 64 {
				t.Errorf("Predict(%+v): request %+v, model version %q", in, p.Request, p.ModelVersion)
			}
			predictions = append(predictions, p)
		}
		seed := predictions[len(predictions)-1]
		// Exact: yhatProb is bound to float32, the precision the server
		// computes and prints it at.
		if seed.YhatProb != 0.5124506 || seed.Yhat != 1 {
			t.Errorf("seed example: yhatProb %v yhat %d, want 0.5124506 and 1", seed.YhatProb, seed.Yhat)
		}

		// The history, two at a time, as a caller walks it.
		var (
			nodes     []genqlient.HistoryMeViewerRequestsRequestConnectionEdgesRequestEdgeNodePredictionRequest
			pageSizes []int
			after     string
		)
		for {
			resp, err := genqlient.History(ctx, client, 2, after)
			if err != nil {
				t.Fatalf("History(2, %q): %v", after, err)
			}
			if resp.Me == nil {
				t.Fatal("History: me is null with a valid token")
			}
			page := resp.Me.Requests
			if page.TotalCount != len(inputs) {
				t.Errorf("History(2, %q): totalCount %d, want %d", after, page.TotalCount, len(inputs))
			}
			pageSizes = append(pageSizes, len(page.Edges))
			for _, edge := range page.Edges {
				nodes = append(nodes, edge.Node)
			}
			if !page.PageInfo.HasNextPage {
				break
			}
			if page.PageInfo.EndCursor == nil {
				t.Fatalf("History(2, %q): hasNextPage without an endCursor", after)
			}
			if len(pageSizes) > len(inputs) {
				t.Fatalf("History: more pages than requests: %v", pageSizes)
			}
			after = *page.PageInfo.EndCursor
		}
		if !slices.Equal(pageSizes, []int{2, 1}) {
			t.Fatalf("History pages of %v, want [2 1]", pageSizes)
		}
		if nodes[0].Id != seed.Request.Id {
			t.Errorf("the history starts with request %s, want the last prediction's %s", nodes[0].Id, seed.Request.Id)
		}
		seen := map[string]bool{}
		for i, node := range nodes {
			p := predictions[len(predictions)-1-i] // newest first
			if seen[node.Id] || node.Id != p.Request.Id {
				t.Errorf("history[%d] is request %s, want %s, distinct and newest first", i, node.Id, p.Request.Id)
			}
			seen[node.Id] = true
			if i > 0 && node.CreatedAt.After(nodes[i-1].CreatedAt) {
				t.Errorf("history[%d] created at %v, after history[%d] at %v", i, node.CreatedAt, i-1, nodes[i-1].CreatedAt)
			}
			r := node.Response
			if r == nil || r.Status != genqlient.ResponseStatusOk || r.YhatProb == nil || *r.YhatProb != p.YhatProb ||
				r.Yhat == nil || *r.Yhat != p.Yhat {
				t.Errorf("history[%d] response %s, want status OK with the prediction's yhatProb %v and yhat %d",
					i, describeResponse(r), p.YhatProb, p.Yhat)
			}
		}

		t.Run("model", func(t *testing.T) {
			t.Parallel()
			resp, err := genqlient.Model(t.Context(), client)
			if err != nil {
				t.Fatalf("Model: %v", err)
			}
			m := resp.Model
			if m.Id == "" || m.Version != seed.ModelVersion {
				t.Errorf("Model: id %q version %q, want an id and the version that predicted (%s)", m.Id, m.Version, seed.ModelVersion)
			}
			bounds := func(lo, hi float32) [2]*float32 { return [2]*float32{&lo, &hi} }
			want := []struct {
				name, field string
				bounds      [2]*float32 // nil for a boolean
			}{
				{"age", "age", bounds(0, 130)},
				{"creatinine_phosphokinase", "creatininePhosphokinase", bounds(0, 100000)},
				{"ejection_fraction", "ejectionFraction", bounds(0, 100)},
				{"platelets", "platelets", bounds(0, 5000000)},
				{"serum_creatinine", "serumCreatinine", bounds(0, 100)},
				{"serum_sodium", "serumSodium", bounds(50, 250)},
				{"sex", "sex", [2]*float32{}},
				{"high_blood_pressure", "highBloodPressure", [2]*float32{}},
			}
			if len(m.Features) != len(want) {
				t.Fatalf("Model: %d features, want %d: %+v", len(m.Features), len(want), m.Features)
			}
			for _, w := range want {
				i := slices.IndexFunc(m.Features, func(f genqlient.ModelModelModelInfoFeaturesModelFeature) bool { return f.Name == w.name })
				if i < 0 {
					t.Errorf("Model: no feature %s", w.name)
					continue
				}
				f := m.Features[i]
				if f.Field != w.field || !equalBound(f.Min, w.bounds[0]) || !equalBound(f.Max, w.bounds[1]) {
					t.Errorf("Model: feature %s is field %s in [%s, %s], want %s in [%s, %s]", w.name,
						f.Field, describeFloat(f.Min), describeFloat(f.Max), w.field, describeFloat(w.bounds[0]), describeFloat(w.bounds[1]))
				}
			}
		})

		// Refusals arrive as the gqlerror.List genqlient returns. Each row
		// has a user of its own, so that it finds its refusal logged at the
		// head of its history whatever the other rows do.
		refusals := []struct {
			name      string
			anonymous bool
			change    func(*genqlient.PredictInput)
			code      string
			fields    []string
		}{
			{name: "age out of range", change: func(in *genqlient.PredictInput) { in.Age = -5 },
				code: "BAD_USER_INPUT", fields: []string{"age"}},
			{name: "every offending field named", change: func(in *genqlient.PredictInput) { in.Age = -5; in.EjectionFraction = 150 },
				code: "BAD_USER_INPUT", fields: []string{"age", "ejectionFraction"}},
			{name: "no token", anonymous: true, code: "UNAUTHENTICATED"},
		}
		for i, tt := range refusals {
			t.Run("refused/"+tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				client := genqlient.NewClient(queryURL, "", api.server.Client())
				if !tt.anonymous {
					username := fmt.Sprintf("refused%d", i)
					api.register(t, username, userPassword)
					client = genqlient.NewClient(queryURL, api.token(t, username, userPassword), api.server.Client())
				}
				in := seedPredictInput()
				if tt.change != nil {
					tt.change(&in)
				}
				_, err := genqlient.Predict(ctx, client, in)
				var list gqlerror.List
				if !errors.As(err, &list) || len(list) != 1 {
					t.Fatalf("Predict(%+v) = %T %v, want a gqlerror.List of one error", in, err, err)
				}
				gqlErr := list[0]
				if code, _ := gqlErr.Extensions["code"].(string); code != tt.code || gqlErr.Path.String() != "predict" {
					t.Errorf("error at %q with code %q, want %s at predict: %v", gqlErr.Path, code, tt.code, gqlErr)
				}
				if got := errorFields(gqlErr); !slices.Equal(got, tt.fields) {
					t.Errorf("extensions.fields name %q, want %q: %v", got, tt.fields, gqlErr.Extensions)
				}
				if tt.anonymous {
					return
				}

				// Logged, with the nullable fields of a refusal coming back nil.
				resp, err := genqlient.History(ctx, client, 1, "")
				if err != nil {
					t.Fatalf("History: %v", err)
				}
				if resp.Me == nil || resp.Me.Requests.TotalCount != 1 || len(resp.Me.Requests.Edges) != 1 {
					t.Fatalf("History = %+v, want the one refused request", resp.Me)
				}
				r := resp.Me.Requests.Edges[0].Node.Response
				if r == nil || r.Status != genqlient.ResponseStatusInvalidInput || r.YhatProb != nil || r.Yhat != nil {
					t.Errorf("logged response %s, want INVALID_INPUT without yhatProb or yhat", describeResponse(r))
				}
			})
		}
	})
}

func yhatOf(prob float32) int {
	if prob > 0.5 {
		return 1
	}
	return 0
}

// errorFields lists the input fields a BAD_USER_INPUT error names, sorted,
// or nil when it names none.
func errorFields(err *gqlerror.Error) []string {
	items, _ := err.Extensions["fields"].([]any)
	var fields []string
	for _, item := range items {
		entry, _ := item.(map[string]any)
		field, _ := entry["field"].(string)
		fields = append(fields, field)
	}
	slices.Sort(fields)
	return fields
}

func equalBound(got, want *float32) bool {
	if got == nil || want == nil {
		return got == want
	}
	return *got == *want
}

func describeFloat(b *float32) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprint(*b)
}

func describeResponse(r *genqlient.HistoryMeViewerRequestsRequestConnectionEdgesRequestEdgeNodePredictionRequestResponsePredictionResponse) string {
	if r == nil {
		return "null"
	}
	yhat := "null"
	if r.Yhat != nil {
		yhat = fmt.Sprint(*r.Yhat)
	}
	return fmt.Sprintf("{status %s, yhatProb %s, yhat %s}", r.Status, describeFloat(r.YhatProb), yhat)
}
