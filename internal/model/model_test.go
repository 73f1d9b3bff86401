package model

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The test models, each a folder of testdata with model.json,
// input_schema.json and reference.csv (XGBoost's own answers; see
// testdata/README.md).
const (
	servedModel  = "served"  // the served model: 30 trees of depth 2
	deepModel    = "deep"    // 300 trees of depth 6, features in another order than the schema's, base score 0.3
	unnamedModel = "unnamed" // no feature_names, pruned (deleted nodes), base score 0.65
	earlyModel   = "early"   // early stopping at round 6 of 17, two parallel trees a round
)

func loadTestModel(t testing.TB, name string) *Model {
	t.Helper()
	m, err := LoadDir(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	return m
}

// referenceRow is one row of a reference.csv, its vectors in the schema's
// order.
type referenceRow struct {
	line          int
	x             []float64
	margin        float64
	probability   float64
	contributions []float64
	bias          float64
}

func readReference(t testing.TB, m *Model, name string) []referenceRow {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name, "reference.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := records[0]
	column := make(map[string]int, len(header))
	for i, h := range header {
		column[h] = i
	}
	lookup := func(name string) int {
		i, ok := column[name]
		if !ok {
			t.Fatalf("%s/reference.csv has no column %q", name, name)
		}
		return i
	}
	number := func(record []string, line, i int) float64 {
		if record[i] == "" {
			return math.NaN()
		}
		v, err := strconv.ParseFloat(record[i], 64)
		if err != nil {
			t.Fatalf("%s/reference.csv line %d column %s: %v", name, line, header[i], err)
		}
		return v
	}
	features := m.Features()
	rows := make([]referenceRow, 0, len(records)-1)
	for r, record := range records[1:] {
		line := r + 2
		row := referenceRow{
			line:          line,
			x:             make([]float64, len(features)),
			contributions: make([]float64, len(features)),
			margin:        number(record, line, lookup("margin")),
			probability:   number(record, line, lookup("prob")),
			bias:          number(record, line, lookup("contrib_bias")),
		}
		for i, f := range features {
			row.x[i] = number(record, line, lookup(f.Name))
			row.contributions[i] = number(record, line, lookup("contrib_"+f.Name))
		}
		rows = append(rows, row)
	}
	if len(rows) < 400 {
		t.Fatalf("%s/reference.csv: only %d rows", name, len(rows))
	}
	return rows
}

func TestMatchesXGBoost(t *testing.T) {
	t.Parallel()
	for _, name := range []string{servedModel, deepModel, unnamedModel, earlyModel} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := loadTestModel(t, name)
			rows := readReference(t, m, name)
			missing := 0
			var worstMargin, worstProbability, worstContribution float64
			for _, row := range rows {
				for _, v := range row.x {
					if math.IsNaN(v) {
						missing++
					}
				}
				p := m.Predict(row.x)
				worstMargin = max(worstMargin, math.Abs(float64(p.Margin)-row.margin))
				worstProbability = max(worstProbability, math.Abs(float64(p.Probability)-row.probability))
				if d := math.Abs(float64(p.Margin) - row.margin); d > 1e-6 {
					t.Errorf("line %d: margin %v, XGBoost %v (off by %.3g)", row.line, p.Margin, row.margin, d)
				} else if p.Margin != float32(row.margin) {
					// Adding the leaves in XGBoost's order, in float32, from
					// XGBoost's base margin gives its margin to the bit.
					t.Errorf("line %d: margin %v, XGBoost %v: not the same float32", row.line, p.Margin, float32(row.margin))
				}
				if d := math.Abs(float64(p.Probability) - row.probability); d > 1e-6 {
					t.Errorf("line %d: probability %v, XGBoost %v (off by %.3g)", row.line, p.Probability, row.probability, d)
				}
				if want := label(row.probability); p.Label != want {
					t.Errorf("line %d: label %d, XGBoost %d", row.line, p.Label, want)
				}

				e := m.Explain(row.x)
				if d := math.Abs(e.Bias - row.bias); d > 1e-5 {
					t.Errorf("line %d: bias %v, XGBoost %v", row.line, e.Bias, row.bias)
				}
				sum := e.Bias
				for _, c := range e.Contributions {
					sum += c
				}
				if d := math.Abs(sum - float64(p.Margin)); d > 1e-5 {
					t.Errorf("line %d: contributions sum to %v, margin %v", row.line, sum, p.Margin)
				}
				for i, c := range e.Contributions {
					worstContribution = max(worstContribution, math.Abs(c-row.contributions[i]))
					if d := math.Abs(c - row.contributions[i]); d > 1e-5 {
						t.Errorf("line %d: contribution of %s %v, XGBoost %v (off by %.3g)", row.line, m.features[i].Name, c, row.contributions[i], d)
					}
				}
			}
			t.Logf("%d rows; largest differences: margin %.3g, probability %.3g, contribution %.3g",
				len(rows), worstMargin, worstProbability, worstContribution)
			if missing == 0 {
				t.Errorf("no reference row has a missing value")
			}
		})
	}
}

func label(probability float64) int {
	if float32(probability) > 0.5 {
		return 1
	}
	return 0
}

// The seed document's example.
func TestSeedExample(t *testing.T) {
	t.Parallel()
	m := loadTestModel(t, servedModel)
	x, err := m.Validate(map[string]any{
		"age": 25, "creatinine_phosphokinase": 1000, "ejection_fraction": 35, "platelets": 500000,
		"serum_creatinine": 8, "serum_sodium": 135, "sex": 1, "high_blood_pressure": 0,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := m.Predict(x)
	if p.Probability != 0.5124506 || p.Label != 1 {
		t.Errorf("got probability %v label %d, want 0.5124506 and 1", p.Probability, p.Label)
	}
	if got := strconv.FormatFloat(float64(p.Probability), 'g', -1, 32); got != "0.5124506" {
		t.Errorf("probability prints as %s, want 0.5124506", got)
	}
}

// A value whose float64 lies below a threshold but whose float32 rounding
// equals it must go right, as in XGBoost: the served model's first tree
// splits on serum_creatinine < 1.815 (float32 1.81500005722...).
func TestComparesAsFloat32(t *testing.T) {
	t.Parallel()
	m := loadTestModel(t, servedModel)
	base := []float64{60, 500, 30, 250000, 0, 137, 1, 0}
	threshold := float64(float32(1.815))
	justBelow := math.Nextafter(threshold, 0) // rounds back to the threshold in float32
	if float32(justBelow) != float32(threshold) || justBelow >= threshold {
		t.Fatalf("test premise: %v", justBelow)
	}
	predict := func(v float64) Prediction {
		x := append([]float64(nil), base...)
		x[4] = v
		return m.Predict(x)
	}
	if predict(justBelow) != predict(threshold) {
		t.Errorf("%v and %v differ only in float64 yet predict differently", justBelow, threshold)
	}
	if predict(float64(math.Nextafter32(float32(threshold), 0))) == predict(threshold) {
		t.Errorf("the float32 below the threshold predicts as the threshold: the split is not taken")
	}
}

func TestInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model          string
		numTrees       int
		maxDepth       int
		baseScore      float64
		bestIteration  int
		firstFeature   string
		numFeatures    int
		xgboostVersion string
	}{
		{servedModel, 30, 2, 0.5, 29, "age", 8, "1.7.4"},
		{deepModel, 300, 6, 0.3, 299, "age", 12, "1.7.4"},
		{unnamedModel, 40, 4, 0.65, 39, "ejection_fraction", 6, "1.7.4"},
		{earlyModel, 14, 3, 0.5, 6, "age", 8, "1.7.4"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			t.Parallel()
			m := loadTestModel(t, tt.model)
			info := m.Info()
			if info.NumTrees != tt.numTrees || info.MaxDepth != tt.maxDepth || info.BaseScore != tt.baseScore ||
				info.XGBoostVersion != tt.xgboostVersion || info.Objective != "binary:logistic" || info.Booster != "gbtree" {
				t.Errorf("got %+v", info)
			}
			if info.BestIteration == nil || *info.BestIteration != tt.bestIteration {
				t.Errorf("best iteration %v, want %d", info.BestIteration, tt.bestIteration)
			}
			if len(info.Features) != tt.numFeatures || info.Features[0].Name != tt.firstFeature {
				t.Errorf("features %+v", info.Features)
			}
			raw, err := os.ReadFile(filepath.Join("testdata", tt.model, ModelFile))
			if err != nil {
				t.Fatal(err)
			}
			if len(info.Version) != 64 || strings.Trim(info.Version, "0123456789abcdef") != "" {
				t.Errorf("version %q is not a hex SHA-256", info.Version)
			}
			if other := mustLoadBytes(t, raw, schemaBytes(t, tt.model)).Info().Version; other != info.Version {
				t.Errorf("the same bytes give versions %s and %s", info.Version, other)
			}
		})
	}
}

// Info returns copies: a caller changing them cannot change the model.
func TestInfoIsACopy(t *testing.T) {
	t.Parallel()
	m := loadTestModel(t, deepModel)
	info := m.Info()
	*info.Features[0].Min = -1000
	info.Features[0].Name = "changed"
	*info.BestIteration = 3
	again := m.Info()
	if *again.Features[0].Min != 0 || again.Features[0].Name != "age" || *again.BestIteration != 299 {
		t.Errorf("the model changed with its Info: %+v", again.Features[0])
	}
}

// The early-stopping model must use the trees up to best_iteration only:
// with all of them it answers differently (the references were made with
// iteration_range=(0, best_iteration+1), which TestMatchesXGBoost checks).
func TestBestIterationLimitsTrees(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("testdata", earlyModel, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	withoutBest := strings.Replace(string(raw), `"best_iteration":"6",`, "", 1)
	if withoutBest == string(raw) {
		t.Fatal("test premise: best_iteration not found")
	}
	limited := loadTestModel(t, earlyModel)
	all := mustLoadBytes(t, []byte(withoutBest), schemaBytes(t, earlyModel))
	if got := all.Info(); got.NumTrees != 34 || got.BestIteration != nil {
		t.Errorf("without best_iteration: %d trees, best iteration %v; want 34 and nil", got.NumTrees, got.BestIteration)
	}
	differ := 0
	for _, row := range readReference(t, limited, earlyModel) {
		if limited.Predict(row.x) != all.Predict(row.x) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("all the trees predict as the trees up to best_iteration")
	}
}

// XGBoost 3.1 writes base_score as "[5E-1]".
func TestBaseScoreAsArray(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("testdata", deepModel, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	rewritten := strings.Replace(string(raw), `"base_score":"3E-1"`, `"base_score":"[3E-1]"`, 1)
	if rewritten == string(raw) {
		t.Fatal("test premise: base_score not found")
	}
	m := mustLoadBytes(t, []byte(rewritten), schemaBytes(t, deepModel))
	original := loadTestModel(t, deepModel)
	if m.Info().BaseScore != original.Info().BaseScore {
		t.Errorf("base score %v, want %v", m.Info().BaseScore, original.Info().BaseScore)
	}
	for _, row := range readReference(t, m, deepModel) {
		if got, want := m.Predict(row.x), original.Predict(row.x); got != want {
			t.Fatalf("line %d: %+v, want %+v", row.line, got, want)
		}
	}
}

func TestPredictPanicsOnWrongLength(t *testing.T) {
	t.Parallel()
	m := loadTestModel(t, servedModel)
	for _, n := range []int{0, 7, 9} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%d values: no panic", n)
				}
			}()
			m.Predict(make([]float64, n))
		}()
	}
}

// A model wider than Predict's stack buffer takes its buffer from a pool.
func TestWideModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		forest := randomForestOf(rng, maxStackFeatures+1+rng.IntN(40))
		m := mustLoadBytes(t, encodeJSON(t, forest.modelJSON()), encodeJSON(t, forest.schema()))
		x := make([]float64, forest.numFeatures)
		for i := range x {
			x[i] = float64(rng.IntN(9))/2 - 0.5
		}
		everyFeature := func(int) bool { return true }
		want := float64(baseMargin(forest.baseScore)) + forest.expectation(x, everyFeature)
		p := m.Predict(x)
		if math.Abs(float64(p.Margin)-want) > 1e-5 {
			t.Errorf("margin %v, want %v", p.Margin, want)
		}
		e := m.Explain(x)
		sum := e.Bias
		for _, c := range e.Contributions {
			sum += c
		}
		if math.Abs(sum-float64(p.Margin)) > 1e-5 {
			t.Errorf("contributions sum to %v, margin %v", sum, p.Margin)
		}
		if allocs := testing.AllocsPerRun(20, func() { m.Predict(x) }); allocs != 0 && !raceEnabled {
			t.Errorf("Predict allocates %v times", allocs)
		}
	}
}

func TestPredictDoesNotAllocate(t *testing.T) {
	m := loadTestModel(t, deepModel)
	x := readReference(t, m, deepModel)[0].x
	if allocs := testing.AllocsPerRun(100, func() { m.Predict(x) }); allocs != 0 {
		t.Errorf("Predict allocates %v times", allocs)
	}
}

// Comparing order keys must compare the floats, everywhere: splits compare
// keys.
func TestOrderKeyKeepsOrder(t *testing.T) {
	t.Parallel()
	special := []float32{
		float32(math.Inf(-1)), -math.MaxFloat32, -1, -math.SmallestNonzeroFloat32, 0,
		math.SmallestNonzeroFloat32, 1, 1.815, math.Nextafter32(1.815, 2), math.MaxFloat32, float32(math.Inf(1)),
	}
	rng := rand.New(rand.NewPCG(3, 4))
	values := append([]float32(nil), special...)
	for range 2000 {
		values = append(values, math.Float32frombits(rng.Uint32()))
	}
	for _, a := range values {
		for _, b := range special {
			if math.IsNaN(float64(a)) {
				continue
			}
			if (a < b) != (orderKey(a) < orderKey(b)) || (a == b) != (orderKey(a) == orderKey(b)) {
				t.Fatalf("%v and %v: keys %d and %d", a, b, orderKey(a), orderKey(b))
			}
		}
	}
}
