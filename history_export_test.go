package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/export"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

// download GETs /export?query with token and returns the answer.
func (e endpoint) download(t *testing.T, token, query string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.base+"/export?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.fetch(t, req)
}

// TestExportIsTheFilteredHistory downloads the history as CSV and NDJSON
// and compares both with me.requests under the same filter and order.
func TestExportIsTheFilteredHistory(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, alice := api.user(t, "alice")
		_, bob := api.user(t, "bob")
		predictVaried(t, api, alice, 9)
		predictVaried(t, api, bob, 3)

		var model struct{ Features []struct{ Name string } }
		api.post(t, "", `{ model { features { name } } }`).field(t, "model", &model)
		var features []string
		for _, f := range model.Features {
			features = append(features, f.Name)
		}

		for _, tt := range []struct {
			name, query string
			variables   map[string]any
		}{
			{"everything", "", map[string]any{"first": 50}},
			{"refusals oldest first", "status=invalid_input&order=oldest_first",
				map[string]any{"first": 50, "order": "OLDEST_FIRST", "filter": map[string]any{"status": "INVALID_INPUT"}}},
			{"positives", "yhat=1&minProbability=0.5", map[string]any{"first": 50, "filter": map[string]any{"yhat": 1, "minProbability": 0.5}}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				page, gql := api.history(t, alice, tt.variables)
				if len(gql.Errors) > 0 {
					t.Fatal(gql.Raw)
				}
				var want []int64
				for _, e := range page.Edges {
					want = append(want, rowID(t, e.Node.ID))
				}

				resp, body := api.download(t, alice, tt.query+"&format=csv")
				if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
					!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
					t.Fatalf("csv: %d %v: %s", resp.StatusCode, resp.Header, body)
				}
				records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
				if err != nil {
					t.Fatalf("csv: %v\n%s", err, body)
				}
				if header := append(slices.Clone(export.Columns), features...); !slices.Equal(records[0], header) {
					t.Fatalf("csv header %v, want %v", records[0], header)
				}
				var got []int64
				for _, r := range records[1:] {
					id, _ := strconv.ParseInt(r[0], 10, 64)
					got = append(got, id)
					if r[2] == "ok" && (r[3] == "" || r[4] == "" || r[9] == "" || r[6] != "" || r[8] != "") {
						t.Errorf("csv row %v: a prediction without its figures or input", r)
					}
					if r[2] == "invalid_input" && (r[3] != "" || r[6] != "BAD_USER_INPUT") {
						t.Errorf("csv row %v: a refusal with figures", r)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("csv ids %v, want %v", got, want)
				}

				resp, body = api.download(t, alice, tt.query+"&format=ndjson")
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
					t.Fatalf("ndjson: %d %v: %s", resp.StatusCode, resp.Header, body)
				}
				got = nil
				lines := bufio.NewScanner(strings.NewReader(body))
				for lines.Scan() {
					var row export.Row
					if err := json.Unmarshal(lines.Bytes(), &row); err != nil {
						t.Fatalf("ndjson line %q: %v", lines.Text(), err)
					}
					var input map[string]any
					if err := json.Unmarshal(row.Input, &input); err != nil || len(input) == 0 {
						t.Fatalf("ndjson line %q: input %v", lines.Text(), err)
					}
					got = append(got, row.RequestID)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("ndjson ids %v, want %v", got, want)
				}
			})
		}

		t.Run("values as the client sent them", func(t *testing.T) {
			resp, body := api.download(t, alice, "status=ok&order=oldest_first")
			records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil || resp.StatusCode != http.StatusOK || len(records) < 2 {
				t.Fatalf("%d %v: %s", resp.StatusCode, err, body)
			}
			// predictVaried's first input: age 40, the seed's other values.
			row := map[string]string{}
			for i, name := range records[0] {
				row[name] = records[1][i]
			}
			if row["age"] != "40" || row["platelets"] != "500000" || row["sex"] != "true" || row["high_blood_pressure"] != "false" {
				t.Errorf("first row %v", row)
			}
		})

		t.Run("refusals", func(t *testing.T) {
			for _, tt := range []struct {
				name, token, query string
				status             int
				code, message      string
			}{
				{"no token", "", "", http.StatusUnauthorized, "UNAUTHENTICATED", ""},
				{"bad token", "nope", "", http.StatusUnauthorized, "UNAUTHENTICATED", ""},
				{"bad format", alice, "format=xlsx", http.StatusBadRequest, "BAD_USER_INPUT", "format"},
				{"probability", alice, "minProbability=2", http.StatusBadRequest, "BAD_USER_INPUT", "filter.minProbability"},
				{"time", alice, "from=yesterday", http.StatusBadRequest, "BAD_USER_INPUT", "filter.from"},
				{"outcome", alice, "hasOutcome=maybe", http.StatusBadRequest, "BAD_USER_INPUT", "filter.hasOutcome"},
				{"status", alice, "status=fine", http.StatusBadRequest, "BAD_USER_INPUT", "filter.status"},
			} {
				resp, body := api.download(t, tt.token, tt.query)
				var answer gqlResponse
				if err := json.Unmarshal([]byte(body), &answer); err != nil || resp.StatusCode != tt.status ||
					answer.code() != tt.code || !strings.Contains(answer.Errors[0].Message, tt.message) {
					t.Errorf("%s: %d %s, want %d %s naming %q", tt.name, resp.StatusCode, body, tt.status, tt.code, tt.message)
				}
			}
		})
	})
}
