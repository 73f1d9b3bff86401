package metrics_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/mlapi/mlapi/internal/metrics"
	"github.com/mlapi/mlapi/internal/metrics/metricstest"
)

// fixtures is testdata/fixtures.json, written by testdata/gen_fixtures.py
// with scikit-learn.
type fixtures struct {
	Sklearn string `json:"sklearn"`
	Cases   []struct {
		Name  string    `json:"name"`
		Prob  []float64 `json:"prob"`
		Pred  []int     `json:"pred"`
		Label []int     `json:"label"`
		Want  struct {
			Count       int      `json:"count"`
			Positives   int      `json:"positives"`
			Accuracy    *float64 `json:"accuracy"`
			Precision   *float64 `json:"precision"`
			Recall      *float64 `json:"recall"`
			F1          *float64 `json:"f1"`
			ROCAUC      *float64 `json:"roc_auc"`
			Brier       *float64 `json:"brier"`
			LogLoss     *float64 `json:"log_loss"`
			Calibration []struct {
				Lower         float64  `json:"lower"`
				Upper         float64  `json:"upper"`
				Count         int      `json:"count"`
				MeanPredicted *float64 `json:"mean_predicted"`
				ObservedRate  *float64 `json:"observed_rate"`
			} `json:"calibration"`
			// ROC is roc_curve(drop_intermediate=False), its first
			// threshold null.
			ROC struct {
				Thresholds []*float64 `json:"thresholds"`
				FPR        []float64  `json:"fpr"`
				TPR        []float64  `json:"tpr"`
			} `json:"roc"`
		} `json:"want"`
	} `json:"cases"`
}

const tolerance = 1e-9

func TestComputeMatchesScikitLearn(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixtures
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) < 10 {
		t.Fatalf("%d cases in the fixtures, want at least 10", len(f.Cases))
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			samples := make([]metrics.Sample, len(c.Prob))
			for i := range samples {
				samples[i] = metrics.Sample{Prob: c.Prob[i], Pred: c.Pred[i], Label: c.Label[i] == 1}
			}
			got, err := metricstest.Compute(samples)
			if err != nil {
				t.Fatal(err)
			}
			w := c.Want
			if got.Count != w.Count || got.Positives != w.Positives {
				t.Errorf("count %d, positives %d; want %d, %d", got.Count, got.Positives, w.Count, w.Positives)
			}
			for _, fig := range []struct {
				name      string
				got, want *float64
			}{
				{"accuracy", got.Accuracy, w.Accuracy},
				{"precision", got.Precision, w.Precision},
				{"recall", got.Recall, w.Recall},
				{"f1", got.F1, w.F1},
				{"roc_auc", got.ROCAUC, w.ROCAUC},
				{"brier", got.Brier, w.Brier},
				{"log_loss", got.LogLoss, w.LogLoss},
			} {
				wantClose(t, fig.name, fig.got, fig.want)
			}
			if len(got.Calibration) != metrics.Bins || len(w.Calibration) != metrics.Bins {
				t.Fatalf("%d calibration bins, fixture %d; want %d", len(got.Calibration), len(w.Calibration), metrics.Bins)
			}
			for i, b := range got.Calibration {
				wb := w.Calibration[i]
				if b.Lower != wb.Lower || b.Upper != wb.Upper || b.Count != wb.Count {
					t.Errorf("bin %d: (%v, %v] count %d; want (%v, %v] count %d", i, b.Lower, b.Upper, b.Count, wb.Lower, wb.Upper, wb.Count)
				}
				wantClose(t, "mean predicted of bin "+string(rune('0'+i)), b.MeanPredicted, wb.MeanPredicted)
				wantClose(t, "observed rate of bin "+string(rune('0'+i)), b.ObservedRate, wb.ObservedRate)
			}
			wantSklearnROC(t, got.ROC, w.ROC.Thresholds, w.ROC.FPR, w.ROC.TPR)
		})
	}
}

// wantSklearnROC compares a ROC curve with scikit-learn's, point for point
// and exactly (both divide the same whole counts): the whole curve where it
// has at most ROCPoints thresholds, else each point kept, found in
// scikit-learn's by its threshold, and the two ends.
func wantSklearnROC(t *testing.T, got []metrics.ROCPoint, thresholds []*float64, fpr, tpr []float64) {
	t.Helper()
	if len(thresholds) != len(fpr) || len(fpr) != len(tpr) {
		t.Fatalf("fixture: %d thresholds, %d fpr, %d tpr", len(thresholds), len(fpr), len(tpr))
	}
	want := make([]metrics.ROCPoint, len(fpr))
	at := map[float64]metrics.ROCPoint{}
	for i := range want {
		want[i] = metrics.ROCPoint{Threshold: thresholds[i], FalsePositiveRate: fpr[i], TruePositiveRate: tpr[i]}
		if thresholds[i] != nil {
			at[*thresholds[i]] = want[i]
		}
	}
	if len(want) <= metrics.ROCPoints+1 {
		if !equalROC(got, want) {
			t.Errorf("ROC curve:\n%s\nwant (scikit-learn):\n%s", showROC(got), showROC(want))
		}
		return
	}
	if len(got) < 2 || len(got) > metrics.ROCPoints+1 {
		t.Fatalf("ROC curve of %d points from %d thresholds; want 2 to %d", len(got), len(want)-1, metrics.ROCPoints+1)
	}
	if !equalROC(got[:1], want[:1]) || !equalROC(got[len(got)-1:], want[len(want)-1:]) {
		t.Errorf("ROC curve from %s to %s; want %s to %s", showROC(got[:1]), showROC(got[len(got)-1:]), showROC(want[:1]), showROC(want[len(want)-1:]))
	}
	for _, p := range got[1:] {
		if p.Threshold == nil {
			t.Fatalf("a null threshold past the start: %s", showROC(got))
		}
		if w, ok := at[*p.Threshold]; !ok || !equalROC([]metrics.ROCPoint{p}, []metrics.ROCPoint{w}) {
			t.Errorf("ROC point %s; scikit-learn's at that threshold %s", showROC([]metrics.ROCPoint{p}), showROC([]metrics.ROCPoint{w}))
		}
	}
}

func wantClose(t *testing.T, name string, got, want *float64) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s: %v, want %v", name, show(got), show(want))
	case math.IsNaN(*got) || math.Abs(*got-*want) > tolerance:
		t.Errorf("%s: %v, want %v (scikit-learn)", name, *got, *want)
	}
}

func show(f *float64) any {
	if f == nil {
		return "null"
	}
	return *f
}

// TestAccumulatorOrder checks that the streaming accumulator refuses what it
// cannot count, rather than computing a wrong AUC.
func TestAccumulatorOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		samples []metrics.Sample
		wantErr bool
	}{
		{"non-increasing", []metrics.Sample{{Prob: 0.9}, {Prob: 0.9, Label: true}, {Prob: 0.1}}, false},
		{"increasing", []metrics.Sample{{Prob: 0.1}, {Prob: 0.9}}, true},
		{"above 1", []metrics.Sample{{Prob: 1.5}}, true},
		{"negative", []metrics.Sample{{Prob: -0.1}}, true},
		{"NaN", []metrics.Sample{{Prob: math.NaN()}}, true},
		{"label 2", []metrics.Sample{{Prob: 0.5, Pred: 2}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var a metrics.Accumulator
			var err error
			for _, s := range tt.samples {
				if err = a.Add(s); err != nil {
					break
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("Add: %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// TestResultBetweenAdds checks that Result does not disturb the sums, so a
// caller may look at the figures part way.
func TestResultBetweenAdds(t *testing.T) {
	t.Parallel()
	samples := []metrics.Sample{{Prob: 0.9, Pred: 1, Label: true}, {Prob: 0.8, Pred: 1}, {Prob: 0.3, Label: true}, {Prob: 0.2}}
	var a metrics.Accumulator
	for _, s := range samples {
		_ = a.Result()
		if err := a.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	want, err := metricstest.Compute(samples)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Result(); *got.ROCAUC != *want.ROCAUC || *got.ROCAUC != 0.75 {
		t.Fatalf("ROC AUC %v, Compute %v, want 0.75", *got.ROCAUC, *want.ROCAUC)
	}
}
