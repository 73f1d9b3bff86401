package score

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mlapi/mlapi/internal/model"
)

// servedModelDir holds the served model and XGBoost's answers for it.
var servedModelDir = filepath.Join("..", "model", "testdata", "served")

func loadServed(t *testing.T) *model.Model {
	t.Helper()
	m, err := model.LoadDir(servedModelDir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readCSV(t *testing.T, text string) [][]string {
	t.Helper()
	records, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, text)
	}
	return records
}

func format32(v float32) string {
	return strconv.FormatFloat(float64(v), 'g', -1, 32)
}

func TestRun(t *testing.T) {
	t.Parallel()
	m := loadServed(t)
	tests := []struct {
		name  string
		input string
		// vectors are the expected inputs to the model, in the schema's
		// order (age, creatinine_phosphokinase, ejection_fraction,
		// platelets, serum_creatinine, serum_sodium, sex,
		// high_blood_pressure).
		vectors [][]float64
	}{
		{"the seed example, in the schema's order",
			"age,creatinine_phosphokinase,ejection_fraction,platelets,serum_creatinine,serum_sodium,sex,high_blood_pressure\n" +
				"25,1000,35,500000,8,135,1,0\n",
			[][]float64{{25, 1000, 35, 500000, 8, 135, 1, 0}}},
		{"columns in another order, booleans as words",
			"sex,high_blood_pressure,serum_sodium,age,platelets,creatinine_phosphokinase,serum_creatinine,ejection_fraction\n" +
				"true,FALSE,130,75,265000,582,1.9,20\n" +
				"0,1,136,55,263358.03,7861,1.1,38\n",
			[][]float64{{75, 582, 20, 265000, 1.9, 130, 1, 0}, {55, 7861, 38, 263358.03, 1.1, 136, 0, 1}}},
		{"missing values",
			"age,creatinine_phosphokinase,ejection_fraction,platelets,serum_creatinine,serum_sodium,sex,high_blood_pressure\n" +
				"53,,20,,1.4,,0,\n" +
				",,,,,,,\n",
			[][]float64{{53, nan, 20, nan, 1.4, nan, 0, nan}, {nan, nan, nan, nan, nan, nan, nan, nan}}},
		{"CRLF line ends, a byte order mark, quoted cells",
			"\uFEFFage,creatinine_phosphokinase,ejection_fraction,platelets,serum_creatinine,serum_sodium,sex,high_blood_pressure\r\n" +
				"\"60\",582,\" 38 \",\"263358.03\",1.9,130,1,0\r\n",
			[][]float64{{60, 582, 38, 263358.03, 1.9, 130, 1, 0}}},
		{"a header and no rows",
			"age,creatinine_phosphokinase,ejection_fraction,platelets,serum_creatinine,serum_sodium,sex,high_blood_pressure\n",
			nil},
	}
	for _, tt := range tests {
		for _, explain := range []bool{false, true} {
			t.Run(tt.name+" explain="+strconv.FormatBool(explain), func(t *testing.T) {
				t.Parallel()
				var out bytes.Buffer
				if err := Run(context.Background(), m, strings.NewReader(tt.input), &out, Options{Explain: explain}); err != nil {
					t.Fatal(err)
				}
				in := readCSV(t, strings.TrimPrefix(tt.input, "\uFEFF"))
				got := readCSV(t, out.String())
				if len(got) != len(tt.vectors)+1 {
					t.Fatalf("%d output records for %d rows", len(got), len(tt.vectors))
				}
				wantHeader := append(append([]string(nil), in[0]...), "margin", "yhat_prob", "yhat")
				if explain {
					for _, f := range m.Features() {
						wantHeader = append(wantHeader, "contrib_"+f.Name)
					}
					wantHeader = append(wantHeader, "contrib_bias")
				}
				if strings.Join(got[0], ",") != strings.Join(wantHeader, ",") {
					t.Errorf("header %v, want %v", got[0], wantHeader)
				}
				for r, x := range tt.vectors {
					p := m.Predict(x)
					want := append(append([]string(nil), in[r+1]...), format32(p.Margin), format32(p.Probability), strconv.Itoa(p.Label))
					if explain {
						e := m.Explain(x)
						for _, c := range e.Contributions {
							want = append(want, format32(float32(c)))
						}
						want = append(want, format32(float32(e.Bias)))
					}
					if strings.Join(got[r+1], ",") != strings.Join(want, ",") {
						t.Errorf("row %d: %v, want %v", r+1, got[r+1], want)
					}
				}
			})
		}
	}
}

var nan = math.NaN()

// Scoring the fixture's inputs reproduces XGBoost's answers, and the
// explanation columns sum to the margin.
func TestRunMatchesXGBoost(t *testing.T) {
	t.Parallel()
	m := loadServed(t)
	raw, err := os.ReadFile(filepath.Join(servedModelDir, "reference.csv"))
	if err != nil {
		t.Fatal(err)
	}
	reference := readCSV(t, string(raw))
	numFeatures := len(m.Features())
	var input bytes.Buffer
	w := csv.NewWriter(&input)
	for _, record := range reference {
		if err := w.Write(record[:numFeatures]); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	var out bytes.Buffer
	if err := Run(context.Background(), m, &input, &out, Options{Explain: true}); err != nil {
		t.Fatal(err)
	}
	scored := readCSV(t, out.String())
	if len(scored) != len(reference) {
		t.Fatalf("%d records scored, %d in the reference", len(scored), len(reference))
	}
	number := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for r := 1; r < len(scored); r++ {
		got, want := scored[r], reference[r]
		// Output: features, margin, yhat_prob, yhat, contributions, bias.
		// Reference: features, margin, prob, contributions, bias.
		if d := math.Abs(number(got[numFeatures]) - number(want[numFeatures])); d > 1e-6 {
			t.Errorf("line %d: margin %s, XGBoost %s", r+1, got[numFeatures], want[numFeatures])
		}
		if d := math.Abs(number(got[numFeatures+1]) - number(want[numFeatures+1])); d > 1e-6 {
			t.Errorf("line %d: probability %s, XGBoost %s", r+1, got[numFeatures+1], want[numFeatures+1])
		}
		sum := 0.0
		for i, cell := range got[numFeatures+3:] {
			sum += number(cell)
			if d := math.Abs(number(cell) - number(want[numFeatures+2+i])); d > 1e-5 {
				t.Errorf("line %d: %s %s, XGBoost %s", r+1, scored[0][numFeatures+3+i], cell, want[numFeatures+2+i])
			}
		}
		if d := math.Abs(sum - number(got[numFeatures])); d > 1e-5 {
			t.Errorf("line %d: contributions sum to %v, margin %s", r+1, sum, got[numFeatures])
		}
	}
}

// writeRecorder fails the test on any write: a failed run writes nothing.
type writeRecorder struct{ t *testing.T }

func (w writeRecorder) Write(p []byte) (int, error) {
	w.t.Errorf("a failed run wrote %q", p)
	return len(p), nil
}

func TestRunRefuses(t *testing.T) {
	t.Parallel()
	const header = "age,creatinine_phosphokinase,ejection_fraction,platelets,serum_creatinine,serum_sodium,sex,high_blood_pressure\n"
	const good = "75,582,20,265000,1.9,130,1,1\n"
	tests := []struct {
		name       string
		input      string
		wantInText []string
		wantFields []model.FieldError
	}{
		{"empty input", "", []string{"input: empty"}, nil},
		{"unknown, repeated and missing columns",
			"age,weight,creatinine_phosphokinase,ejection_fraction,age,platelets,serum_creatinine,serum_sodium,sex\n" + good,
			[]string{"line 1", `unknown columns "weight"`, `repeated columns "age"`, `missing columns "high_blood_pressure"`}, nil},
		{"a bad cell", header + good + good + "75,582,20,265000,high,130,1,1\n" + good,
			[]string{"input line 4: ", "serum_creatinine"},
			[]model.FieldError{{Field: "serum_creatinine", Reason: model.ReasonType}}},
		{"every bad cell of the row", header + good + "NaN,582,20,265000,1.9,130,2,yes\n",
			[]string{"input line 3: "},
			[]model.FieldError{
				{Field: "age", Reason: model.ReasonNonFinite},
				{Field: "sex", Reason: model.ReasonType},
				{Field: "high_blood_pressure", Reason: model.ReasonType},
			}},
		{"a short row", header + good + "75,582,20\n", []string{"input line 3: ", "wrong number of fields"}, nil},
		{"a quoted cell over two lines counts from its start",
			header + good + "\"75\n\",582,20,265000,1.9,130,1,1\n" + "1,2,3,4,5,6,7,8\n",
			[]string{"input line 5: ", "sex"}, []model.FieldError{
				{Field: "sex", Reason: model.ReasonType},
				{Field: "high_blood_pressure", Reason: model.ReasonType},
			}},
		{"a bare quote", header + "7\"5,582,20,265000,1.9,130,1,1\n", []string{"input line 2", `bare "`}, nil},
	}
	m := loadServed(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Run(context.Background(), m, strings.NewReader(tt.input), writeRecorder{t}, Options{Explain: true})
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.wantInText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			var verr *model.ValidationError
			if !errors.As(err, &verr) {
				if tt.wantFields != nil {
					t.Fatalf("error %q has no field errors", err)
				}
				return
			}
			if len(verr.Fields) != len(tt.wantFields) {
				t.Fatalf("fields %+v, want %+v", verr.Fields, tt.wantFields)
			}
			for i, f := range verr.Fields {
				if f.Field != tt.wantFields[i].Field || f.Reason != tt.wantFields[i].Reason {
					t.Errorf("field %d: %+v, want %+v", i, f, tt.wantFields[i])
				}
			}
		})
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	input := "age,creatinine_phosphokinase,ejection_fraction,platelets,serum_creatinine,serum_sodium,sex,high_blood_pressure\n" +
		strings.Repeat("75,582,20,265000,1.9,130,1,1\n", 1000)
	err := Run(ctx, loadServed(t), strings.NewReader(input), writeRecorder{t}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// A feature named like an output column would make the output ambiguous.
func TestRunRefusesAmbiguousOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(servedModelDir, model.ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(string(raw), `"platelets"`, `"margin"`, 1)
	schema := `{"input_schema": {"columns": [{"name": "age", "type": "numeric"}, {"name": "creatinine_phosphokinase", "type": "numeric"},
		{"name": "ejection_fraction", "type": "numeric"}, {"name": "margin", "type": "numeric"}, {"name": "serum_creatinine", "type": "numeric"},
		{"name": "serum_sodium", "type": "numeric"}, {"name": "sex", "type": "boolean"}, {"name": "high_blood_pressure", "type": "boolean"}]}}`
	for name, data := range map[string]string{model.ModelFile: renamed, model.SchemaFile: schema} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := model.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	input := "age,creatinine_phosphokinase,ejection_fraction,margin,serum_creatinine,serum_sodium,sex,high_blood_pressure\n75,582,20,265000,1.9,130,1,1\n"
	err = Run(context.Background(), m, strings.NewReader(input), writeRecorder{t}, Options{})
	if err == nil || !strings.Contains(err.Error(), `"margin"`) {
		t.Errorf("got %v, want the clash named", err)
	}
}
