package model

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// checkSupported refuses the XGBoost versions, objectives and boosters
// this package does not evaluate exactly: it would predict them wrongly.
func (l *loader) checkSupported(version []int, learner *jsonLearner) error {
	if major := version[0]; major < 1 || major > 3 {
		return l.errorf("version", "%v: only models saved by XGBoost 1.x to 3.x are supported", version)
	}
	if name := learner.Objective.Name; name != "binary:logistic" {
		return l.errorf("learner.objective.name", "%q: only binary:logistic is supported", name)
	}
	if name := learner.Booster.Name; name != "gbtree" {
		return l.errorf("learner.gradient_booster.name", "%q: only gbtree is supported", name)
	}
	return nil
}

// checkSingleOutput refuses multi-class and multi-output models: a
// Prediction holds one probability.
func (l *loader) checkSingleOutput(params *learnerModelParam) error {
	numClass, err := l.paramInt("learner.learner_model_param.num_class", params.NumClass, 0)
	if err != nil {
		return err
	}
	if numClass > 1 {
		return l.errorf("learner.learner_model_param.num_class", "%d: multi-class models are not supported", numClass)
	}
	numTarget, err := l.paramInt("learner.learner_model_param.num_target", params.NumTarget, 1)
	if err != nil {
		return err
	}
	if numTarget > 1 {
		return l.errorf("learner.learner_model_param.num_target", "%d: multi-output models are not supported", numTarget)
	}
	return nil
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

// numFeature reads num_feature, which has no default: split indices are
// checked against it, and the schema is bound to it.
func (l *loader) numFeature(value *flexString) (int, error) {
	const field = "learner.learner_model_param.num_feature"
	if value == nil {
		return 0, l.errorf(field, "missing")
	}
	return l.paramInt(field, value, 0)
}

// checkFeatureTypes refuses categorical features: their splits test set
// membership, which the compiled trees cannot express.
func (l *loader) checkFeatureTypes(types []string) error {
	for i, t := range types {
		if t == "c" {
			return l.errorf(fmt.Sprintf("learner.feature_types[%d]", i), "%q: categorical features are not supported", t)
		}
	}
	return nil
}

// joinVersion writes XGBoost's version array the way its releases are
// named, [2, 0, 3] as 2.0.3.
func joinVersion(version []int) string {
	parts := make([]string, len(version))
	for i, v := range version {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ".")
}
