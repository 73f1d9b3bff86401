package model

import (
	"fmt"
	"math"
)

// MaxTreeDepth bounds the depth of a tree: TreeSHAP's scratch space grows
// with its square. XGBoost's depth-wise trees are far shallower.
const MaxTreeDepth = 256

// newModel starts the Model with what does not depend on the trees, the
// features and the base margin; compileTrees adds the trees.
func (l *loader) newModel(baseScore float64) *Model {
	m := &Model{
		features:   l.features,
		featureIdx: make(map[string]int, len(l.features)),
		baseMargin: baseMargin(float32(baseScore)),
	}
	for i, f := range l.features {
		m.featureIdx[f.Name] = i
	}
	return m
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
			return 0, l.errorf(forestField+"trees", "too many nodes")
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
	prefix := fmt.Sprintf("%strees[%d].", forestField, t)
	if tree == nil {
		return compiledTree{}, l.errorf(prefix[:len(prefix)-1], "null")
	}
	if err := l.checkTreeArrays(tree, prefix); err != nil {
		return compiledTree{}, err
	}
	numDeleted, err := l.paramInt(prefix+"tree_param.num_deleted", tree.Params.NumDeleted, 0)
	if err != nil {
		return compiledTree{}, err
	}
	c := treeCompiler{loader: *l, tree: tree, prefix: prefix, numFeature: numFeature, toSchema: toSchema, base: base}
	// reached[i] is whether node i has a place in the layout.
	reached := make([]bool, len(tree.LeftChildren))
	out, err := c.layOut(reached)
	if err != nil {
		return compiledTree{}, err
	}
	if err := c.checkUnreached(reached, numDeleted); err != nil {
		return compiledTree{}, err
	}
	return out, nil
}

// treeCompiler is what compileTree's steps share about one tree, so that
// each kind of node is checked by a function of its own. Its errors make
// everything it points to escape to the heap, so it holds a copy of the
// loader, not a pointer, and the slices the steps fill are passed to them:
// held here, they would cost Load allocations that the stack now saves.
type treeCompiler struct {
	loader
	tree       *jsonTree
	prefix     string // the tree's field, ending in a dot
	numFeature int
	toSchema   []int32
	base       int32
}

// field names node i's entry in one of the tree's arrays.
func (c *treeCompiler) field(name string, i int) string {
	return fmt.Sprintf("%s%s[%d]", c.prefix, name, i)
}

func (c *treeCompiler) isDeleted(i int) bool {
	return c.tree.SplitIndices[i] == deletedSplitIndex && bool(c.tree.DefaultLeft[i])
}

// layOut places the nodes breadth-first from the root, the two children of
// a split at adjacent positions when it is reached, as step expects.
func (c *treeCompiler) layOut(reached []bool) (compiledTree, error) {
	n := len(reached)
	// order[p] is the original index of the node at position p.
	order := make([]int, 1, n)
	depth := make([]int, 1, n)
	reached[0] = true
	out := compiledTree{nodes: make([]node, 0, n)}
	covers := make([]float64, 0, n)
	for p := 0; p < len(order); p++ {
		i := order[p]
		value, cover, err := c.checkNode(i)
		if err != nil {
			return compiledTree{}, err
		}
		if c.tree.LeftChildren[i] == -1 {
			if err := c.checkLeaf(i); err != nil {
				return compiledTree{}, err
			}
			// Its own left child: a walk that reached it stays there.
			self := c.base + int32(p)
			out.nodes = append(out.nodes, node{threshold: leafThreshold, left: self, value: value})
			covers = append(covers, cover)
			out.depth = max(out.depth, depth[p])
			continue
		}
		slot, err := c.checkSplit(reached, i, cover, depth[p])
		if err != nil {
			return compiledTree{}, err
		}
		if value == 0 {
			value = 0 // -0 is +0, as fillInput makes the inputs
		}
		out.nodes = append(out.nodes, node{
			threshold: orderKey(value),
			slot:      slot,
			left:      c.base + int32(len(order)),
		})
		covers = append(covers, cover)
		order = append(order, int(c.tree.LeftChildren[i]), int(c.tree.RightChildren[i]))
		depth = append(depth, depth[p]+1, depth[p]+1)
	}
	out.expectedValue = expectedValue(out.nodes, covers, c.base)
	out.coverShares = coverShares(out.nodes, covers, c.base)
	return out, nil
}

// checkNode checks what a reached node must be, leaf or split, and returns
// its value (a leaf's weight or a split's threshold) and its cover.
func (c *treeCompiler) checkNode(i int) (float32, float64, error) {
	if c.isDeleted(i) {
		return 0, 0, c.errorf(c.field("split_indices", i), "node %d is marked deleted but is reachable from the root", i)
	}
	if len(c.tree.SplitType) > 0 && c.tree.SplitType[i] != 0 {
		return 0, 0, c.errorf(c.field("split_type", i), "%d: categorical splits are not supported", c.tree.SplitType[i])
	}
	value, cover := c.tree.SplitConditions[i], float64(c.tree.SumHessian[i])
	if isNonFinite(float64(value)) {
		return 0, 0, c.errorf(c.field("split_conditions", i), "%v is not a finite number", value)
	}
	if isNonFinite(cover) || cover < 0 {
		return 0, 0, c.errorf(c.field("sum_hessian", i), "%v: a cover is a finite, non-negative number", cover)
	}
	return value, cover, nil
}

// checkLeaf checks that leaf i, its left child -1, has no right child
// either: XGBoost marks a leaf with both.
func (c *treeCompiler) checkLeaf(i int) error {
	if right := c.tree.RightChildren[i]; right != -1 {
		return c.errorf(c.field("right_children", i), "%d, but the node is a leaf (left child -1)", right)
	}
	return nil
}

// checkSplit checks split i, at depth, marks its children reached and
// returns the slot its feature is read from.
func (c *treeCompiler) checkSplit(reached []bool, i int, cover float64, depth int) (int32, error) {
	if cover == 0 {
		return 0, c.errorf(c.field("sum_hessian", i), "0 at a split: its branches cannot be weighted")
	}
	feature := c.tree.SplitIndices[i]
	if feature < 0 || feature >= int64(c.numFeature) {
		return 0, c.errorf(c.field("split_indices", i), "%d is not a feature index (the model has %d features)", feature, c.numFeature)
	}
	if err := c.reach(reached, i, "left_children", c.tree.LeftChildren[i]); err != nil {
		return 0, err
	}
	if err := c.reach(reached, i, "right_children", c.tree.RightChildren[i]); err != nil {
		return 0, err
	}
	if depth+1 > MaxTreeDepth {
		return 0, c.errorf(c.prefix+"left_children", "deeper than %d levels", MaxTreeDepth)
	}
	return slotOf(c.toSchema[feature], bool(c.tree.DefaultLeft[i]), len(c.features)), nil
}

// reach marks child, which node i's array name gives, as reached, refusing
// it when it is no node, the root, or already reached: the nodes must form
// a tree for the walk to end.
func (c *treeCompiler) reach(reached []bool, i int, name string, child int64) error {
	n := int64(len(reached))
	if child <= 0 || child >= n {
		return c.errorf(c.field(name, i), "%d is not a node of this tree (it has %d, the root 0 being no one's child)", child, n)
	}
	if reached[child] {
		return c.errorf(c.field(name, i), "node %d is reached twice: the tree has a cycle or a shared node", child)
	}
	reached[child] = true
	return nil
}

// checkUnreached checks that the nodes the layout did not reach are exactly
// those pruning deleted, numDeleted of them: any other is a damaged file.
func (c *treeCompiler) checkUnreached(reached []bool, numDeleted int) error {
	unreachable := 0
	for i, ok := range reached {
		if ok {
			continue
		}
		if !c.isDeleted(i) {
			return c.errorf(fmt.Sprintf("%sleft_children", c.prefix), "node %d is unreachable from the root and not marked deleted", i)
		}
		unreachable++
	}
	if unreachable != numDeleted {
		return c.errorf(c.prefix+"tree_param.num_deleted", "%d, but %d nodes are deleted", numDeleted, unreachable)
	}
	return nil
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
