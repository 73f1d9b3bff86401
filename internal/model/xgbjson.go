package model

import (
	"encoding/json"
	"fmt"
)

// xgboostModel is the part of XGBoost's JSON model format that prediction
// needs; the rest (training statistics, parameters) is ignored.
type xgboostModel struct {
	Version []int        `json:"version"`
	Learner *jsonLearner `json:"learner"`
}

// jsonLearner is learner: what the model predicts and how.
//
// It and learnerModelParam alias unnamed struct types, not define new ones,
// because encoding/json writes the type into its errors, which Load passes
// on: a defined type would change those errors.
type jsonLearner = struct {
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
	Params learnerModelParam `json:"learner_model_param"`
}

// learnerModelParam is learner.learner_model_param. Its fields are
// pointers because an absent parameter means something else than any
// value written.
type learnerModelParam = struct {
	BaseScore  *flexString `json:"base_score"`
	NumFeature *flexString `json:"num_feature"`
	NumClass   *flexString `json:"num_class"`
	NumTarget  *flexString `json:"num_target"`
}

// gbtreeModel is learner.gradient_booster.model of a gbtree booster.
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

// jsonTree is one tree as XGBoost writes it: one array per node attribute,
// indexed by node number.
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
