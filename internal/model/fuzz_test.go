package model

import (
	"math"
	"strings"
	"testing"
)

// tinyModel is small enough for the fuzzer to mutate usefully. Its feature
// names are in another order than tinySchema's: model feature 0 is "b".
//   - tree 0: b < 0.5 (missing: left) ? (a < 2 (missing: right) ? 0.4 : 0.1) : -0.3
//   - tree 1: a < 7 (missing: right) ? 0.2 : -0.2; its node 1 was deleted by pruning
//   - tree 2: a single leaf, 0.05
const tinyModel = `{"learner":{"attributes":{"best_iteration":"2"},
"feature_names":["b","a"],"feature_types":["int","float"],
"gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"3","size_leaf_vector":"0"},
"tree_info":[0,0,0],"trees":[
{"default_left":[1,0,0,0,0],"left_children":[1,3,-1,-1,-1],"right_children":[2,4,-1,-1,-1],
"split_conditions":[5E-1,2E0,-3E-1,4E-1,1E-1],"split_indices":[0,1,0,0,0],"split_type":[0,0,0,0,0],
"sum_hessian":[1E1,6E0,4E0,2E0,4E0],"categories":[],"categories_nodes":[],
"tree_param":{"num_deleted":"0","num_feature":"2","num_nodes":"5","size_leaf_vector":"0"}},
{"default_left":[0,1,0,0],"left_children":[3,-1,-1,-1],"right_children":[2,-1,-1,-1],
"split_conditions":[7E0,0E0,-2E-1,2E-1],"split_indices":[1,2147483647,0,0],"split_type":[0,0,0,0],
"sum_hessian":[1E1,0E0,5E0,5E0],
"tree_param":{"num_deleted":"1","num_feature":"2","num_nodes":"4","size_leaf_vector":"0"}},
{"default_left":[0],"left_children":[-1],"right_children":[-1],"split_conditions":[5E-2],
"split_indices":[0],"sum_hessian":[1E1],"tree_param":{"num_deleted":"0","num_feature":"2","num_nodes":"1"}}
]},"name":"gbtree"},
"learner_model_param":{"base_score":"4E-1","num_class":"0","num_feature":"2","num_target":"1"},
"objective":{"name":"binary:logistic"}},"version":[2,0,3]}`

const tinySchema = `{"input_schema":{"columns":[{"name":"a","type":"numeric","min":0},{"name":"b","type":"boolean"}]}}`

func TestTinyModel(t *testing.T) {
	t.Parallel()
	m := mustLoadBytes(t, []byte(tinyModel), []byte(tinySchema))
	tests := []struct {
		a, b   float64
		leaves [3]float32
	}{
		{a: 1, b: 0, leaves: [3]float32{0.4, 0.2, 0.05}},
		{a: 2, b: 0, leaves: [3]float32{0.1, 0.2, 0.05}},
		{a: 8, b: 1, leaves: [3]float32{-0.3, -0.2, 0.05}},
		{a: math.NaN(), b: math.NaN(), leaves: [3]float32{0.1, -0.2, 0.05}},
	}
	for _, tt := range tests {
		margin := baseMargin(0.4)
		for _, leaf := range tt.leaves {
			margin += leaf
		}
		if got := m.Predict([]float64{tt.a, tt.b}).Margin; got != margin {
			t.Errorf("a=%v b=%v: margin %v, want %v", tt.a, tt.b, got, margin)
		}
	}
	// Making the deleted node reachable is refused.
	reachable := strings.Replace(tinyModel, `"left_children":[3,-1,-1,-1]`, `"left_children":[1,-1,-1,-1]`, 1)
	if _, err := loadBytes([]byte(reachable), []byte(tinySchema)); err == nil || !strings.Contains(err.Error(), "trees[1].split_indices[1]") {
		t.Errorf("got %v, want the reachable deleted node refused", err)
	}
}

// FuzzLoad's seeds are small variants of tinyModel: the fuzzer mutates and
// minimizes a large model too slowly to get anywhere.
func FuzzLoad(f *testing.F) {
	schema := []byte(tinySchema)
	for _, variant := range [][]string{
		{},
		{`"feature_names":["b","a"],`, ""}, // the schema gives the order
		{`"base_score":"4E-1"`, `"base_score":"[4E-1]"`},
		{`"num_parallel_tree":"1"`, `"num_parallel_tree":"3","iteration_indptr":[0,3]`, `"best_iteration":"2"`, `"best_iteration":"0"`},
		{`"default_left":[1,0,0,0,0]`, `"default_left":[true,false,false,false,false]`},
		{`"left_children":[1,3,-1,-1,-1]`, `"left_children":[1,0,-1,-1,-1]`}, // a cycle
		{`"split_type":[0,0,0,0,0]`, `"split_type":[0,1,0,0,0]`},             // categorical
	} {
		f.Add([]byte(strings.NewReplacer(variant...).Replace(tinyModel)), schema)
	}
	f.Add([]byte(`{"learner":{}}`), schema)
	f.Add([]byte(`[]`), []byte(`{"input_schema":{"columns":[{"name":"a","type":"boolean","max":1}]}}`))

	f.Fuzz(func(t *testing.T, modelJSON, schemaJSON []byte) {
		m, err := loadBytes(modelJSON, schemaJSON)
		if err != nil {
			return
		}
		n := len(m.Features())
		vectors := [][]float64{make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)}
		for i := range n {
			vectors[1][i] = math.NaN()
			vectors[2][i] = float64(i) - 1.5
			vectors[3][i] = math.Copysign(1e300, float64(i%2)-0.5)
		}
		for _, x := range vectors {
			p := m.Predict(x)
			if p.Label != 0 && p.Label != 1 || (p.Label == 1) != (p.Probability > 0.5) {
				t.Fatalf("prediction %+v", p)
			}
			if again := m.Predict(x); again != p && !math.IsNaN(float64(p.Margin)) {
				t.Fatalf("predictions differ: %+v, %+v", p, again)
			}
			if e := m.Explain(x); len(e.Contributions) != n {
				t.Fatalf("%d contributions for %d features", len(e.Contributions), n)
			}
		}
		info := m.Info()
		if info.NumTrees < 1 || len(info.Features) != n {
			t.Fatalf("info %+v", info)
		}
	})
}
