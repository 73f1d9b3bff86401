package model

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// forestField prefixes the fields of the gbtree booster's model.
const forestField = "learner.gradient_booster.model."

// readForest decodes a gbtree booster's model, now that the learner says it
// is one, and checks its trees as a whole. It returns how many trees make
// one boosting round.
func (l *loader) readForest(raw json.RawMessage) (*gbtreeModel, int, error) {
	var booster gbtreeModel
	if err := json.Unmarshal(raw, &booster); err != nil {
		return nil, 0, l.errorf("learner.gradient_booster.model", "%v", err)
	}
	perRound, err := l.checkForest(&booster)
	if err != nil {
		return nil, 0, err
	}
	return &booster, perRound, nil
}

// checkForest checks the trees as a whole and returns how many trees make
// one boosting round.
func (l *loader) checkForest(b *gbtreeModel) (int, error) {
	if len(b.Trees) == 0 {
		return 0, l.errorf(forestField+"trees", "no trees")
	}
	numTrees, err := l.paramInt(forestField+"gbtree_model_param.num_trees", b.Params.NumTrees, len(b.Trees))
	if err != nil {
		return 0, err
	}
	if numTrees != len(b.Trees) {
		return 0, l.errorf(forestField+"gbtree_model_param.num_trees", "%d, but there are %d trees", numTrees, len(b.Trees))
	}
	leafSize, err := l.paramInt(forestField+"gbtree_model_param.size_leaf_vector", b.Params.SizeLeafVector, 0)
	if err != nil {
		return 0, err
	}
	if leafSize > 1 {
		return 0, l.errorf(forestField+"gbtree_model_param.size_leaf_vector", "%d: vector leaves (multi-output) are not supported", leafSize)
	}
	if len(b.TreeInfo) != len(b.Trees) {
		return 0, l.errorf(forestField+"tree_info", "%d entries for %d trees", len(b.TreeInfo), len(b.Trees))
	}
	for i, group := range b.TreeInfo {
		if group != 0 {
			return 0, l.errorf(fmt.Sprintf("%stree_info[%d]", forestField, i), "%d: trees of more than one output group (multi-class) are not supported", group)
		}
	}
	perRound, err := l.paramInt(forestField+"gbtree_model_param.num_parallel_tree", b.Params.NumParallelTree, 1)
	if err != nil {
		return 0, err
	}
	if perRound < 1 || len(b.Trees)%perRound != 0 {
		return 0, l.errorf(forestField+"gbtree_model_param.num_parallel_tree", "%d does not divide the %d trees into boosting rounds", perRound, len(b.Trees))
	}
	if err := l.checkIterationIndptr(b.IterationIndptr, len(b.Trees), perRound); err != nil {
		return 0, err
	}
	return perRound, nil
}

// checkIterationIndptr checks where XGBoost 2.0 on says each boosting
// round's trees start against the rounds of perRound trees that
// num_parallel_tree makes: early stopping counts on the latter.
func (l *loader) checkIterationIndptr(indptr []int64, numTrees, perRound int) error {
	if indptr == nil {
		return nil
	}
	// With one output group, rounds of num_parallel_tree trees each.
	rounds := numTrees / perRound
	if len(indptr) != rounds+1 {
		return l.errorf(forestField+"iteration_indptr", "%d entries for %d boosting rounds", len(indptr), rounds)
	}
	for i, start := range indptr {
		if start != int64(i*perRound) {
			return l.errorf(fmt.Sprintf("%siteration_indptr[%d]", forestField, i), "%d: want %d for rounds of %d trees", start, i*perRound, perRound)
		}
	}
	return nil
}

// usedTrees is how many trees, from the first, predict: those of the
// boosting rounds up to best_iteration when early stopping saved one, as
// XGBoost's scikit-learn wrapper uses them. bestIteration is nil when it
// did not.
func (l *loader) usedTrees(attributes map[string]string, numTrees, perRound int) (used int, bestIteration *int, err error) {
	text, ok := attributes["best_iteration"]
	if !ok {
		return numTrees, nil, nil
	}
	best, err := strconv.Atoi(text)
	rounds := numTrees / perRound
	if err != nil || best < 0 || best >= rounds {
		return 0, nil, l.errorf("learner.attributes.best_iteration", "%q: want a boosting round from 0 to %d", text, rounds-1)
	}
	return (best + 1) * perRound, &best, nil
}
