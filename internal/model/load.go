package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
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

// load reads the files from fsys; dir, when set, is only what errors call
// them, so that they name the files the operator gave.
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
	m, err := l.build(modelBytes)
	if err != nil {
		return nil, err
	}
	if m.info.Reference, err = loadReference(fsys, dir, features); err != nil {
		return nil, err
	}
	return m, nil
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

// build checks the learner before it decodes the trees: another booster
// keeps other things there, and a model of a kind this package does not
// evaluate is better refused for that than for a tree it cannot read.
func (l *loader) build(raw []byte) (*Model, error) {
	file, err := l.decode(raw)
	if err != nil {
		return nil, err
	}
	learner := file.Learner
	if err := l.checkSupported(file.Version, learner); err != nil {
		return nil, err
	}
	if err := l.checkSingleOutput(&learner.Params); err != nil {
		return nil, err
	}
	baseScore, err := l.baseScore(learner.Params.BaseScore)
	if err != nil {
		return nil, err
	}
	numFeature, err := l.numFeature(learner.Params.NumFeature)
	if err != nil {
		return nil, err
	}
	toSchema, err := l.bindFeatures(learner.FeatureNames, numFeature)
	if err != nil {
		return nil, err
	}
	if err := l.checkFeatureTypes(learner.FeatureTypes); err != nil {
		return nil, err
	}
	booster, perRound, err := l.readForest(learner.Booster.Model)
	if err != nil {
		return nil, err
	}
	used, bestIteration, err := l.usedTrees(learner.Attributes, len(booster.Trees), perRound)
	if err != nil {
		return nil, err
	}

	m := l.newModel(baseScore)
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

// decode parses raw, refusing JSON that lacks what every XGBoost model
// has, so that a wrong file is called that rather than reported by the
// first field it happens to lack.
func (l *loader) decode(raw []byte) (*xgboostModel, error) {
	var file xgboostModel
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("model %s: not an XGBoost JSON model: %w", l.path, err)
	}
	if file.Learner == nil {
		return nil, l.errorf("learner", "missing: not an XGBoost JSON model")
	}
	if len(file.Version) == 0 {
		return nil, l.errorf("version", "missing: not an XGBoost JSON model")
	}
	return &file, nil
}
