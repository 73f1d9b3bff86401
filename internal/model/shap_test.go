package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TreeSHAP must give the Shapley values of the game it is defined on: the
// value of a set S of known features is the tree's expectation when the
// features of S follow the input (a missing one its default branch) and the
// others split the cover. Here those values are computed from the
// definition, over every subset, for random trees deeper than the fixtures'
// and splitting on the same feature repeatedly, with thresholds the inputs
// hit and missing values.
func TestExplainIsTheShapleyValue(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		forest := randomForest(rng)
		schema := encodeJSON(t, forest.schema())
		m := mustLoadBytes(t, encodeJSON(t, forest.modelJSON()), schema)
		for range 5 {
			x := make([]float64, forest.numFeatures)
			for i := range x {
				x[i] = float64(rng.IntN(9))/2 - 0.5 // -0.5 to 3.5: on and between thresholds
				if rng.IntN(5) == 0 {
					x[i] = math.NaN()
				}
			}
			got := m.Explain(x)
			want, bias := forest.shapleyValues(x)
			if math.Abs(got.Bias-bias) > 1e-9 {
				t.Errorf("seed %d, x %v: bias %v, want %v", seed, x, got.Bias, bias)
			}
			for i := range want {
				if math.Abs(got.Contributions[i]-want[i]) > 1e-9 {
					t.Errorf("seed %d, x %v: contributions %v, want %v", seed, x, got.Contributions, want)
					break
				}
			}
		}
	}
}

type randomNode struct {
	left, right int // -1 at a leaf
	feature     int
	threshold   float32 // the value at a leaf
	defaultLeft bool
	cover       float64
}

type randomForestModel struct {
	numFeatures int
	baseScore   float32
	trees       [][]randomNode
}

func randomForest(rng *rand.Rand) randomForestModel {
	return randomForestOf(rng, 2+rng.IntN(3))
}

func randomForestOf(rng *rand.Rand, numFeatures int) randomForestModel {
	f := randomForestModel{numFeatures: numFeatures, baseScore: float32(0.1 + 0.8*rng.Float64())}
	for range 1 + rng.IntN(4) {
		f.trees = append(f.trees, randomTree(rng, f.numFeatures, 1+rng.IntN(7)))
	}
	return f
}

// randomTree grows a tree of at most maxDepth, numbering its nodes in a
// shuffled order (the root staying 0), covers adding up from the leaves.
func randomTree(rng *rand.Rand, numFeatures, maxDepth int) []randomNode {
	var nodes []randomNode
	var build func(depth int) int
	build = func(depth int) int {
		i := len(nodes)
		nodes = append(nodes, randomNode{left: -1, right: -1})
		if depth < maxDepth && rng.IntN(10) < 7 {
			l := build(depth + 1)
			r := build(depth + 1)
			nodes[i].left, nodes[i].right = l, r
			nodes[i].feature = rng.IntN(numFeatures)
			nodes[i].threshold = float32(rng.IntN(4))
			nodes[i].defaultLeft = rng.IntN(2) == 0
			if nodes[l].cover+nodes[r].cover == 0 {
				nodes[l].cover = 1
			}
			// As XGBoost stores it: in float32.
			nodes[i].cover = float64(float32(nodes[l].cover + nodes[r].cover))
			return i
		}
		nodes[i].threshold = float32(rng.NormFloat64())
		if rng.IntN(10) > 0 {
			nodes[i].cover = float64(float32(0.25 + 10*rng.Float64()))
		}
		return i
	}
	build(0)

	perm := append([]int{0}, shuffled(rng, len(nodes)-1, 1)...)
	out := make([]randomNode, len(nodes))
	for old, n := range nodes {
		if n.left >= 0 {
			n.left, n.right = perm[n.left], perm[n.right]
		}
		out[perm[old]] = n
	}
	return out
}

// shuffled returns start, ..., start+n-1 in a random order.
func shuffled(rng *rand.Rand, n, start int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = start + i
	}
	rng.Shuffle(n, func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func (f randomForestModel) schema() map[string]any {
	columns := make([]any, f.numFeatures)
	for i := range columns {
		columns[i] = map[string]any{"name": fmt.Sprintf("f%d", i), "type": "numeric"}
	}
	return map[string]any{"input_schema": map[string]any{"columns": columns}}
}

func (f randomForestModel) modelJSON() map[string]any {
	trees := make([]any, len(f.trees))
	treeInfo := make([]any, len(f.trees))
	for t, nodes := range f.trees {
		n := len(nodes)
		left, right, indices, conditions, defaults, covers := make([]any, n), make([]any, n), make([]any, n), make([]any, n), make([]any, n), make([]any, n)
		for i, node := range nodes {
			left[i], right[i], indices[i], conditions[i], covers[i] = node.left, node.right, node.feature, node.threshold, float32(node.cover)
			defaults[i] = 0
			if node.defaultLeft {
				defaults[i] = 1
			}
		}
		trees[t] = map[string]any{
			"tree_param":    map[string]any{"num_nodes": n, "num_deleted": "0"},
			"left_children": left, "right_children": right, "split_indices": indices,
			"split_conditions": conditions, "default_left": defaults, "sum_hessian": covers,
		}
		treeInfo[t] = 0
	}
	return map[string]any{
		"version": []any{1, 7, 4},
		"learner": map[string]any{
			"objective":           map[string]any{"name": "binary:logistic"},
			"learner_model_param": map[string]any{"base_score": f.baseScore, "num_feature": f.numFeatures},
			"gradient_booster": map[string]any{"name": "gbtree", "model": map[string]any{
				"gbtree_model_param": map[string]any{"num_trees": len(trees), "num_parallel_tree": 1},
				"tree_info":          treeInfo,
				"trees":              trees,
			}},
		},
	}
}

// expectation is the forest's expected margin (without the base) when only
// the features for which known is true are known.
func (f randomForestModel) expectation(x []float64, known func(feature int) bool) float64 {
	total := 0.0
	for _, nodes := range f.trees {
		var walk func(i int) float64
		walk = func(i int) float64 {
			n := nodes[i]
			if n.left < 0 {
				return float64(n.threshold)
			}
			if known(n.feature) {
				v := float32(x[n.feature])
				switch {
				case math.IsNaN(float64(v)) && n.defaultLeft, v < n.threshold:
					return walk(n.left)
				default:
					return walk(n.right)
				}
			}
			return (nodes[n.left].cover*walk(n.left) + nodes[n.right].cover*walk(n.right)) / n.cover
		}
		total += walk(0)
	}
	return total
}

// shapleyValues computes the Shapley values from their definition, and the
// bias: the base margin plus the expectation with nothing known.
func (f randomForestModel) shapleyValues(x []float64) ([]float64, float64) {
	m := f.numFeatures
	phi := make([]float64, m)
	for i := range m {
		for set := range 1 << m {
			if set&(1<<i) != 0 {
				continue
			}
			size := popCount(set)
			weight := factorial(size) * factorial(m-size-1) / factorial(m)
			with, without := inSet(set|1<<i), inSet(set)
			phi[i] += weight * (f.expectation(x, with) - f.expectation(x, without))
		}
	}
	return phi, float64(baseMargin(f.baseScore)) + f.expectation(x, inSet(0))
}

// inSet tells the features in a bit set.
func inSet(set int) func(feature int) bool {
	return func(feature int) bool { return set&(1<<feature) != 0 }
}

func popCount(set int) int {
	n := 0
	for ; set != 0; set &= set - 1 {
		n++
	}
	return n
}

func factorial(n int) float64 {
	out := 1.0
	for k := 2; k <= n; k++ {
		out *= float64(k)
	}
	return out
}
