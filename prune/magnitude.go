package prune

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/nncc/nncc/ir"
)

// ErrOption marks an option value out of range (a usage error).
var ErrOption = errors.New("prune: bad option")

// MagnitudeOptions select which weights Magnitude zeroes.
type MagnitudeOptions struct {
	// Sparsity is the fraction of the selected layers' weights to zero,
	// in [0, 1); negative means unset. Exactly one of Sparsity and
	// Threshold must be set.
	Sparsity float64
	// Threshold zeroes every weight with |w| < Threshold; negative means
	// unset.
	Threshold float64
	// Global ranks all selected weights together (one threshold for the
	// model); otherwise every layer loses the same fraction.
	Global bool
	// Exclude names nodes to leave dense.
	Exclude []string
	// KeepFirstLast leaves the first and the last prunable layer dense.
	KeepFirstLast bool
	// PerLayer, when set, overrides Sparsity for the named layers (the
	// sensitivity search uses it); layers absent from it are left dense.
	PerLayer map[string]float64
}

// LayerSparsity is one layer's entry in a pruning report.
type LayerSparsity struct {
	Layer    string  `json:"layer"`
	OpType   string  `json:"op_type"`
	Weights  int64   `json:"weights"`
	Zeros    int64   `json:"zeros"`
	Sparsity float64 `json:"sparsity"`
}

// Mask records, per pruned layer, which weight elements must stay zero.
type Mask map[*ir.Node][]bool

// Validate checks the options.
func (o *MagnitudeOptions) Validate() error {
	if o.PerLayer != nil {
		for k, s := range o.PerLayer {
			if !(s >= 0 && s < 1) {
				return fmt.Errorf("%w: sparsity %v for layer %s is outside [0, 1)", ErrOption, s, k)
			}
		}
		return nil
	}
	hasS, hasT := o.Sparsity >= 0, o.Threshold >= 0
	switch {
	case hasS && hasT:
		return fmt.Errorf("%w: give sparsity or threshold, not both", ErrOption)
	case !hasS && !hasT:
		return fmt.Errorf("%w: give sparsity (a fraction in [0, 1)) or threshold (|w| below it is zeroed)", ErrOption)
	case hasS && !(o.Sparsity < 1):
		return fmt.Errorf("%w: sparsity %v is outside [0, 1)", ErrOption, o.Sparsity)
	case math.IsNaN(o.Sparsity) || math.IsNaN(o.Threshold) || math.IsInf(o.Threshold, 0):
		return fmt.Errorf("%w: sparsity and threshold must be finite numbers", ErrOption)
	}
	return nil
}

// Selected returns the layers Magnitude would prune under o.
func (o *MagnitudeOptions) Selected(g *ir.Graph, skip func(n *ir.Node, why string)) []Layer {
	ls := Layers(g, skip)
	excl := map[string]bool{}
	for _, e := range o.Exclude {
		excl[e] = true
	}
	var out []Layer
	for i, l := range ls {
		switch {
		case excl[l.Node.Name] || excl[l.Name()]:
			continue
		case o.KeepFirstLast && (i == 0 || i == len(ls)-1):
			continue
		case o.PerLayer != nil:
			if _, ok := o.PerLayer[l.Name()]; !ok {
				continue
			}
		}
		out = append(out, l)
	}
	return out
}

// Magnitude zeroes the smallest-magnitude weights of the selected layers
// of m's main graph, writing new weight tensors (a weight read by
// several layers is pruned once, with its first reader). It returns the
// mask of zeroed elements per layer and a per-layer report.
func Magnitude(m *ir.Model, o MagnitudeOptions, skip func(n *ir.Node, why string)) (Mask, []LayerSparsity, error) {
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	g := m.Graph
	layers := o.Selected(g, skip)
	seen := map[*ir.Value]bool{}
	var uniq []Layer
	for _, l := range layers {
		v := l.Node.Inputs[l.Weight]
		if seen[v] {
			continue
		}
		seen[v] = true
		uniq = append(uniq, l)
	}
	thr := make([]float32, len(uniq)) // zero |w| < thr, plus ties to reach the count
	cut := make([]int, len(uniq))     // how many elements to zero (-1: by threshold only)
	switch {
	case o.PerLayer != nil || (o.Sparsity >= 0 && !o.Global):
		for i, l := range uniq {
			s := o.Sparsity
			if o.PerLayer != nil {
				s = o.PerLayer[l.Name()]
			}
			n := len(l.Node.Inputs[l.Weight].Const.Float32View())
			cut[i] = int(math.Round(s * float64(n)))
		}
	case o.Sparsity >= 0:
		var all []float32
		for _, l := range uniq {
			for _, x := range l.Node.Inputs[l.Weight].Const.Float32View() {
				all = append(all, abs32(x))
			}
		}
		k := int(math.Round(o.Sparsity * float64(len(all))))
		if k == 0 {
			for i := range cut {
				cut[i] = 0
			}
			break
		}
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		t := all[k-1]
		// Elements strictly below t go; of those equal to t, just enough
		// to reach k, taken from the first layers.
		below := sort.Search(len(all), func(i int) bool { return all[i] >= t })
		ties := k - below
		for i, l := range uniq {
			n := 0
			eq := 0
			for _, x := range l.Node.Inputs[l.Weight].Const.Float32View() {
				switch a := abs32(x); {
				case a < t:
					n++
				case a == t:
					eq++
				}
			}
			take := min(eq, ties)
			ties -= take
			cut[i] = n + take
		}
	default:
		for i := range uniq {
			thr[i] = float32(o.Threshold)
			cut[i] = -1
		}
	}
	mask := Mask{}
	var rep []LayerSparsity
	for i, l := range uniq {
		v := l.Node.Inputs[l.Weight]
		w := v.Const.Float32View()
		zero := make([]bool, len(w))
		if cut[i] >= 0 {
			idx := make([]int, len(w))
			for j := range idx {
				idx[j] = j
			}
			sort.SliceStable(idx, func(a, b int) bool { return abs32(w[idx[a]]) < abs32(w[idx[b]]) })
			for _, j := range idx[:cut[i]] {
				zero[j] = true
			}
		} else {
			for j, x := range w {
				zero[j] = abs32(x) < thr[i]
			}
		}
		out := make([]float32, len(w))
		var z int64
		for j, x := range w {
			if zero[j] {
				z++
				continue
			}
			out[j] = x
			if x == 0 {
				z++
			}
		}
		v.Const = ir.FromFloat32(v.Const.Dims, out)
		for _, l2 := range layers {
			if l2.Node.Inputs[l2.Weight] == v {
				mask[l2.Node] = zero
			}
		}
		rep = append(rep, LayerSparsity{Layer: l.Name(), OpType: l.Node.OpType, Weights: int64(len(w)), Zeros: z, Sparsity: float64(z) / float64(max(len(w), 1))})
	}
	return mask, rep, nil
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
