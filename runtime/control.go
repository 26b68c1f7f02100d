package runtime

import (
	"fmt"
	"slices"

	"github.com/nncc/nncc/ir"
)

// Control flow: If runs one of two subgraphs, which may read values of
// the enclosing graphs.

func init() {
	register("If", 1, buildIf)
}

type ifKernel struct {
	then, els *plan
	caps      []*ir.Value       // union of both branches' captures, sorted
	capIndex  map[*ir.Value]int // position in caps
}

func buildIf(b *buildCtx) (kernel, error) {
	tg, eg := b.n.Attr("then_branch"), b.n.Attr("else_branch")
	if tg == nil || tg.G == nil || eg == nil || eg.G == nil {
		return nil, fmt.Errorf("then_branch and else_branch are required")
	}
	k := &ifKernel{capIndex: map[*ir.Value]int{}}
	var err error
	if k.then, err = compile(tg.G, b.opset, b.visible); err != nil {
		return nil, fmt.Errorf("then_branch: %w", err)
	}
	if k.els, err = compile(eg.G, b.opset, b.visible); err != nil {
		return nil, fmt.Errorf("else_branch: %w", err)
	}
	for _, p := range []*plan{k.then, k.els} {
		if len(p.bound) > 0 {
			return nil, fmt.Errorf("If branches take no inputs")
		}
		if len(p.outputs) != len(b.n.Outputs) {
			return nil, fmt.Errorf("branch %q has %d outputs, the node %d", p.g.Name, len(p.outputs), len(b.n.Outputs))
		}
		for _, v := range p.captures {
			if _, ok := k.capIndex[v]; !ok {
				k.capIndex[v] = -1
				k.caps = append(k.caps, v)
			}
		}
	}
	slices.SortFunc(k.caps, func(a, b *ir.Value) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	for i, v := range k.caps {
		k.capIndex[v] = i
	}
	return k, nil
}

func (k *ifKernel) captures() []*ir.Value { return k.caps }

func (k *ifKernel) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	nin := len(in) - len(k.caps)
	if nin < 1 || in[0] == nil {
		return nil, fmt.Errorf("condition is missing")
	}
	c := in[0]
	if c.DType != ir.Bool || numel(c.Dims) != 1 {
		return nil, fmt.Errorf("condition must be a single bool, is %s%v", c.DType, c.Dims)
	}
	p := k.els
	if c.Data[0] != 0 {
		p = k.then
	}
	bound := make([]*ir.Tensor, len(p.captures))
	for i, v := range p.captures {
		bound[i] = in[nin+k.capIndex[v]]
	}
	return p.run(e, bound)
}
