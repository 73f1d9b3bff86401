// Package metrics computes a binary classifier's performance figures exactly
// as scikit-learn computes them: accuracy, precision, recall and F1 of the
// predicted labels, ROC AUC and the ROC curve, Brier score and log loss of
// the predicted probabilities, and a calibration table of ten uniform bins.
//
// The figures are accumulated one sample at a time, in order of decreasing
// probability, so that a caller can stream rows from a database sorted that
// way and keep nothing but counters and at most 2×ROCPoints points of the
// ROC curve in memory; Compute sorts a slice first for everyone else. Each figure is nil where scikit-learn's is undefined
// (it warns, or returns nan): no sample at all, precision with no predicted
// positive, recall with no true positive, F1 with neither, ROC AUC with one
// class only. scikit-learn's precision, recall and F1 return 0 there by
// default (zero_division="warn"); nil says "undefined" instead of pretending
// the model scored 0, as the API's schema asks.
package metrics

import (
	"fmt"
	"math"
)

// Bins is the number of calibration bins, each 1/Bins wide.
const Bins = 10

// ROCPoints is the most thresholds a ROC curve keeps: a curve with more
// distinct probabilities is thinned to at most ROCPoints of them, evenly
// spread and ending with the lowest, after the (0, 0) start.
const ROCPoints = 200

// Sample is one prediction with what really happened.
type Sample struct {
	// Prob is the predicted probability of the positive class, in [0, 1].
	Prob float64
	// Pred is the predicted label, 0 or 1 (the model's yhat; not derived
	// from Prob here, so that the figures describe what was served).
	Pred int
	// Label is the outcome: true for the positive class.
	Label bool
}

// Bin is one calibration bin: predictions with a probability in (Lower,
// Upper], the first bin including 0. The means are nil for an empty bin.
type Bin struct {
	Lower, Upper  float64
	Count         int
	MeanPredicted *float64
	ObservedRate  *float64
}

// Performance holds the figures over a set of samples.
type Performance struct {
	Count     int
	Positives int
	Accuracy  *float64
	Precision *float64
	Recall    *float64
	F1        *float64
	ROCAUC    *float64
	Brier     *float64
	LogLoss   *float64
	// Calibration always has Bins entries.
	Calibration []Bin
	// ROC is the ROC curve; empty when ROCAUC is nil.
	ROC []ROCPoint
}

// ROCPoint is one point of the ROC curve: the rates when predictions at or
// above Threshold count as positive. Threshold is nil for the (0, 0) start.
type ROCPoint struct {
	Threshold         *float64
	FalsePositiveRate float64
	TruePositiveRate  float64
}

// Accumulator gathers the figures of samples added in order of
// non-increasing probability. The zero value is ready to use.
type Accumulator struct {
	n, positives           int
	tp, fp, tn, fn         int
	brierSum, logLossSum   float64
	binCount               [Bins]int
	binProbSum, binTrueSum [Bins]float64

	// The ROC curve so far: the cumulative counts at the last threshold
	// closed, and at the one being filled (all samples of probability
	// prob). area is twice the trapezoid area under the closed part, in
	// counts (false positives times true positives).
	started          bool
	prob             float64
	closedTP, closed int // closed: false positives at the last closed threshold
	curTP, curFP     int
	area             float64

	// The closed thresholds' points kept for the curve: those whose rank
	// (1 for the highest probability) is a multiple of rocStep, in order.
	// thresholds counts the closed thresholds; rocStep 0 means 1.
	thresholds int
	rocStep    int
	roc        []rocCount
}

// rocCount is one closed threshold's point of the ROC curve, in counts.
type rocCount struct {
	prob   float64
	fp, tp int
}

// Add adds a sample. Samples must come in order of non-increasing Prob, and
// Prob must be a probability; otherwise Add returns an error and the sample
// is not counted.
func (a *Accumulator) Add(s Sample) error {
	if math.IsNaN(s.Prob) || s.Prob < 0 || s.Prob > 1 {
		return fmt.Errorf("metrics: probability %v is not in [0, 1]", s.Prob)
	}
	if s.Pred != 0 && s.Pred != 1 {
		return fmt.Errorf("metrics: predicted label %d is neither 0 nor 1", s.Pred)
	}
	if a.started && s.Prob > a.prob {
		return fmt.Errorf("metrics: probability %v after %v: samples must come in non-increasing order", s.Prob, a.prob)
	}
	if a.started && s.Prob < a.prob {
		a.closeThreshold()
	}
	a.started, a.prob = true, s.Prob

	y := 0.0
	if s.Label {
		y = 1
		a.positives++
		a.curTP++
	} else {
		a.curFP++
	}
	a.n++
	switch {
	case s.Pred == 1 && s.Label:
		a.tp++
	case s.Pred == 1:
		a.fp++
	case s.Label:
		a.fn++
	default:
		a.tn++
	}
	d := y - s.Prob
	a.brierSum += d * d
	a.logLossSum += logLoss(s.Prob, s.Label)
	b := binOf(s.Prob)
	a.binCount[b]++
	a.binProbSum[b] += s.Prob
	a.binTrueSum[b] += y
	return nil
}

// closeThreshold ends the group of tied probabilities: one point of the ROC
// curve, and the trapezoid from the previous point to it. Tied scores make
// one diagonal step, as scikit-learn's roc_curve does (its thresholds are
// the distinct scores).
func (a *Accumulator) closeThreshold() {
	a.area += a.openTrapezoid()
	a.closedTP, a.closed = a.curTP, a.curFP
	a.keepROCPoint()
}

// openTrapezoid is twice the area, in counts, of the trapezoid from the last
// closed threshold's point to the open one's.
func (a *Accumulator) openTrapezoid() float64 {
	return float64(a.curFP-a.closed) * float64(a.curTP+a.closedTP)
}

// keepROCPoint keeps the point of the threshold just closed, if its rank is
// one the thinned curve keeps.
//
// The accumulator streams a database cursor of any length, and every
// distinct probability is a threshold, so keeping them all would make memory
// grow with the rows read. Instead only ranks that are multiples of rocStep
// are kept, and when 2×ROCPoints of them are held, every other one is
// dropped and rocStep doubles: what is left are the multiples of the new
// step, so the points stay evenly spread over the thresholds whatever the
// length of the stream, memory stays at 2×ROCPoints points, and each point
// kept is a real threshold's exact counts, not an interpolation: the curve
// drawn through them is still scikit-learn's, only coarser. Result then
// takes every point held, or every other one, to return at most ROCPoints.
func (a *Accumulator) keepROCPoint() {
	a.thresholds++
	step := max(a.rocStep, 1)
	if a.thresholds%step != 0 {
		return
	}
	if a.roc == nil {
		// One allocation for the accumulator's life: the points held never
		// exceed this capacity.
		a.roc = make([]rocCount, 0, 2*ROCPoints)
	}
	a.roc = append(a.roc, rocCount{prob: a.prob, fp: a.curFP, tp: a.curTP})
	if len(a.roc) < 2*ROCPoints {
		return
	}
	// a.roc[i] is rank (i+1)*step: the odd indices are the multiples of
	// 2*step, the latest one included.
	kept := a.roc[:0]
	for i := 1; i < len(a.roc); i += 2 {
		kept = append(kept, a.roc[i])
	}
	a.roc, a.rocStep = kept, 2*step
}

// eps is what scikit-learn's log_loss clips float64 probabilities to:
// np.finfo(np.float64).eps, so that log(0) never happens.
const eps = 0x1p-52

// logLoss is the loss of one sample as scikit-learn's log_loss computes it:
// the two columns [1-p, p] each clipped to [eps, 1-eps].
func logLoss(p float64, label bool) float64 {
	q := 1 - p
	if label {
		q = p
	}
	return -math.Log(min(max(q, eps), 1-eps))
}

// edge returns the calibration bin edge i (0..Bins): np.linspace(0, 1,
// Bins+1) computes i*step with step = 1/Bins, and sets the last to 1.
func edge(i int) float64 {
	if i == Bins {
		return 1
	}
	return float64(i) * (1.0 / Bins)
}

// binOf returns the bin of p as calibration_curve's
// np.searchsorted(bins[1:-1], p) does (side "left"): the number of inner
// edges strictly below p, so that a p exactly on an edge belongs to the bin
// below it.
func binOf(p float64) int {
	b := 0
	for i := 1; i < Bins; i++ {
		if edge(i) < p {
			b = i
		}
	}
	return b
}

// Result returns the figures of the samples added so far.
func (a *Accumulator) Result() Performance {
	out := Performance{Count: a.n, Positives: a.positives, Calibration: make([]Bin, Bins)}
	for i := range out.Calibration {
		bin := Bin{Lower: edge(i), Upper: edge(i + 1), Count: a.binCount[i]}
		if c := float64(a.binCount[i]); c > 0 {
			bin.MeanPredicted = ptr(a.binProbSum[i] / c)
			bin.ObservedRate = ptr(a.binTrueSum[i] / c)
		}
		out.Calibration[i] = bin
	}
	if a.n == 0 {
		return out
	}
	n := float64(a.n)
	out.Accuracy = ptr(float64(a.tp+a.tn) / n)
	out.Brier = ptr(a.brierSum / n)
	out.LogLoss = ptr(a.logLossSum / n)
	if a.tp+a.fp > 0 {
		out.Precision = ptr(float64(a.tp) / float64(a.tp+a.fp))
	}
	if a.tp+a.fn > 0 {
		out.Recall = ptr(float64(a.tp) / float64(a.tp+a.fn))
	}
	// scikit-learn's f1_score is 2tp / (2tp + fp + fn), which is defined
	// (0) even when precision or recall is not, as long as some sample is
	// predicted or truly positive; 0/0 is undefined (it warns).
	if d := 2*a.tp + a.fp + a.fn; d > 0 {
		out.F1 = ptr(2 * float64(a.tp) / float64(d))
	}
	negatives := a.n - a.positives
	if a.positives > 0 && negatives > 0 {
		// The last threshold is still open: count it here without closing
		// it, so that Result can be called between Adds.
		out.ROCAUC = ptr((a.area + a.openTrapezoid()) / 2 / (float64(a.positives) * float64(negatives)))
		out.ROC = a.rocCurve(float64(negatives))
	}
	return out
}

// rocCurve returns the ROC curve: (0, 0), the kept closed thresholds'
// points, or every other one of them where that many would be more than
// ROCPoints thresholds in all, then the open threshold's (1, 1).
func (a *Accumulator) rocCurve(negatives float64) []ROCPoint {
	stride := 1
	if len(a.roc) >= ROCPoints {
		stride = 2
	}
	n := len(a.roc)/stride + 1
	thresholds := make([]float64, 0, n) // one allocation for every Threshold
	out := make([]ROCPoint, 1, n+1)     // out[0] is (0, 0), threshold nil
	positives := float64(a.positives)
	point := func(prob float64, fp, tp int) {
		thresholds = append(thresholds, prob)
		out = append(out, ROCPoint{
			Threshold:         &thresholds[len(thresholds)-1],
			FalsePositiveRate: float64(fp) / negatives,
			TruePositiveRate:  float64(tp) / positives,
		})
	}
	for i := stride - 1; i < len(a.roc); i += stride {
		point(a.roc[i].prob, a.roc[i].fp, a.roc[i].tp)
	}
	point(a.prob, a.curFP, a.curTP)
	return out
}

func ptr(f float64) *float64 { return &f }
