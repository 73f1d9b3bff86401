package drift_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/drift"
)

const trainingCSV = "../model/testdata/heart_failure_clinical_records_dataset.csv"

var features = []string{"age", "creatinine_phosphokinase", "ejection_fraction", "platelets",
	"serum_creatinine", "serum_sodium", "sex", "high_blood_pressure"}

// fixture is testdata/fixture.json, computed by gen_fixture.py with numpy.
type fixture struct {
	Rows, Served int
	Features     []struct {
		Name                 string
		Cuts, Shares, Actual []float64
		PSI                  float64 `json:"psi"`
	}
}

func readFixture(t *testing.T) fixture {
	t.Helper()
	data, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func buildTraining(t *testing.T) *drift.Reference {
	t.Helper()
	in, err := os.Open(trainingCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ref, err := drift.BuildCSV(in, features, "training")
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*max(1, math.Abs(b)) }

func nearAll(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !near(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestReferenceAsNumpy builds the reference of the training data and checks
// it against numpy's deciles and shares.
func TestReferenceAsNumpy(t *testing.T) {
	t.Parallel()
	want := readFixture(t)
	ref := buildTraining(t)
	if ref.Rows != want.Rows {
		t.Fatalf("rows %d, want %d", ref.Rows, want.Rows)
	}
	for i, w := range want.Features {
		got := ref.Features[i]
		if got.Name != w.Name || !nearAll(got.Cuts, w.Cuts) || !nearAll(got.Shares, w.Shares) {
			t.Errorf("%s: cuts %v shares %v, want %v %v", w.Name, got.Cuts, got.Shares, w.Cuts, w.Shares)
		}
	}
}

// TestShippedReference checks that model/reference.json is what mlapi
// reference makes of the training data.
func TestShippedReference(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../model/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := drift.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	built := buildTraining(t)
	for i, f := range built.Features {
		s, ok := shipped.Feature(f.Name)
		if !ok || !nearAll(s.Cuts, f.Cuts) || !nearAll(s.Shares, f.Shares) {
			t.Errorf("model/reference.json %s differs from the training data's (feature %d): regenerate it (README, Drift)", f.Name, i)
		}
	}
}

// inputs serves rows as a database would, each a JSON object.
type inputs []json.RawMessage

func (in inputs) EachServedInput(_ context.Context, _, _ time.Time, fn func(json.RawMessage) error) error {
	for _, input := range in {
		if err := fn(input); err != nil {
			return err
		}
	}
	return nil
}

// servedInputs reads testdata/served.csv as stored inputs: numbers as the
// client wrote them, and the booleans as JSON booleans.
func servedInputs(t *testing.T) inputs {
	t.Helper()
	data, err := os.ReadFile("testdata/served.csv")
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out inputs
	for _, r := range records[1:] {
		obj := map[string]any{}
		for i, name := range records[0] {
			if name == "sex" || name == "high_blood_pressure" {
				obj[name] = r[i] == "1.0"
			} else {
				obj[name] = json.Number(r[i])
			}
		}
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestReportAsNumpy measures the served sample's drift and checks every
// share and PSI against numpy's.
func TestReportAsNumpy(t *testing.T) {
	t.Parallel()
	want := readFixture(t)
	served := servedInputs(t)
	// An input without the feature, and one refused as non-numeric: not
	// binned, but counted.
	served = append(served, json.RawMessage(`{"age": null}`))
	svc := drift.NewService(served, buildTraining(t))
	until := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	report, err := svc.Report(t.Context(), nil, &until)
	if err != nil {
		t.Fatal(err)
	}
	if report.Count != want.Served+1 || !report.From.Equal(until.Add(-7*24*time.Hour)) {
		t.Fatalf("count %d from %v", report.Count, report.From)
	}
	for i, w := range want.Features {
		got := report.Features[i]
		if got.Values != want.Served || !nearAll(got.Actual, w.Actual) || got.PSI == nil || !near(*got.PSI, w.PSI) {
			t.Errorf("%s: %d values, actual %v, psi %v; want %v, %v", w.Name, got.Values, got.Actual, got.PSI, w.Actual, w.PSI)
		}
	}
}

func TestReportBounds(t *testing.T) {
	t.Parallel()
	svc := drift.NewService(inputs{}, buildTraining(t))
	at := func(s string) *time.Time { v, _ := time.Parse(time.RFC3339, s); return &v }
	for _, c := range []struct {
		from, until *time.Time
		message     string
	}{
		{at("2026-01-02T00:00:00Z"), at("2026-01-01T00:00:00Z"), "until must be after from"},
		{at("2026-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"), "until must be after from"},
		{at("2024-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"), "from: the range must not exceed 366 days"},
	} {
		_, err := svc.Report(t.Context(), c.from, c.until)
		if apperr.CodeOf(err) != apperr.Invalid || apperr.MessageOf(err) != c.message {
			t.Errorf("%v to %v: %v", c.from, c.until, err)
		}
	}
	// Nothing served: no PSI, all actual shares 0.
	report, err := svc.Report(t.Context(), nil, nil)
	if err != nil || report.Count != 0 || report.Features[0].PSI != nil {
		t.Fatalf("empty range: %+v, %v", report, err)
	}
	// No reference: no report.
	if report, err := drift.NewService(inputs{}, nil).Report(t.Context(), nil, nil); report != nil || err != nil {
		t.Fatalf("no reference: %v, %v", report, err)
	}
}

func TestPSIByHand(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		expected, actual []float64
		want             float64
	}{
		{[]float64{0.5, 0.5}, []float64{0.5, 0.5}, 0},
		// (0.25-0.5) ln(0.25/0.5) + (0.75-0.5) ln(0.75/0.5) = 0.25 ln 3
		{[]float64{0.5, 0.5}, []float64{0.25, 0.75}, 0.25 * math.Log(3)},
		// An empty bin counts as 1e-4.
		{[]float64{0.5, 0.5}, []float64{0, 1}, (1e-4-0.5)*math.Log(1e-4/0.5) + 0.5*math.Log(2)},
	} {
		if got := drift.PSI(c.expected, c.actual); !near(got, c.want) {
			t.Errorf("PSI(%v, %v) = %v, want %v", c.expected, c.actual, got, c.want)
		}
	}
}

func TestBinsClosedOnTheRight(t *testing.T) {
	t.Parallel()
	f, err := drift.BuildFeature("b", []float64{0, 0, 0, 1, 1, math.NaN()})
	if err != nil {
		t.Fatal(err)
	}
	// A boolean: one cut at 0, false in bin 0, true in bin 1.
	if len(f.Cuts) != 1 || f.Cuts[0] != 0 || !nearAll(f.Shares, []float64{0.6, 0.4}) {
		t.Fatalf("boolean reference %+v", f)
	}
	g := drift.FeatureReference{Cuts: []float64{1, 2}}
	for x, want := range map[float64]int{0.5: 0, 1: 0, 1.5: 1, 2: 1, 2.5: 2} {
		if got := g.Bin(x); got != want {
			t.Errorf("Bin(%v) = %d, want %d", x, got, want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		`{"features": []}`,
		`{"features": [{"name": "a", "cuts": [2, 1], "shares": [0.3, 0.3, 0.4]}]}`,
		`{"features": [{"name": "a", "cuts": [1], "shares": [1]}]}`,
		`{"features": [{"name": "a", "cuts": [1], "shares": [0.5, 0.6]}]}`,
		`{"features": [{"name": "a", "cuts": [], "shares": [1]}, {"name": "a", "cuts": [], "shares": [1]}]}`,
	} {
		if _, err := drift.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s): no error", bad)
		}
	}
	if _, err := drift.BuildCSV(strings.NewReader("x\n1\n"), []string{"y"}, ""); err == nil {
		t.Error("BuildCSV without the column: no error")
	}
}
