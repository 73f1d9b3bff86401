package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/httpserver"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/prediction"
)

// inlinePredict is predict with its input written in the document, each
// field's literal as given (seed values for the others).
func inlinePredict(literals map[string]string) string {
	fields := map[string]string{
		"age": "25", "creatininePhosphokinase": "1000", "ejectionFraction": "35", "platelets": "500000",
		"serumCreatinine": "8", "serumSodium": "135", "sex": "true", "highBloodPressure": "false",
	}
	maps.Copy(fields, literals)
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		parts = append(parts, name+": "+fields[name])
	}
	return `mutation { predict(input: {` + strings.Join(parts, ", ") + `}) { id yhatProb } }`
}

// lastLogged returns the newest request row's input and its response's
// output and status, as an operator reads them.
func (a *testAPI) lastLogged() (input, output, status string) {
	a.t.Helper()
	err := a.tables.QueryRow(`SELECT r.input, s.output, s.status FROM requests r JOIN responses s ON s.request_id = r.id
		ORDER BY r.id DESC LIMIT 1`).Scan(&input, &output, &status)
	if err != nil {
		a.t.Fatal(err)
	}
	return input, output, status
}

// presentedFields lists an answer's first error's fields as field:reason.
func presentedFields(resp gqlResponse) []string {
	var got []string
	if len(resp.Errors) == 0 {
		return nil
	}
	fields, _ := resp.Errors[0].Extensions["fields"].([]any)
	for _, f := range fields {
		f, _ := f.(map[string]any)
		got = append(got, fmt.Sprint(f["field"], ":", f["reason"]))
	}
	return got
}

// Every authenticated predict leaves a request and a response row, whatever
// numbers it sends, and the request row holds the input as it was sent:
// numbers with their text, not read back from float32.
func TestInputsAreLoggedAsReceived(t *testing.T) {
	t.Parallel()
	with := func(changes map[string]any) map[string]any {
		in := seedInput()
		maps.Copy(in, changes)
		return in
	}
	tests := []struct {
		name       string
		query      string         // an inline document; empty means predictMutation with vars
		in         map[string]any // the variable's value
		wantFields []string       // field:reason; none means a prediction
		wantStored []string       // in the request row's input
		wantStatus string
	}{
		{
			name: "a number float32 would change, as a variable", in: with(map[string]any{"serumCreatinine": json.Number("1.00000001")}),
			wantStatus: "ok", wantStored: []string{`"serum_creatinine":1.00000001`, `"age":25`},
		},
		{
			name: "a number float32 would change, inline", query: inlinePredict(map[string]string{"serumCreatinine": "1.00000001", "age": "2.5e1"}),
			wantStatus: "ok", wantStored: []string{`"serum_creatinine":1.00000001`, `"age":2.5e1`, `"sex":true`},
		},
		{
			name: "130.00001 is refused and logged as sent", in: with(map[string]any{"age": json.Number("130.00001")}),
			wantFields: []string{"age:out_of_range"}, wantStatus: "invalid_input", wantStored: []string{`"age":130.00001`},
		},
		{
			name: "NaN as a string", in: with(map[string]any{"age": "NaN"}),
			wantFields: []string{"age:non_finite"}, wantStatus: "invalid_input", wantStored: []string{`"age":"NaN"`},
		},
		{
			name: "Infinity as a string", in: with(map[string]any{"platelets": "Infinity", "serumSodium": "-Infinity"}),
			wantFields: []string{"platelets:non_finite", "serumSodium:non_finite"}, wantStatus: "invalid_input",
			wantStored: []string{`"platelets":"Infinity"`, `"serum_sodium":"-Infinity"`},
		},
		{
			name: "beyond float32, as a variable", in: with(map[string]any{"age": json.Number("1e39"), "platelets": json.Number("1e308")}),
			wantFields: []string{"age:out_of_range", "platelets:out_of_range"}, wantStatus: "invalid_input",
			wantStored: []string{`"age":1e39`, `"platelets":1e308`},
		},
		{
			name: "beyond float32, inline", query: inlinePredict(map[string]string{"age": "-1e39", "platelets": "1e308"}),
			wantFields: []string{"age:out_of_range", "platelets:out_of_range"}, wantStatus: "invalid_input",
			wantStored: []string{`"age":-1e39`, `"platelets":1e308`},
		},
		{
			name: "beyond float32, as a string", in: with(map[string]any{"ejectionFraction": "1e39"}),
			wantFields: []string{"ejectionFraction:out_of_range"}, wantStatus: "invalid_input", wantStored: []string{`"ejection_fraction":"1e39"`},
		},
		{
			name: "beyond float32 with a coercion error", in: with(map[string]any{"age": json.Number("1e39"), "sex": 1}),
			wantFields: []string{"age:out_of_range", "sex:wrong_type"}, wantStatus: "invalid_input", wantStored: []string{`"age":1e39`, `"sex":1`},
		},
		{
			name:  "inline fields and variables mixed",
			query: `mutation($a: Float!) { predict(input: {age: $a, creatininePhosphokinase: 1000.0, ejectionFraction: 35, platelets: 5e5, serumCreatinine: 8, serumSodium: 135, sex: true, highBloodPressure: false}) { id } }`,
			in:    map[string]any{"a": json.Number("1e39")}, wantFields: []string{"age:out_of_range"}, wantStatus: "invalid_input",
			wantStored: []string{`"age":1e39`, `"creatinine_phosphokinase":1000.0`, `"platelets":5e5`},
		},
		{
			name:       "a variable's default value",
			query:      `mutation($in: PredictInput! = {age: 1e39, creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000, serumCreatinine: 8.50, serumSodium: 135, sex: true, highBloodPressure: false}) { predict(input: $in) { id } }`,
			wantFields: []string{"age:out_of_range"}, wantStatus: "invalid_input", wantStored: []string{`"age":1e39`, `"serum_creatinine":8.50`},
		},
	}
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user("ines")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				api := api.on(t)
				requests, responses := api.count("requests"), api.count("responses")
				var resp gqlResponse
				switch {
				case tt.query == "":
					resp = api.post(token, predictMutation, map[string]any{"in": tt.in})
				default:
					resp = api.post(token, tt.query, tt.in)
				}
				if got := presentedFields(resp); !slices.Equal(got, tt.wantFields) {
					t.Errorf("fields %v, want %v: %s", got, tt.wantFields, resp.Raw)
				}
				if tt.wantFields != nil && (resp.code() != "BAD_USER_INPUT" || len(resp.Errors) != 1) {
					t.Errorf("want one BAD_USER_INPUT error: %s", resp.Raw)
				}
				if tt.wantFields == nil && len(resp.Errors) != 0 {
					t.Errorf("want a prediction: %s", resp.Raw)
				}
				if api.count("requests") != requests+1 || api.count("responses") != responses+1 {
					t.Fatalf("want one request and one response row")
				}
				input, _, status := api.lastLogged()
				if status != tt.wantStatus {
					t.Errorf("status %s, want %s", status, tt.wantStatus)
				}
				for _, want := range tt.wantStored {
					if !strings.Contains(input, want) {
						t.Errorf("stored input %s lacks %s", input, want)
					}
				}
				if !json.Valid([]byte(input)) {
					t.Errorf("stored input is not JSON: %s", input)
				}
			})
		}
	})
}

// One request writes a bounded log line and bounded rows, however it is
// shaped: field errors are capped at 20 plus a count, names, messages and
// values are cut with a marker, and the stored input keeps the features.
func TestAbusiveInputsAreBounded(t *testing.T) {
	t.Parallel()
	manyUnknown := func(nameLen int) map[string]any {
		in := seedInput()
		in["age"] = -1 // a feature's problem must survive the cap
		for i := 0; len(mustJSON(in)) < 58_000; i++ {
			in[fmt.Sprintf("%s_%d", strings.Repeat("x", nameLen), i)] = 1
		}
		return in
	}
	huge := seedInput()
	huge["age"] = strings.Repeat("x", 60_000)
	hugeDigits := seedInput()
	hugeDigits["age"] = strings.Repeat("9", 60_000)
	hugeNumber := seedInput()
	hugeNumber["platelets"] = json.Number(strings.Repeat("9", 30_000))
	hugeName := seedInput()
	hugeName[strings.Repeat("n", 60_000)] = 1

	var aliases strings.Builder
	aliases.WriteString("mutation($in: PredictInput!) {")
	for i := range 50 {
		fmt.Fprintf(&aliases, " p%d: predict(input: $in) { id }", i)
	}
	aliases.WriteString("}")
	var inline strings.Builder
	inline.WriteString("mutation { predict(input: {")
	for i := 0; inline.Len() < 60_000; i++ { // about 1,100 fields, within the token limit
		fmt.Fprintf(&inline, " %s%d: 1", strings.Repeat("f", 50), i)
	}
	inline.WriteString("}) { id } }")

	tests := []struct {
		name        string
		query       string
		in          any
		wantFields  int  // presented fields
		wantOmitted bool // the message counts fields not listed
		wantKept    []string
		wantRows    int
	}{
		{name: "many unknown fields with short names", query: predictMutation, in: manyUnknown(5), wantFields: 20, wantOmitted: true, wantKept: []string{"age:out_of_range"}, wantRows: 1},
		{name: "many unknown fields with long names", query: predictMutation, in: manyUnknown(200), wantFields: 20, wantOmitted: true, wantKept: []string{"age:out_of_range"}, wantRows: 1},
		{name: "a huge string value", query: predictMutation, in: huge, wantFields: 1, wantKept: []string{"age:wrong_type"}, wantRows: 1},
		{name: "a huge string of digits", query: predictMutation, in: hugeDigits, wantFields: 1, wantKept: []string{"age:non_finite"}, wantRows: 1},
		{name: "a huge number", query: predictMutation, in: hugeNumber, wantFields: 1, wantKept: []string{"platelets:non_finite"}, wantRows: 1},
		{name: "a huge field name", query: predictMutation, in: hugeName, wantFields: 1, wantRows: 1},
		{name: "fifty aliases of a bad input", query: aliases.String(), in: manyUnknown(200), wantFields: 20, wantOmitted: true, wantKept: []string{"age:out_of_range"}, wantRows: 1},
		{name: "an inline input of unknown fields", query: inline.String()},
	}
	forEachDatabase(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, token := api.user("olu")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				api := api.on(t)
				requests := api.count("requests")
				var vars map[string]any
				if tt.in != nil {
					vars = map[string]any{"in": tt.in}
				}
				resp := api.post(token, tt.query, vars)
				if len(resp.Errors) == 0 {
					t.Fatalf("want an error: %.300s", resp.Raw)
				}
				got := presentedFields(resp)
				if len(got) != tt.wantFields {
					t.Errorf("%d fields presented, want %d: %.300s", len(got), tt.wantFields, resp.Raw)
				}
				for _, want := range tt.wantKept {
					if !slices.Contains(got, want) {
						t.Errorf("fields %v lack %s", got, want)
					}
				}
				if omitted := strings.Contains(resp.Errors[0].Message, "more are not"); omitted != tt.wantOmitted {
					t.Errorf("message %q: want a count of the fields not listed = %v", resp.Errors[0].Message, tt.wantOmitted)
				}
				if len(resp.Raw) > 16<<10 {
					t.Errorf("answer of %d bytes", len(resp.Raw))
				}
				if rows := api.count("requests") - requests; rows != tt.wantRows {
					t.Fatalf("%d request rows written, want %d", rows, tt.wantRows)
				}
				if tt.wantRows == 0 {
					return
				}
				input, output, _ := api.lastLogged()
				if len(input) > prediction.MaxStoredInput || !json.Valid([]byte(input)) {
					t.Errorf("stored input of %d bytes (valid JSON: %v)", len(input), json.Valid([]byte(input)))
				}
				// 20 fields of a bounded name and message, and the error around them.
				if max := model.MaxFieldErrors*(model.MaxFieldName+model.MaxFieldMessage+100) + 500; len(output) > max {
					t.Errorf("stored output of %d bytes, want at most %d", len(output), max)
				}
				for _, feature := range []string{"age", "creatinine_phosphokinase", "sex", "high_blood_pressure"} {
					if !strings.Contains(input, `"`+feature+`":`) {
						t.Errorf("stored input lacks the feature %s: %.300s", feature, input)
					}
				}
			})
		}
		for i, line := range strings.Split(api.logs.String(), "\n") {
			if len(line) > httpserver.MaxLogLine+1024 {
				t.Errorf("log line %d is %d bytes: %.300s", i, len(line), line)
			}
		}
	})
}
