package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The files a model directory holds.
const (
	ModelFile  = "model.json"
	SchemaFile = "input_schema.json"
)

// LoadDir loads the model in dir; see Load.
func LoadDir(dir string) (*Model, error) {
	return load(os.DirFS(dir), dir)
}

// Load reads model.json (an XGBoost JSON model) and input_schema.json at the
// root of fsys, checks that the model is one this package evaluates exactly,
// and compiles its trees.
//
// Supported: XGBoost 1.x to 3.x, booster gbtree, objective binary:logistic,
// numerical splits, any number of trees of any depth up to MaxTreeDepth,
// num_parallel_tree of any size, and trees with nodes deleted by pruning.
// When the model has feature_names, schema columns are matched to them by
// name and the schema must name exactly the model's features; when it has
// none, the schema's order is the model's.
//
// Early stopping: when learner.attributes.best_iteration is present, only
// the trees of boosting rounds 0 to best_iteration (inclusive) are used, as
// XGBoost's scikit-learn wrapper does (iteration_range=(0, best_iteration+1)).
// A model saved after early stopping thus answers as it did in Python
// through XGBClassifier.predict_proba.
func Load(fsys fs.FS) (*Model, error) {
	return load(fsys, "")
}

// MaxTreeDepth bounds the depth of a tree: TreeSHAP's scratch space grows
// with its square. XGBoost's depth-wise trees are far shallower.
const MaxTreeDepth = 256

func load(fsys fs.FS, dir string) (*Model, error) {
	modelPath, schemaPath := ModelFile, SchemaFile
	if dir != "" {
		modelPath, schemaPath = filepath.Join(dir, ModelFile), filepath.Join(dir, SchemaFile)
	}
	schemaBytes, err := fs.ReadFile(fsys, SchemaFile)
	if err != nil {
		return nil, fmt.Errorf("input schema %s: %w", schemaPath, err)
	}
	features, err := parseSchema(schemaBytes, schemaPath)
	if err != nil {
		return nil, err
	}
	modelBytes, err := fs.ReadFile(fsys, ModelFile)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", modelPath, err)
	}
	l := loader{path: modelPath, schemaPath: schemaPath, features: features}
	return l.build(modelBytes)
}

// xgboostModel is the part of XGBoost's JSON model format that prediction
// needs; the rest (training statistics, parameters) is ignored.
type xgboostModel struct {
	Version []int `json:"version"`
	Learner *struct {
		Attributes   map[string]string `json:"attributes"`
		FeatureNames []string          `json:"feature_names"`
		FeatureTypes []string          `json:"feature_types"`
		Objective    struct {
			Name string `json:"name"`
		} `json:"objective"`
		Booster struct {
			Name string `json:"name"`
			// Decoded once Name says it is a gbtree: other boosters keep
			// other things here.
			Model json.RawMessage `json:"model"`
		} `json:"gradient_booster"`
		Params struct {
			BaseScore  *flexString `json:"base_score"`
			NumFeature *flexString `json:"num_feature"`
			NumClass   *flexString `json:"num_class"`
			NumTarget  *flexString `json:"num_target"`
		} `json:"learner_model_param"`
	} `json:"learner"`
}

type gbtreeModel struct {
	Params struct {
		NumTrees        *flexString `json:"num_trees"`
		NumParallelTree *flexString `json:"num_parallel_tree"`
		SizeLeafVector  *flexString `json:"size_leaf_vector"`
	} `json:"gbtree_model_param"`
	TreeInfo        []int64     `json:"tree_info"`
	IterationIndptr []int64     `json:"iteration_indptr"` // XGBoost 2.0 on
	Trees           []*jsonTree `json:"trees"`
}

type jsonTree struct {
	Params struct {
		NumNodes       *flexString `json:"num_nodes"`
		NumDeleted     *flexString `json:"num_deleted"`
		SizeLeafVector *flexString `json:"size_leaf_vector"`
	} `json:"tree_param"`
	LeftChildren    []int64           `json:"left_children"`
	RightChildren   []int64           `json:"right_children"`
	SplitIndices    []int64           `json:"split_indices"`
	SplitConditions []float32         `json:"split_conditions"`
	DefaultLeft     []flexBool        `json:"default_left"`
	SplitType       []int64           `json:"split_type"`
	SumHessian      []float32         `json:"sum_hessian"`
	Categories      []json.RawMessage `json:"categories"`
	CategoriesNodes []json.RawMessage `json:"categories_nodes"`
}

// flexString is a parameter XGBoost writes as a JSON string ("8", "5E-1");
// a plain JSON number is taken too.
type flexString string

func (s *flexString) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var text string
		if err := json.Unmarshal(data, &text); err != nil {
			return err
		}
		*s = flexString(text)
		return nil
	}
	var number json.Number
	if err := json.Unmarshal(data, &number); err != nil {
		return fmt.Errorf("want a string or a number, got %s", data)
	}
	*s = flexString(number)
	return nil
}

// flexBool is default_left: 0/1 since XGBoost 1.3, true/false before.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "1", "true":
		*b = true
	case "0", "false":
		*b = false
	default:
		return fmt.Errorf("want 0, 1, true or false, got %s", data)
	}
	return nil
}

// loader builds a Model from model.json, naming the file and the field in
// every error.
type loader struct {
	path       string
	schemaPath string
	features   []Feature
}

func (l *loader) errorf(field, format string, args ...any) error {
	return fmt.Errorf("model %s: %s: %s", l.path, field, fmt.Sprintf(format, args...))
}

// paramInt reads an integer parameter, def when it is absent.
func (l *loader) paramInt(field string, value *flexString, def int) (int, error) {
	if value == nil {
		return def, nil
	}
	n, err := strconv.Atoi(string(*value))
	if err != nil {
		return 0, l.errorf(field, "%q is not an integer", string(*value))
	}
	return n, nil
}

func (l *loader) build(raw []byte) (*Model, error) {
	var file xgboostModel
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("model %s: not an XGBoost JSON model: %w", l.path, err)
	}
	learner := file.Learner
	if learner == nil {
		return nil, l.errorf("learner", "missing: not an XGBoost JSON model")
	}
	if len(file.Version) == 0 {
		return nil, l.errorf("version", "missing: not an XGBoost JSON model")
	}
	if major := file.Version[0]; major < 1 || major > 3 {
		return nil, l.errorf("version", "%v: only models saved by XGBoost 1.x to 3.x are supported", file.Version)
	}
	if name := learner.Objective.Name; name != "binary:logistic" {
		return nil, l.errorf("learner.objective.name", "%q: only binary:logistic is supported", name)
	}
	if name := learner.Booster.Name; name != "gbtree" {
		return nil, l.errorf("learner.gradient_booster.name", "%q: only gbtree is supported", name)
	}

	params := &learner.Params
	numClass, err := l.paramInt("learner.learner_model_param.num_class", params.NumClass, 0)
	if err != nil {
		return nil, err
	}
	if numClass > 1 {
		return nil, l.errorf("learner.learner_model_param.num_class", "%d: multi-class models are not supported", numClass)
	}
	numTarget, err := l.paramInt("learner.learner_model_param.num_target", params.NumTarget, 1)
	if err != nil {
		return nil, err
	}
	if numTarget > 1 {
		return nil, l.errorf("learner.learner_model_param.num_target", "%d: multi-output models are not supported", numTarget)
	}
	baseScore, err := l.baseScore(params.BaseScore)
	if err != nil {
		return nil, err
	}
	if params.NumFeature == nil {
		return nil, l.errorf("learner.learner_model_param.num_feature", "missing")
	}
	numFeature, err := l.paramInt("learner.learner_model_param.num_feature", params.NumFeature, 0)
	if err != nil {
		return nil, err
	}
	toSchema, err := l.bindFeatures(learner.FeatureNames, numFeature)
	if err != nil {
		return nil, err
	}
	for i, t := range learner.FeatureTypes {
		if t == "c" {
			return nil, l.errorf(fmt.Sprintf("learner.feature_types[%d]", i), "%q: categorical features are not supported", t)
		}
	}

	var booster gbtreeModel
	if err := json.Unmarshal(learner.Booster.Model, &booster); err != nil {
		return nil, l.errorf("learner.gradient_booster.model", "%v", err)
	}
	perRound, err := l.checkForest(&booster)
	if err != nil {
		return nil, err
	}
	used := len(booster.Trees)
	var bestIteration *int
	if text, ok := learner.Attributes["best_iteration"]; ok {
		best, err := strconv.Atoi(text)
		rounds := len(booster.Trees) / perRound
		if err != nil || best < 0 || best >= rounds {
			return nil, l.errorf("learner.attributes.best_iteration", "%q: want a boosting round from 0 to %d", text, rounds-1)
		}
		bestIteration = &best
		used = (best + 1) * perRound
	}

	m := &Model{
		features:   l.features,
		featureIdx: make(map[string]int, len(l.features)),
		baseMargin: baseMargin(float32(baseScore)),
	}
	for i, f := range l.features {
		m.featureIdx[f.Name] = i
	}
	maxDepth, err := l.compileTrees(m, booster.Trees, used, numFeature, toSchema)
	if err != nil {
		return nil, err
	}
	m.prepareWalks(maxDepth)

	sum := sha256.Sum256(raw)
	m.info = Info{
		Version:        hex.EncodeToString(sum[:]),
		Objective:      learner.Objective.Name,
		Booster:        learner.Booster.Name,
		NumTrees:       used,
		MaxDepth:       maxDepth,
		BaseScore:      baseScore,
		XGBoostVersion: joinVersion(file.Version),
		BestIteration:  bestIteration,
	}
	return m, nil
}

// compileTrees checks every tree, also those early stopping leaves out (a
// file damaged there is damaged), and adds the first used ones to m. It
// returns the greatest depth of the trees used.
func (l *loader) compileTrees(m *Model, trees []*jsonTree, used, numFeature int, toSchema []int32) (int, error) {
	m.bias = float64(m.baseMargin)
	maxDepth := 0
	for t, tree := range trees {
		compiled, err := l.compileTree(tree, t, numFeature, toSchema, int32(len(m.nodes)))
		if err != nil {
			return 0, err
		}
		if t >= used {
			continue
		}
		m.roots = append(m.roots, int32(len(m.nodes)))
		m.depths = append(m.depths, int32(compiled.depth))
		m.nodes = append(m.nodes, compiled.nodes...)
		m.coverShares = append(m.coverShares, compiled.coverShares...)
		m.bias += compiled.expectedValue
		maxDepth = max(maxDepth, compiled.depth)
		if len(m.nodes) > math.MaxInt32/2 {
			return 0, l.errorf("learner.gradient_booster.model.trees", "too many nodes")
		}
	}
	return maxDepth, nil
}

// prepareWalks pads the trees for Predict's walk and sizes the scratch
// space of Explain for trees up to maxDepth.
func (m *Model) prepareWalks(maxDepth int) {
	if pad := (walkWidth - len(m.roots)%walkWidth) % walkWidth; pad > 0 {
		zero := int32(len(m.nodes))
		m.nodes = append(m.nodes, node{threshold: leafThreshold, left: zero})
		m.coverShares = append(m.coverShares, 1)
		for range pad {
			m.roots = append(m.roots, zero)
			m.depths = append(m.depths, 0)
		}
	}
	// A path holds at most maxDepth+1 elements, the most its weights are
	// divided by.
	m.reciprocals = make([]float64, maxDepth+2)
	for n := 1; n < len(m.reciprocals); n++ {
		m.reciprocals[n] = 1 / float64(n)
	}
	pathLen, keysLen := pathBufferLen(maxDepth), 2*len(m.features)
	m.scratch.New = func() any {
		return &scratch{keys: make([]int32, keysLen), path: make([]pathElement, pathLen)}
	}
}

// baseScore reads the base score, a probability written "5E-1", or "[5E-1]"
// since XGBoost 3.1. XGBoost holds it as a float32; the float64 reading is
// kept for display, where 0.3 reads better than 0.30000001192092896.
func (l *loader) baseScore(value *flexString) (float64, error) {
	const field = "learner.learner_model_param.base_score"
	if value == nil {
		return 0, l.errorf(field, "missing")
	}
	text := string(*value)
	inner := text
	if strings.HasPrefix(inner, "[") && strings.HasSuffix(inner, "]") {
		inner = inner[1 : len(inner)-1]
		if strings.Contains(inner, ",") {
			return 0, l.errorf(field, "%q: multi-output models are not supported", text)
		}
	}
	score, err := strconv.ParseFloat(strings.TrimSpace(inner), 64)
	if err != nil {
		return 0, l.errorf(field, "%q is not a number", text)
	}
	if single := float32(score); !(single > 0 && single < 1) {
		return 0, l.errorf(field, "%q: a binary:logistic base score is a probability, strictly between 0 and 1", text)
	}
	return score, nil
}

// baseMargin is the log-odds of the base score as XGBoost computes it:
// -log(1/p - 1) with 1/p - 1 in float32 (its ProbToMargin works in float),
// which can differ by an ulp from the exact logit rounded to float32.
func baseMargin(p float32) float32 {
	odds := 1/p - 1
	return float32(-math.Log(float64(odds)))
}

func joinVersion(version []int) string {
	parts := make([]string, len(version))
	for i, v := range version {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ".")
}

// bindFeatures maps each model feature index to its index in the schema.
func (l *loader) bindFeatures(names []string, numFeature int) ([]int32, error) {
	const field = "learner.learner_model_param.num_feature"
	if numFeature < 1 {
		return nil, l.errorf(field, "%d: want at least one feature", numFeature)
	}
	toSchema := make([]int32, 0, len(l.features))
	if len(names) == 0 {
		// A model trained on a bare array: the schema gives the order.
		if numFeature != len(l.features) {
			return nil, l.errorf(field, "%d, but input schema %s has %d columns (the model has no feature_names to match them by)", numFeature, l.schemaPath, len(l.features))
		}
		for i := range l.features {
			toSchema = append(toSchema, int32(i))
		}
		return toSchema, nil
	}
	if len(names) != numFeature {
		return nil, l.errorf("learner.feature_names", "%d names for num_feature %d", len(names), numFeature)
	}
	schemaIndex := make(map[string]int, len(l.features))
	for i, f := range l.features {
		schemaIndex[f.Name] = i
	}
	inModel := make(map[string]bool, len(names))
	for i, name := range names {
		if inModel[name] {
			return nil, l.errorf(fmt.Sprintf("learner.feature_names[%d]", i), "%q appears twice", name)
		}
		inModel[name] = true
		j, ok := schemaIndex[name]
		if !ok {
			return nil, l.errorf(fmt.Sprintf("learner.feature_names[%d]", i), "feature %q has no column in input schema %s", name, l.schemaPath)
		}
		toSchema = append(toSchema, int32(j))
	}
	for _, f := range l.features {
		if !inModel[f.Name] {
			return nil, fmt.Errorf("input schema %s: column %q is not a feature of model %s (learner.feature_names)", l.schemaPath, f.Name, l.path)
		}
	}
	return toSchema, nil
}

// checkForest checks the trees as a whole and returns how many trees make
// one boosting round.
func (l *loader) checkForest(b *gbtreeModel) (int, error) {
	const prefix = "learner.gradient_booster.model."
	if len(b.Trees) == 0 {
		return 0, l.errorf(prefix+"trees", "no trees")
	}
	numTrees, err := l.paramInt(prefix+"gbtree_model_param.num_trees", b.Params.NumTrees, len(b.Trees))
	if err != nil {
		return 0, err
	}
	if numTrees != len(b.Trees) {
		return 0, l.errorf(prefix+"gbtree_model_param.num_trees", "%d, but there are %d trees", numTrees, len(b.Trees))
	}
	leafSize, err := l.paramInt(prefix+"gbtree_model_param.size_leaf_vector", b.Params.SizeLeafVector, 0)
	if err != nil {
		return 0, err
	}
	if leafSize > 1 {
		return 0, l.errorf(prefix+"gbtree_model_param.size_leaf_vector", "%d: vector leaves (multi-output) are not supported", leafSize)
	}
	if len(b.TreeInfo) != len(b.Trees) {
		return 0, l.errorf(prefix+"tree_info", "%d entries for %d trees", len(b.TreeInfo), len(b.Trees))
	}
	for i, group := range b.TreeInfo {
		if group != 0 {
			return 0, l.errorf(fmt.Sprintf("%stree_info[%d]", prefix, i), "%d: trees of more than one output group (multi-class) are not supported", group)
		}
	}
	perRound, err := l.paramInt(prefix+"gbtree_model_param.num_parallel_tree", b.Params.NumParallelTree, 1)
	if err != nil {
		return 0, err
	}
	if perRound < 1 || len(b.Trees)%perRound != 0 {
		return 0, l.errorf(prefix+"gbtree_model_param.num_parallel_tree", "%d does not divide the %d trees into boosting rounds", perRound, len(b.Trees))
	}
	if b.IterationIndptr != nil {
		// Where each boosting round's trees start: with one output group,
		// rounds of num_parallel_tree trees each.
		rounds := len(b.Trees) / perRound
		if len(b.IterationIndptr) != rounds+1 {
			return 0, l.errorf(prefix+"iteration_indptr", "%d entries for %d boosting rounds", len(b.IterationIndptr), rounds)
		}
		for i, start := range b.IterationIndptr {
			if start != int64(i*perRound) {
				return 0, l.errorf(fmt.Sprintf("%siteration_indptr[%d]", prefix, i), "%d: want %d for rounds of %d trees", start, i*perRound, perRound)
			}
		}
	}
	return perRound, nil
}

// compiledTree is one tree in the Model's layout.
type compiledTree struct {
	nodes         []node
	coverShares   []float64 // each node's cover over its parent's
	depth         int
	expectedValue float64 // the cover-weighted mean of the leaves
}

// deletedSplitIndex marks a node that pruning removed: XGBoost keeps such
// nodes in the arrays, unreachable, with every bit of its split index and
// default-left flag set.
const deletedSplitIndex = math.MaxInt32

// compileTree checks tree number t and lays it out breadth-first from base,
// the index of its root in Model.nodes, with split features in the schema's
// order.
func (l *loader) compileTree(tree *jsonTree, t, numFeature int, toSchema []int32, base int32) (compiledTree, error) {
	prefix := fmt.Sprintf("learner.gradient_booster.model.trees[%d].", t)
	if tree == nil {
		return compiledTree{}, l.errorf(prefix[:len(prefix)-1], "null")
	}
	if err := l.checkTreeArrays(tree, prefix); err != nil {
		return compiledTree{}, err
	}
	n := len(tree.LeftChildren)
	numDeleted, err := l.paramInt(prefix+"tree_param.num_deleted", tree.Params.NumDeleted, 0)
	if err != nil {
		return compiledTree{}, err
	}
	isDeleted := func(i int) bool {
		return tree.SplitIndices[i] == deletedSplitIndex && bool(tree.DefaultLeft[i])
	}

	// Breadth-first from the root: order[p] is the original index of the
	// node at position p, and the children of a split get two adjacent
	// positions when it is reached. Reaching a node twice means a cycle or
	// a shared child.
	order := make([]int, 1, n)
	depth := make([]int, 1, n)
	reached := make([]bool, n)
	reached[0] = true
	out := compiledTree{nodes: make([]node, 0, n)}
	covers := make([]float64, 0, n)
	for p := 0; p < len(order); p++ {
		i := order[p]
		field := func(name string) string { return fmt.Sprintf("%s%s[%d]", prefix, name, i) }
		if isDeleted(i) {
			return compiledTree{}, l.errorf(field("split_indices"), "node %d is marked deleted but is reachable from the root", i)
		}
		if len(tree.SplitType) > 0 && tree.SplitType[i] != 0 {
			return compiledTree{}, l.errorf(field("split_type"), "%d: categorical splits are not supported", tree.SplitType[i])
		}
		value, cover := tree.SplitConditions[i], float64(tree.SumHessian[i])
		if isNonFinite(float64(value)) {
			return compiledTree{}, l.errorf(field("split_conditions"), "%v is not a finite number", value)
		}
		if isNonFinite(cover) || cover < 0 {
			return compiledTree{}, l.errorf(field("sum_hessian"), "%v: a cover is a finite, non-negative number", cover)
		}
		left, right := tree.LeftChildren[i], tree.RightChildren[i]
		if left == -1 {
			if right != -1 {
				return compiledTree{}, l.errorf(field("right_children"), "%d, but the node is a leaf (left child -1)", right)
			}
			self := base + int32(p)
			out.nodes = append(out.nodes, node{threshold: leafThreshold, left: self, value: value})
			covers = append(covers, cover)
			out.depth = max(out.depth, depth[p])
			continue
		}
		if cover == 0 {
			return compiledTree{}, l.errorf(field("sum_hessian"), "0 at a split: its branches cannot be weighted")
		}
		feature := tree.SplitIndices[i]
		if feature < 0 || feature >= int64(numFeature) {
			return compiledTree{}, l.errorf(field("split_indices"), "%d is not a feature index (the model has %d features)", feature, numFeature)
		}
		for _, child := range [2]struct {
			name  string
			index int64
		}{{"left_children", left}, {"right_children", right}} {
			if child.index <= 0 || child.index >= int64(n) {
				return compiledTree{}, l.errorf(field(child.name), "%d is not a node of this tree (it has %d, the root 0 being no one's child)", child.index, n)
			}
			if reached[child.index] {
				return compiledTree{}, l.errorf(field(child.name), "node %d is reached twice: the tree has a cycle or a shared node", child.index)
			}
			reached[child.index] = true
		}
		if depth[p]+1 > MaxTreeDepth {
			return compiledTree{}, l.errorf(prefix+"left_children", "deeper than %d levels", MaxTreeDepth)
		}
		if value == 0 {
			value = 0 // -0 is +0, as fillInput makes the inputs
		}
		out.nodes = append(out.nodes, node{
			threshold: orderKey(value),
			slot:      slotOf(toSchema[feature], bool(tree.DefaultLeft[i]), len(l.features)),
			left:      base + int32(len(order)),
		})
		covers = append(covers, cover)
		order = append(order, int(left), int(right))
		depth = append(depth, depth[p]+1, depth[p]+1)
	}

	unreachable := 0
	for i, ok := range reached {
		if ok {
			continue
		}
		if !isDeleted(i) {
			return compiledTree{}, l.errorf(fmt.Sprintf("%sleft_children", prefix), "node %d is unreachable from the root and not marked deleted", i)
		}
		unreachable++
	}
	if unreachable != numDeleted {
		return compiledTree{}, l.errorf(prefix+"tree_param.num_deleted", "%d, but %d nodes are deleted", numDeleted, unreachable)
	}
	out.expectedValue = expectedValue(out.nodes, covers, base)
	out.coverShares = coverShares(out.nodes, covers, base)
	return out, nil
}

// checkTreeArrays checks that the per-node arrays agree in length with
// num_nodes, and that the tree has scalar leaves and no categories.
func (l *loader) checkTreeArrays(tree *jsonTree, prefix string) error {
	numNodes, err := l.paramInt(prefix+"tree_param.num_nodes", tree.Params.NumNodes, len(tree.LeftChildren))
	if err != nil {
		return err
	}
	if numNodes < 1 {
		return l.errorf(prefix+"tree_param.num_nodes", "%d: a tree has at least one node", numNodes)
	}
	leafSize, err := l.paramInt(prefix+"tree_param.size_leaf_vector", tree.Params.SizeLeafVector, 0)
	if err != nil {
		return err
	}
	if leafSize > 1 {
		return l.errorf(prefix+"tree_param.size_leaf_vector", "%d: vector leaves (multi-output) are not supported", leafSize)
	}
	lengths := []struct {
		name string
		n    int
	}{
		{"left_children", len(tree.LeftChildren)},
		{"right_children", len(tree.RightChildren)},
		{"split_indices", len(tree.SplitIndices)},
		{"split_conditions", len(tree.SplitConditions)},
		{"default_left", len(tree.DefaultLeft)},
		{"sum_hessian", len(tree.SumHessian)},
	}
	if tree.SplitType != nil { // absent before XGBoost 1.3
		lengths = append(lengths, struct {
			name string
			n    int
		}{"split_type", len(tree.SplitType)})
	}
	for _, a := range lengths {
		if a.n != numNodes {
			return l.errorf(prefix+a.name, "%d entries, but tree_param.num_nodes is %d", a.n, numNodes)
		}
	}
	if len(tree.Categories) > 0 || len(tree.CategoriesNodes) > 0 {
		return l.errorf(prefix+"categories", "categorical splits are not supported")
	}
	return nil
}

// expectedValue is the tree's mean prediction over the training data, each
// leaf weighted by its cover, computed as XGBoost does: bottom up, each
// split's mean divided by its own cover.
func expectedValue(nodes []node, covers []float64, base int32) float64 {
	means := make([]float64, len(nodes))
	// Children always come after their parent in the layout.
	for p := len(nodes) - 1; p >= 0; p-- {
		n := nodes[p]
		left := n.left - base
		if left == int32(p) {
			means[p] = float64(n.value)
			continue
		}
		means[p] = (means[left]*covers[left] + means[left+1]*covers[left+1]) / covers[p]
	}
	return means[0]
}

// coverShares divides each node's cover by its parent's: the fraction of
// the training data that goes its way, which TreeSHAP multiplies by, once
// here rather than at every explanation.
func coverShares(nodes []node, covers []float64, base int32) []float64 {
	shares := make([]float64, len(nodes))
	shares[0] = 1
	for p, n := range nodes {
		if left := n.left - base; left != int32(p) {
			shares[left] = covers[left] / covers[p]
			shares[left+1] = covers[left+1] / covers[p]
		}
	}
	return shares
}

func isNonFinite(v float64) bool {
	return math.IsNaN(v) || math.IsInf(v, 0)
}

// schemaFile is input_schema.json.
type schemaFile struct {
	InputSchema *struct {
		Columns []struct {
			Name string   `json:"name"`
			Type string   `json:"type"`
			Min  *float64 `json:"min"`
			Max  *float64 `json:"max"`
		} `json:"columns"`
	} `json:"input_schema"`
}

func parseSchema(raw []byte, path string) ([]Feature, error) {
	decoder := json.NewDecoder(bytes.NewReader(raw))
	// A misspelt "mni" would otherwise silently drop a bound.
	decoder.DisallowUnknownFields()
	var file schemaFile
	if err := decoder.Decode(&file); err != nil {
		return nil, fmt.Errorf("input schema %s: %w", path, err)
	}
	if decoder.More() {
		return nil, fmt.Errorf("input schema %s: data after the JSON object", path)
	}
	if file.InputSchema == nil || len(file.InputSchema.Columns) == 0 {
		return nil, fmt.Errorf("input schema %s: input_schema.columns: missing or empty", path)
	}
	features := make([]Feature, 0, len(file.InputSchema.Columns))
	seen := make(map[string]bool, len(file.InputSchema.Columns))
	var problems []error
	for i, c := range file.InputSchema.Columns {
		fail := func(format string, args ...any) {
			problems = append(problems, fmt.Errorf("input schema %s: input_schema.columns[%d] %q: %s", path, i, c.Name, fmt.Sprintf(format, args...)))
		}
		switch {
		case c.Name == "":
			fail("the name is empty")
		case seen[c.Name]:
			fail("the name appears twice")
		}
		seen[c.Name] = true
		kind := FeatureType(c.Type)
		switch kind {
		case Numeric:
			if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
				fail("min %v is greater than max %v", *c.Min, *c.Max)
			}
		case Boolean:
			if c.Min != nil || c.Max != nil {
				fail("min and max apply to numeric columns; a boolean is 0 or 1")
			}
		default:
			fail("type %q: want %q or %q", c.Type, Numeric, Boolean)
		}
		features = append(features, Feature{Name: c.Name, Type: kind, Min: c.Min, Max: c.Max})
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return features, nil
}
