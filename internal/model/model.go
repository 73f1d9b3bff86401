// Package model evaluates an XGBoost binary:logistic tree ensemble saved as
// JSON (booster.save_model("model.json")) together with the input schema
// that names and bounds its features.
//
// It reproduces XGBoost's own answers to float32 precision: inputs and
// thresholds are compared as float32 with a strict <, missing values (NaN)
// follow each split's default branch, and leaves are added to the base
// margin in float32, in tree order. Explanations are XGBoost's exact
// path-dependent TreeSHAP values (pred_contribs=True).
//
// Everything that does not fit those rules is refused at load time, with an
// error naming the file and the field, rather than predicted wrongly.
package model

import (
	"fmt"
	"math"
	"sync"

	"github.com/mlapi/mlapi/internal/drift"
)

// FeatureType is how an input column is given: a number, or a boolean
// carried as 0 or 1.
type FeatureType string

const (
	Numeric FeatureType = "numeric"
	Boolean FeatureType = "boolean"
)

// Feature is one input column of the model, as the input schema declares it.
// Min and Max, when set, bound the accepted values inclusively.
type Feature struct {
	Name string      `json:"name"`
	Type FeatureType `json:"type"`
	Min  *float64    `json:"min,omitempty"`
	Max  *float64    `json:"max,omitempty"`
}

// Info identifies the loaded model.
type Info struct {
	// Version is the hex SHA-256 of the model.json bytes: it changes with any
	// retraining, so logs can tell which model answered.
	Version        string
	Objective      string
	Booster        string
	NumTrees       int // the trees used to predict, after early stopping
	MaxDepth       int // of the trees used; a single leaf has depth 0
	BaseScore      float64
	XGBoostVersion string
	// BestIteration is learner.attributes.best_iteration when the model has
	// it: only the trees of boosting rounds 0 to BestIteration are used.
	BestIteration *int
	// Features are in the input schema's order, the order of every vector
	// this package takes or returns.
	Features []Feature
	// Reference is the training data's distribution, from the optional
	// reference.json beside the model (reference.go); nil without one.
	Reference *drift.Reference
}

// Prediction is the model's answer for one input.
type Prediction struct {
	Margin      float32 // log-odds
	Probability float32 // of the positive class
	Label       int     // 1 when Probability > 0.5
}

// Explanation splits a prediction's margin into one additive contribution
// per feature (in the schema's order) and a bias, all in log-odds: the sum
// of Contributions and Bias is the margin, to float32 rounding.
type Explanation struct {
	Contributions []float64
	Bias          float64
}

// Model is a loaded model, safe for concurrent use.
type Model struct {
	info       Info
	features   []Feature
	featureIdx map[string]int

	// nodes holds every used tree, flattened; roots[t] is tree t's root and
	// depths[t] its depth. Each tree is laid out breadth-first with the two
	// children of a split side by side, so walking it touches few cache lines.
	// Trees that are single leaves of value 0 pad roots to a multiple of
	// walkWidth: they change neither the margin (but for making a -0 +0)
	// nor the explanation.
	nodes  []node
	roots  []int32
	depths []int32
	// coverShares[i] is the share of its parent's training data (cover,
	// sum_hessian) that reaches nodes[i], needed only by TreeSHAP and so
	// kept out of the way of prediction.
	coverShares []float64
	baseMargin  float32
	// reciprocals[n] is 1/n, for n up to the longest TreeSHAP path.
	reciprocals []float64
	// bias is what Explain reports as Bias: the base margin plus every
	// tree's expected value, fixed for a model.
	bias float64

	// scratch recycles the buffers of Explain, and of Predict for models
	// too wide for its stack buffer, so that they do not allocate.
	scratch sync.Pool
}

// node is a split or a leaf, shaped so that walking down a tree needs no
// branch, which the processor would mispredict half the time:
//   - a split compares order keys (see orderKey), integers, which compile to
//     branch-free code where float32 comparisons do not;
//   - a missing value takes its default branch with no test for NaN (see
//     fillInput);
//   - a leaf's threshold is above every key and its left child is itself,
//     so a step from a leaf stays on it, and every tree can be walked a
//     fixed number of steps, its depth.
type node struct {
	threshold int32   // the order key of the split's threshold; leafThreshold at a leaf
	slot      int32   // where the split's feature value is in the input keys; see fillInput
	left      int32   // index in Model.nodes of the left child; the right child is left+1
	value     float32 // the leaf's value; 0 at a split
}

// leafThreshold is above the order key of every float32 but NaN, which
// fillInput never writes.
const leafThreshold = math.MaxInt32

// step goes from node i to the child the input keys send it to: the right
// one when the value is at least the threshold (XGBoost goes left when
// value < threshold).
func step(nodes []node, keys []int32, i int32) int32 {
	// uint32 indices: zero-extending is free where sign-extending is not.
	n := &nodes[uint32(i)]
	// The compiler turns this into a flag-setting compare (SETGE), not a
	// branch: which way a split goes is unpredictable from row to row.
	var right int32
	if keys[uint32(n.slot)] >= n.threshold {
		right = 1
	}
	return n.left + right
}

// orderKey maps a float32 other than NaN to an int32 in the same order, so
// that comparing keys compares the floats: negative floats, whose bits
// count the wrong way, have their magnitude bits flipped. -0 must be made
// +0 first, as IEEE 754 has them equal.
func orderKey(f float32) int32 {
	bits := int32(math.Float32bits(f))
	return bits ^ int32(uint32(bits>>31)>>1)
}

// fillInput writes the order keys of x (n values) as float32, the type
// XGBoost compares in, twice into keys (2n long). A missing value (NaN) is
// -Inf in the first half, which goes left at every split, and +Inf in the
// second, which goes right: a split reads its feature from the half that
// sends a missing value its default way.
func fillInput(keys []int32, x []float64) {
	n := len(x)
	for i, v := range x {
		f := float32(v)
		if f == 0 {
			f = 0 // -0 is +0
		}
		low, high := orderKey(f), orderKey(f)
		if math.IsNaN(v) {
			low, high = orderKey(float32(math.Inf(-1))), orderKey(float32(math.Inf(1)))
		}
		keys[i], keys[n+i] = low, high
	}
}

// slotOf is where a split on feature (in the schema's order) reads its
// value, given where it sends missing values.
func slotOf(feature int32, defaultLeft bool, numFeatures int) int32 {
	if defaultLeft {
		return feature
	}
	return feature + int32(numFeatures)
}

// featureOf undoes slotOf.
func (m *Model) featureOf(slot int32) int32 {
	if n := int32(len(m.features)); slot >= n {
		return slot - n
	}
	return slot
}

// scratch is the per-call space of Explain and of wide models' Predict.
type scratch struct {
	keys []int32
	path []pathElement
}

// maxStackFeatures is the widest model whose Predict keeps its input values
// on the stack (512 bytes); wider ones take a buffer from the pool.
const maxStackFeatures = 64

// smallModelFeatures is the widest model whose Predict uses a 128-byte
// array instead.
const smallModelFeatures = 16

// walkWidth is how many trees Predict walks side by side.
const walkWidth = 8

// Info describes the model. The result is a copy the caller may keep.
func (m *Model) Info() Info {
	info := m.info
	info.Features = m.Features()
	if m.info.BestIteration != nil {
		best := *m.info.BestIteration
		info.BestIteration = &best
	}
	return info
}

// Features lists the model's inputs in the schema's order. The result is a
// copy the caller may keep.
func (m *Model) Features() []Feature {
	out := make([]Feature, len(m.features))
	for i, f := range m.features {
		out[i] = Feature{Name: f.Name, Type: f.Type, Min: copyBound(f.Min), Max: copyBound(f.Max)}
	}
	return out
}

func copyBound(b *float64) *float64 {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}

// FeatureIndex reports the position of the named feature in the schema's
// order.
func (m *Model) FeatureIndex(name string) (int, bool) {
	i, ok := m.featureIdx[name]
	return i, ok
}

// Predict scores x, the features in the schema's order with NaN for a
// missing value. It does not allocate.
//
// x must have one value per feature, as Validate returns it: any other
// length is a programming error and panics.
func (m *Model) Predict(x []float64) Prediction {
	m.mustFit(x)
	if len(x) > maxStackFeatures {
		s := m.scratch.Get().(*scratch)
		defer m.scratch.Put(s)
		return m.predict(x, s.keys)
	}
	if len(x) <= smallModelFeatures {
		// Go zeroes a stack array on every call: a small one for small
		// models keeps that out of the profile.
		var keys [2 * smallModelFeatures]int32
		return m.predict(x, keys[:2*len(x)])
	}
	var keys [2 * maxStackFeatures]int32
	return m.predict(x, keys[:2*len(x)])
}

func (m *Model) predict(x []float64, keys []int32) Prediction {
	fillInput(keys, x)
	margin := m.margin(keys)
	probability := sigmoid(margin)
	label := 0
	if probability > 0.5 {
		label = 1
	}
	return Prediction{Margin: margin, Probability: probability, Label: label}
}

// margin walks every tree and adds its leaf to the base margin, in float32
// and in tree order as XGBoost does: another order can change the last bit.
//
// The walk below (and step, fillInput and the node layout it relies on) is
// tuned by measurement: time any change to it with BenchmarkPredictServed
// and BenchmarkPredict300Trees in bench_test.go, before and after,
// `go test -run='^$' -bench=Predict -count=10 ./internal/model` into
// benchstat.
func (m *Model) margin(keys []int32) float32 {
	nodes, roots, depths := m.nodes, m.roots, m.depths
	margin := m.baseMargin
	// Eight trees at a time (Load pads the trees to a multiple of eight):
	// their walks do not depend on one another, so the processor overlaps
	// their memory loads.
	for t := 0; t+walkWidth <= len(roots); t += walkWidth {
		a, b, c, d := roots[t], roots[t+1], roots[t+2], roots[t+3]
		e, f, g, h := roots[t+4], roots[t+5], roots[t+6], roots[t+7]
		for range max(depths[t], depths[t+1], depths[t+2], depths[t+3], depths[t+4], depths[t+5], depths[t+6], depths[t+7]) {
			a = step(nodes, keys, a)
			b = step(nodes, keys, b)
			c = step(nodes, keys, c)
			d = step(nodes, keys, d)
			e = step(nodes, keys, e)
			f = step(nodes, keys, f)
			g = step(nodes, keys, g)
			h = step(nodes, keys, h)
		}
		margin += nodes[uint32(a)].value
		margin += nodes[uint32(b)].value
		margin += nodes[uint32(c)].value
		margin += nodes[uint32(d)].value
		margin += nodes[uint32(e)].value
		margin += nodes[uint32(f)].value
		margin += nodes[uint32(g)].value
		margin += nodes[uint32(h)].value
	}
	return margin
}

func (m *Model) mustFit(x []float64) {
	if len(x) != len(m.features) {
		panic(fmt.Sprintf("model: got %d feature values, the model has %d features", len(x), len(m.features)))
	}
}
