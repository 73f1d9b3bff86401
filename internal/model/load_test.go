package model

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func loadBytes(modelJSON, schemaJSON []byte) (*Model, error) {
	return Load(fstest.MapFS{
		ModelFile:  {Data: modelJSON},
		SchemaFile: {Data: schemaJSON},
	})
}

func mustLoadBytes(t testing.TB, modelJSON, schemaJSON []byte) *Model {
	t.Helper()
	m, err := loadBytes(modelJSON, schemaJSON)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readTestFile(t testing.TB, model, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", model, file))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func schemaBytes(t testing.TB, model string) []byte {
	return readTestFile(t, model, SchemaFile)
}

// decodeJSON reads JSON keeping numbers as they are written.
func decodeJSON(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	var doc map[string]any
	if err := decoder.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func encodeJSON(t testing.TB, doc any) []byte {
	t.Helper()
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// jsonPath walks doc along keys (strings) and indices (ints).
func jsonPath(doc any, steps ...any) any {
	for _, step := range steps {
		switch s := step.(type) {
		case string:
			doc = doc.(map[string]any)[s]
		case int:
			doc = doc.([]any)[s]
		}
	}
	return doc
}

func learnerOf(doc map[string]any) map[string]any {
	return jsonPath(doc, "learner").(map[string]any)
}

func boosterOf(doc map[string]any) map[string]any {
	return jsonPath(doc, "learner", "gradient_booster", "model").(map[string]any)
}

func treeOf(doc map[string]any, i int) map[string]any {
	return jsonPath(boosterOf(doc), "trees", i).(map[string]any)
}

func setNode(doc map[string]any, tree int, array string, node int, value any) {
	treeOf(doc, tree)[array].([]any)[node] = value
}

// The served model's first tree: node 0 splits on serum_creatinine into 1
// and 2; 1 splits into leaves 3 and 4, 2 into leaves 5 and 6.
func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mutate     func(doc map[string]any)
		wantInText []string // besides the file's name
	}{
		{"objective", func(d map[string]any) {
			learnerOf(d)["objective"].(map[string]any)["name"] = "reg:squarederror"
		}, []string{"learner.objective.name", `"reg:squarederror"`}},
		{"dart booster", func(d map[string]any) {
			learnerOf(d)["gradient_booster"].(map[string]any)["name"] = "dart"
		}, []string{"learner.gradient_booster.name", `"dart"`}},
		{"gblinear booster", func(d map[string]any) {
			learnerOf(d)["gradient_booster"] = map[string]any{"name": "gblinear", "model": map[string]any{"weights": []any{0.1}}}
		}, []string{"learner.gradient_booster.name", `"gblinear"`}},
		{"not a version this package knows", func(d map[string]any) {
			d["version"] = []any{4, 0, 0}
		}, []string{"version", "[4 0 0]"}},
		{"no version", func(d map[string]any) { delete(d, "version") }, []string{"version", "missing"}},
		{"no learner", func(d map[string]any) { delete(d, "learner") }, []string{"learner", "missing"}},
		{"categorical split", func(d map[string]any) { setNode(d, 0, "split_type", 1, 1) },
			[]string{"trees[0].split_type[1]", "categorical"}},
		{"categories", func(d map[string]any) { treeOf(d, 2)["categories"] = []any{1, 3} },
			[]string{"trees[2].categories", "categorical"}},
		{"categorical feature type", func(d map[string]any) { learnerOf(d)["feature_types"].([]any)[3] = "c" },
			[]string{"learner.feature_types[3]", "categorical"}},
		{"lengths disagree", func(d map[string]any) {
			tree := treeOf(d, 3)
			tree["split_conditions"] = tree["split_conditions"].([]any)[:6]
		}, []string{"trees[3].split_conditions", "6 entries", "num_nodes is 7"}},
		{"num_nodes disagrees", func(d map[string]any) {
			treeOf(d, 4)["tree_param"].(map[string]any)["num_nodes"] = "8"
		}, []string{"trees[4].left_children", "7 entries", "num_nodes is 8"}},
		{"child out of range", func(d map[string]any) { setNode(d, 1, "left_children", 0, 99) },
			[]string{"trees[1].left_children[0]", "99 is not a node"}},
		{"negative child", func(d map[string]any) { setNode(d, 1, "right_children", 2, -5) },
			[]string{"trees[1].right_children[2]", "-5 is not a node"}},
		{"root as a child", func(d map[string]any) { setNode(d, 0, "left_children", 2, 0) },
			[]string{"trees[0].left_children[2]", "0 is not a node"}},
		{"cycle", func(d map[string]any) {
			setNode(d, 0, "left_children", 3, 1)
			setNode(d, 0, "right_children", 3, 4)
		}, []string{"trees[0].left_children[3]", "node 1 is reached twice", "cycle"}},
		{"shared child", func(d map[string]any) { setNode(d, 0, "right_children", 0, 1) },
			[]string{"trees[0].right_children[0]", "node 1 is reached twice"}},
		{"unreachable nodes", func(d map[string]any) {
			setNode(d, 0, "left_children", 2, -1)
			setNode(d, 0, "right_children", 2, -1)
		}, []string{"trees[0]", "node 5 is unreachable"}},
		{"leaf with a right child", func(d map[string]any) { setNode(d, 0, "right_children", 3, 2) },
			[]string{"trees[0].right_children[3]", "leaf"}},
		{"split index out of range", func(d map[string]any) { setNode(d, 5, "split_indices", 0, 8) },
			[]string{"trees[5].split_indices[0]", "8 is not a feature index"}},
		{"deleted node reachable", func(d map[string]any) {
			setNode(d, 0, "split_indices", 1, 2147483647)
			setNode(d, 0, "default_left", 1, 1)
		}, []string{"trees[0].split_indices[1]", "marked deleted"}},
		{"num_deleted disagrees", func(d map[string]any) {
			treeOf(d, 0)["tree_param"].(map[string]any)["num_deleted"] = "1"
		}, []string{"trees[0].tree_param.num_deleted", "1, but 0 nodes are deleted"}},
		{"threshold beyond float32", func(d map[string]any) { setNode(d, 0, "split_conditions", 0, json.Number("1e39")) },
			[]string{"split_conditions", "1e39"}},
		{"negative cover", func(d map[string]any) { setNode(d, 0, "sum_hessian", 4, -2) },
			[]string{"trees[0].sum_hessian[4]", "non-negative"}},
		{"zero cover at a split", func(d map[string]any) { setNode(d, 0, "sum_hessian", 0, 0) },
			[]string{"trees[0].sum_hessian[0]", "0 at a split"}},
		{"num_class", func(d map[string]any) { learnerOf(d)["learner_model_param"].(map[string]any)["num_class"] = "3" },
			[]string{"learner.learner_model_param.num_class", "3", "multi-class"}},
		{"num_target", func(d map[string]any) { learnerOf(d)["learner_model_param"].(map[string]any)["num_target"] = "2" },
			[]string{"learner.learner_model_param.num_target", "multi-output"}},
		{"vector leaves", func(d map[string]any) {
			treeOf(d, 7)["tree_param"].(map[string]any)["size_leaf_vector"] = "2"
		}, []string{"trees[7].tree_param.size_leaf_vector", "multi-output"}},
		{"multi-class tree groups", func(d map[string]any) { boosterOf(d)["tree_info"].([]any)[3] = 1 },
			[]string{"learner.gradient_booster.model.tree_info[3]", "multi-class"}},
		{"num_trees disagrees", func(d map[string]any) {
			boosterOf(d)["gbtree_model_param"].(map[string]any)["num_trees"] = "31"
		}, []string{"gbtree_model_param.num_trees", "31, but there are 30 trees"}},
		{"no trees", func(d map[string]any) {
			b := boosterOf(d)
			b["trees"], b["tree_info"] = []any{}, []any{}
			b["gbtree_model_param"].(map[string]any)["num_trees"] = "0"
		}, []string{"learner.gradient_booster.model.trees", "no trees"}},
		{"num_parallel_tree not dividing the trees", func(d map[string]any) {
			boosterOf(d)["gbtree_model_param"].(map[string]any)["num_parallel_tree"] = "7"
		}, []string{"num_parallel_tree", "7 does not divide the 30 trees"}},
		{"iteration_indptr disagrees", func(d map[string]any) {
			indptr := make([]any, 31)
			for i := range indptr {
				indptr[i] = i * 2
			}
			boosterOf(d)["iteration_indptr"] = indptr
		}, []string{"iteration_indptr[1]", "2: want 1"}},
		{"base score not a probability", func(d map[string]any) {
			learnerOf(d)["learner_model_param"].(map[string]any)["base_score"] = "1E0"
		}, []string{"learner.learner_model_param.base_score", `"1E0"`, "strictly between 0 and 1"}},
		{"base score not a number", func(d map[string]any) {
			learnerOf(d)["learner_model_param"].(map[string]any)["base_score"] = "half"
		}, []string{"learner.learner_model_param.base_score", `"half" is not a number`}},
		{"base score of several outputs", func(d map[string]any) {
			learnerOf(d)["learner_model_param"].(map[string]any)["base_score"] = "[5E-1,5E-1]"
		}, []string{"learner.learner_model_param.base_score", "multi-output"}},
		{"best_iteration beyond the trees", func(d map[string]any) { learnerOf(d)["attributes"].(map[string]any)["best_iteration"] = "30" },
			[]string{"learner.attributes.best_iteration", `"30"`, "from 0 to 29"}},
		{"best_iteration not a number", func(d map[string]any) { learnerOf(d)["attributes"].(map[string]any)["best_iteration"] = "last" },
			[]string{"learner.attributes.best_iteration", `"last"`}},
		{"duplicate feature name", func(d map[string]any) { learnerOf(d)["feature_names"].([]any)[1] = "age" },
			[]string{"learner.feature_names[1]", `"age" appears twice`}},
		{"model feature missing from the schema", func(d map[string]any) { learnerOf(d)["feature_names"].([]any)[7] = "smoking" },
			[]string{"learner.feature_names[7]", `"smoking" has no column in input schema input_schema.json`}},
		{"feature names and num_feature disagree", func(d map[string]any) {
			learnerOf(d)["learner_model_param"].(map[string]any)["num_feature"] = "9"
		}, []string{"learner.feature_names", "8 names for num_feature 9"}},
		{"no feature names and a schema of another width", func(d map[string]any) {
			learnerOf(d)["feature_names"] = []any{}
			learnerOf(d)["learner_model_param"].(map[string]any)["num_feature"] = "9"
		}, []string{"learner.learner_model_param.num_feature", "9", "input_schema.json has 8 columns"}},
		{"num_feature not a number", func(d map[string]any) {
			learnerOf(d)["learner_model_param"].(map[string]any)["num_feature"] = "eight"
		}, []string{"learner.learner_model_param.num_feature", `"eight" is not an integer`}},
		{"tree too deep", func(d map[string]any) { boosterOf(d)["trees"].([]any)[0] = chainTree(MaxTreeDepth + 1) },
			[]string{"trees[0].left_children", "deeper than 256"}},
	}
	valid := readTestFile(t, servedModel, ModelFile)
	schema := schemaBytes(t, servedModel)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := decodeJSON(t, valid)
			tt.mutate(doc)
			_, err := loadBytes(encodeJSON(t, doc), schema)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, want := range append([]string{"model model.json: "}, tt.wantInText...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// chainTree is a valid tree of the given depth, each split's right child a
// leaf.
func chainTree(depth int) map[string]any {
	n := 2*depth + 1
	left, right, indices, conditions, defaults, hessians := make([]any, n), make([]any, n), make([]any, n), make([]any, n), make([]any, n), make([]any, n)
	for i := range n {
		left[i], right[i], indices[i], conditions[i], defaults[i], hessians[i] = -1, -1, 0, 0.5, 0, 1
	}
	// Every split's left child is the next split, the last node a leaf.
	for d := range depth {
		left[2*d] = 2*d + 2
		right[2*d] = 2*d + 1
	}
	return map[string]any{
		"tree_param":       map[string]any{"num_nodes": n, "num_deleted": "0"},
		"left_children":    left,
		"right_children":   right,
		"split_indices":    indices,
		"split_conditions": conditions,
		"default_left":     defaults,
		"sum_hessian":      hessians,
	}
}

// Models from other XGBoost versions write some fields differently.
func TestLoadAcceptsFormatVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(doc map[string]any)
	}{
		{"default_left as booleans (before 1.3)", func(d map[string]any) {
			for i := range 30 {
				for j, v := range treeOf(d, i)["default_left"].([]any) {
					treeOf(d, i)["default_left"].([]any)[j] = v.(json.Number) == "1"
				}
			}
		}},
		{"no split_type nor categories (before 1.3)", func(d map[string]any) {
			for i := range 30 {
				for _, key := range []string{"split_type", "categories", "categories_nodes", "categories_segments", "categories_sizes"} {
					delete(treeOf(d, i), key)
				}
			}
		}},
		{"scalar leaves counted as size 1 (2.0 on)", func(d map[string]any) {
			for i := range 30 {
				treeOf(d, i)["tree_param"].(map[string]any)["size_leaf_vector"] = "1"
			}
		}},
		{"iteration_indptr (2.0 on)", func(d map[string]any) {
			indptr := make([]any, 31)
			for i := range indptr {
				indptr[i] = i
			}
			boosterOf(d)["iteration_indptr"] = indptr
		}},
		{"no feature names, the schema giving the order", func(d map[string]any) {
			delete(learnerOf(d), "feature_names")
			delete(learnerOf(d), "feature_types")
		}},
		{"no best_iteration", func(d map[string]any) { delete(learnerOf(d), "attributes") }},
		{"parameters as numbers", func(d map[string]any) {
			learnerOf(d)["learner_model_param"].(map[string]any)["num_feature"] = 8
			boosterOf(d)["gbtree_model_param"].(map[string]any)["num_trees"] = 30
		}},
	}
	valid := readTestFile(t, servedModel, ModelFile)
	schema := schemaBytes(t, servedModel)
	served := loadTestModel(t, servedModel)
	rows := readReference(t, served, servedModel)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := decodeJSON(t, valid)
			tt.mutate(doc)
			m := mustLoadBytes(t, encodeJSON(t, doc), schema)
			for _, row := range rows {
				if got, want := m.Predict(row.x), served.Predict(row.x); got != want {
					t.Fatalf("line %d: %+v, want %+v", row.line, got, want)
				}
			}
		})
	}
}

// The schema may list the model's features in any order: vectors follow it.
func TestSchemaOrderIsTheVectorOrder(t *testing.T) {
	t.Parallel()
	served := loadTestModel(t, servedModel)
	doc := decodeJSON(t, schemaBytes(t, servedModel))
	columns := jsonPath(doc, "input_schema", "columns").([]any)
	for i, j := 0, len(columns)-1; i < j; i, j = i+1, j-1 {
		columns[i], columns[j] = columns[j], columns[i]
	}
	reversed := mustLoadBytes(t, readTestFile(t, servedModel, ModelFile), encodeJSON(t, doc))
	if got := reversed.Info().Features[0].Name; got != "high_blood_pressure" {
		t.Fatalf("first feature %q", got)
	}
	for _, row := range readReference(t, served, servedModel) {
		x := append([]float64(nil), row.x...)
		for i, j := 0, len(x)-1; i < j; i, j = i+1, j-1 {
			x[i], x[j] = x[j], x[i]
		}
		if got, want := reversed.Predict(x), served.Predict(row.x); got != want {
			t.Fatalf("line %d: %+v, want %+v", row.line, got, want)
		}
		got, want := reversed.Explain(x), served.Explain(row.x)
		for i := range x {
			if got.Contributions[len(x)-1-i] != want.Contributions[i] {
				t.Fatalf("line %d: contributions %v, want the reverse of %v", row.line, got.Contributions, want.Contributions)
			}
		}
	}
}

func TestSchemaRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		schema     string
		wantInText []string
	}{
		{"not JSON", `{"input_schema":`, []string{"unexpected EOF"}},
		{"no columns", `{"input_schema": {"columns": []}}`, []string{"input_schema.columns: missing or empty"}},
		{"no input_schema", `{}`, []string{"input_schema.columns: missing or empty"}},
		{"unknown key", `{"input_schema": {"columns": [{"name": "age", "type": "numeric", "mni": 0}]}}`, []string{`unknown field "mni"`}},
		{"duplicate", `{"input_schema": {"columns": [{"name": "age", "type": "numeric"}, {"name": "age", "type": "numeric"}]}}`,
			[]string{`columns[1] "age": the name appears twice`}},
		{"unknown type", `{"input_schema": {"columns": [{"name": "age", "type": "integer"}]}}`,
			[]string{`columns[0] "age": type "integer"`}},
		{"min above max", `{"input_schema": {"columns": [{"name": "age", "type": "numeric", "min": 10, "max": 5}]}}`,
			[]string{`columns[0] "age": min 10 is greater than max 5`}},
		{"bounds on a boolean", `{"input_schema": {"columns": [{"name": "sex", "type": "boolean", "max": 1}]}}`,
			[]string{`columns[0] "sex": min and max apply to numeric columns`}},
		{"empty name", `{"input_schema": {"columns": [{"name": "", "type": "numeric"}]}}`,
			[]string{`columns[0] "": the name is empty`}},
		{"every problem at once", `{"input_schema": {"columns": [{"name": "a", "type": "text"}, {"name": "b", "type": "numeric", "min": 2, "max": 1}]}}`,
			[]string{`columns[0] "a": type "text"`, `columns[1] "b": min 2`}},
		{"a column the model lacks", `{"input_schema": {"columns": [{"name": "age", "type": "numeric"}, {"name": "creatinine_phosphokinase", "type": "numeric"},
			{"name": "ejection_fraction", "type": "numeric"}, {"name": "platelets", "type": "numeric"}, {"name": "serum_creatinine", "type": "numeric"},
			{"name": "serum_sodium", "type": "numeric"}, {"name": "sex", "type": "boolean"}, {"name": "high_blood_pressure", "type": "boolean"},
			{"name": "smoking", "type": "boolean"}]}}`, []string{`column "smoking" is not a feature of model model.json`}},
	}
	model := readTestFile(t, servedModel, ModelFile)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadBytes(model, []byte(tt.schema))
			if err == nil {
				t.Fatal("loaded")
			}
			for _, want := range append([]string{"input schema input_schema.json: "}, tt.wantInText...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestLoadDirNamesItsFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, SchemaFile)) {
		t.Errorf("empty dir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, SchemaFile), schemaBytes(t, servedModel), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, ModelFile)) {
		t.Errorf("no model: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ModelFile), []byte(`{"learner": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "model "+filepath.Join(dir, ModelFile)+": version") {
		t.Errorf("bad model: %v", err)
	}
}
