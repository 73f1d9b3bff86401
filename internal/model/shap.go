package model

// This file computes exact path-dependent TreeSHAP values (Lundberg, Erion
// and Lee, "Consistent Individualized Feature Attribution for Tree
// Ensembles", 2018, Algorithm 2) the way XGBoost's pred_contribs does: a
// branch is weighted by its share of its parent's cover (sum_hessian), and
// the "hot" branch, the one the input takes, is decided exactly as in
// prediction, a missing value taking the default branch.

// pathElement is one feature on the path from the root to the current node,
// with the fraction of the training data (zero) and of the input (one)
// flowing down it, and the permutation weight of subsets of that size.
type pathElement struct {
	feature int32 // -1 for the placeholder the root starts with
	zero    float64
	one     float64
	weight  float64
}

// pathBufferLen is enough space for a tree of the given depth: at depth d
// the path holds at most d+1 elements (the root's placeholder and one per
// split above), and the paths of every level down to it are stacked.
func pathBufferLen(depth int) int {
	return (depth + 1) * (depth + 2) / 2
}

// Explain returns the TreeSHAP contributions of each feature to the margin
// of x (features in the schema's order, NaN for missing), in log-odds, equal
// to XGBoost's pred_contribs=True.
//
// x must have one value per feature, as Validate returns it: any other
// length is a programming error and panics.
func (m *Model) Explain(x []float64) Explanation {
	m.mustFit(x)
	s := m.scratch.Get().(*scratch)
	defer m.scratch.Put(s)
	fillInput(s.keys, x)
	walk := shapWalk{model: m, keys: s.keys, contributions: make([]float64, len(m.features))}
	for _, root := range m.roots {
		walk.visit(root, nil, s.path, 1, 1, -1)
	}
	return Explanation{Contributions: walk.contributions, Bias: m.bias}
}

// shapWalk holds what stays the same through one input's recursion.
type shapWalk struct {
	model         *Model
	keys          []int32 // as fillInput writes them
	contributions []float64
}

// visit extends the parent's path with the split that led to node i (on
// feature, with the given fractions) and credits the features on the path
// when i is a leaf. free is unused scratch space for this level and below.
func (w *shapWalk) visit(i int32, parent, free []pathElement, zero, one float64, feature int32) {
	if zero == 0 && one == 0 {
		// A branch that neither the training data nor the input reaches
		// carries no weight: skipping it also avoids dividing by its
		// fractions.
		return
	}
	inv := w.model.reciprocals
	path := free[:len(parent)+1]
	copy(path, parent)
	free = free[len(path):]
	extendPath(path, zero, one, feature, inv)

	nodes, shares := w.model.nodes, w.model.coverShares
	n := &nodes[i]
	if n.left == i {
		for k := 1; k < len(path); k++ {
			e := &path[k]
			w.contributions[e.feature] += unwind(path, k, inv, false) * (e.one - e.zero) * float64(n.value)
		}
		return
	}

	split := w.model.featureOf(n.slot)
	hot := step(nodes, w.keys, i)
	cold := 2*n.left + 1 - hot // the other child
	// A feature split on again higher up is undone first, so that it is
	// counted once, with the fractions of both splits combined.
	incomingZero, incomingOne := 1.0, 1.0
	for k := 1; k < len(path); k++ {
		if path[k].feature == split {
			incomingZero, incomingOne = path[k].zero, path[k].one
			path = removePathElement(path, k, inv)
			break
		}
	}
	w.visit(hot, path, free, shares[hot]*incomingZero, incomingOne, split)
	w.visit(cold, path, free, shares[cold]*incomingZero, 0, split)
}

// extendPath makes the last element of path the split on feature and
// updates the permutation weights for the longer path. inv[n] is 1/n: the
// weights need many divisions by small integers, which multiplications by
// their reciprocals make several times faster.
func extendPath(path []pathElement, zero, one float64, feature int32, inv []float64) {
	d := len(path) - 1
	path[d] = pathElement{feature: feature, zero: zero, one: one}
	if d == 0 {
		path[d].weight = 1
	}
	invSize := inv[d+1]
	for k := d - 1; k >= 0; k-- {
		path[k+1].weight += one * path[k].weight * float64(k+1) * invSize
		path[k].weight = zero * path[k].weight * float64(d-k) * invSize
	}
}

// unwind computes the permutation weights of path without element k,
// undoing extendPath, and returns their total. With store it writes them
// into path[:len(path)-1]; the caller then removes element k.
func unwind(path []pathElement, k int, inv []float64, store bool) float64 {
	d := len(path) - 1
	one, zero := path[k].one, path[k].zero
	next := path[d].weight
	total := 0.0
	switch {
	case one != 0:
		scale := float64(d+1) / one
		for j := d - 1; j >= 0; j-- {
			w := next * scale * inv[j+1]
			next = path[j].weight - w*zero*float64(d-j)*inv[d+1]
			total += w
			if store {
				path[j].weight = w
			}
		}
	case zero != 0:
		scale := float64(d+1) / zero
		for j := d - 1; j >= 0; j-- {
			w := path[j].weight * scale * inv[d-j]
			total += w
			if store {
				path[j].weight = w
			}
		}
	}
	return total
}

// removePathElement unwinds element k out of path and returns the shorter
// path.
func removePathElement(path []pathElement, k int, inv []float64) []pathElement {
	unwind(path, k, inv, true)
	d := len(path) - 1
	for j := k; j < d; j++ {
		path[j].feature, path[j].zero, path[j].one = path[j+1].feature, path[j+1].zero, path[j+1].one
	}
	return path[:d]
}
