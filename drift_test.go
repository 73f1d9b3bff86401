package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/mlapi/mlapi/internal/config"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

const driftQuery = `query($from: Time, $until: Time) { drift(from: $from, until: $until) {
	from until count features { feature field psi bins { lower upper expected actual } } } }`

type driftAnswer struct {
	From, Until time.Time
	Count       int
	Features    []struct {
		Feature, Field string
		Psi            *float64
		Bins           []struct {
			Lower, Upper     *float64
			Expected, Actual float64
		}
	}
}

// servedSample reads internal/drift/testdata/served.csv as PredictInput
// variables.
func servedSample(t *testing.T) []map[string]any {
	t.Helper()
	f, err := os.Open("internal/drift/testdata/served.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{"age": "age", "creatinine_phosphokinase": "creatininePhosphokinase",
		"ejection_fraction": "ejectionFraction", "platelets": "platelets", "serum_creatinine": "serumCreatinine",
		"serum_sodium": "serumSodium", "sex": "sex", "high_blood_pressure": "highBloodPressure"}
	var out []map[string]any
	for _, r := range records[1:] {
		in := map[string]any{}
		for i, name := range records[0] {
			x, err := strconv.ParseFloat(r[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			if name == "sex" || name == "high_blood_pressure" {
				in[fields[name]] = x == 1
			} else {
				in[fields[name]] = x
			}
		}
		out = append(out, in)
	}
	return out
}

// TestDrift serves the drift fixture's sample through the API and checks the
// report against the PSI numpy computed (internal/drift/testdata), for
// administrators only.
func TestDrift(t *testing.T) {
	t.Parallel()
	var want struct {
		Features []struct {
			Name   string
			Actual []float64
			PSI    float64 `json:"psi"`
		}
	}
	data, err := os.ReadFile("internal/drift/testdata/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	sample := servedSample(t)
	storetest.ForEachDialect(t, func(t *testing.T, dialect string) {
		api := newTestAPI(t, dialect)
		_, admin := api.createAdmin(t, "root", userPassword)
		_, token := api.user(t, "ada")
		before := time.Now().Add(-time.Minute)
		for _, in := range sample {
			if resp := api.post(t, token, predictMutation, client.Var("in", in)); len(resp.Errors) > 0 {
				t.Fatalf("predict %v: %s", in, resp.Raw)
			}
		}
		// A refused input is not served: not counted.
		bad := map[string]any{"age": -1.0}
		for k, v := range sample[0] {
			if k != "age" {
				bad[k] = v
			}
		}
		if resp := api.post(t, token, predictMutation, client.Var("in", bad)); resp.code() != "BAD_USER_INPUT" {
			t.Fatalf("refused predict: %s", resp.Raw)
		}

		resp := api.post(t, admin, driftQuery, client.Var("from", before.Format(time.RFC3339Nano)))
		if len(resp.Errors) > 0 {
			t.Fatalf("drift: %s", resp.Raw)
		}
		var got driftAnswer
		resp.field(t, "drift", &got)
		if got.Count != len(sample) || len(got.Features) != len(want.Features) {
			t.Fatalf("drift: %s", resp.Raw)
		}
		for i, w := range want.Features {
			f := got.Features[i]
			// Float is float32 in the API.
			if f.Feature != w.Name || f.Psi == nil || math.Abs(*f.Psi-w.PSI) > 1e-6*max(1, w.PSI) || len(f.Bins) != len(w.Actual) {
				t.Errorf("%s: %+v, want psi %v", w.Name, f, w.PSI)
				continue
			}
			for j, b := range f.Bins {
				if math.Abs(b.Actual-w.Actual[j]) > 1e-6 || (j == 0) != (b.Lower == nil) || (j == len(f.Bins)-1) != (b.Upper == nil) {
					t.Errorf("%s bin %d: %+v, want actual %v", w.Name, j, b, w.Actual[j])
				}
			}
		}
		if got.Features[1].Field != "creatininePhosphokinase" {
			t.Errorf("field of %s: %q", got.Features[1].Feature, got.Features[1].Field)
		}

		// Nothing served in the range: no PSI.
		resp = api.post(t, admin, driftQuery, client.Var("from", "2020-01-01T00:00:00Z"), client.Var("until", "2020-02-01T00:00:00Z"))
		got = driftAnswer{}
		resp.field(t, "drift", &got)
		if got.Count != 0 || got.Features[0].Psi != nil {
			t.Fatalf("empty range: %s", resp.Raw)
		}

		for _, c := range []struct {
			token, from, until, code string
		}{
			{token, "", "", "FORBIDDEN"},
			{"", "", "", "UNAUTHENTICATED"},
			{admin, "2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z", "BAD_USER_INPUT"},
			{admin, "2020-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "BAD_USER_INPUT"},
		} {
			var opts []client.Option
			if c.from != "" {
				opts = append(opts, client.Var("from", c.from), client.Var("until", c.until))
			}
			if resp := api.post(t, c.token, driftQuery, opts...); resp.code() != c.code {
				t.Errorf("%+v: %s", c, resp.Raw)
			}
		}
	})
}

// TestDriftWithoutReference: a model directory without reference.json
// serves no drift (null), and the built-in model ships one.
func TestDriftWithoutReference(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, store.SQLite, func(c *config.Config) { c.ModelDir = "internal/model/testdata/served" })
	_, admin := api.createAdmin(t, "root", userPassword)
	resp := api.post(t, admin, driftQuery)
	if len(resp.Errors) > 0 || string(resp.Data["drift"]) != "null" {
		t.Fatalf("drift without a reference: %s", resp.Raw)
	}
}

// TestReferenceCommand runs mlapi reference as the README says and gets
// exactly the built-in model/reference.json.
func TestReferenceCommand(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "reference.json")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"reference",
		"--input", "internal/model/testdata/heart_failure_clinical_records_dataset.csv",
		"--source", "heart_failure_clinical_records_dataset.csv (Chicco and Jurman 2020, UCI, CC BY 4.0): the training data of the served model",
		"--output", out}, os.Getenv, nil, &stdout, &stderr)
	if err != nil {
		t.Fatalf("mlapi reference: %v (%s)", err, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("model/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, shipped) {
		t.Fatal("model/reference.json is not what mlapi reference writes: regenerate it (README, Drift)")
	}
	// Without --input, or with a CSV lacking a feature, it fails.
	if err := run(context.Background(), []string{"reference"}, os.Getenv, nil, &stdout, &stderr); err == nil {
		t.Error("mlapi reference without --input: no error")
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("age\n60\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"reference", "--input", bad}, os.Getenv, nil, &stdout, &stderr); err == nil {
		t.Error("mlapi reference on a CSV without the features: no error")
	}
}
