package runtime

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nncc/nncc/ir"
)

func init() {
	register("Einsum", 12, buildEinsum)
}

// einsumSpec is a parsed equation: one label list per input and the
// output's labels. Ellipses become the labels '0'…'9' (right-aligned, so
// they broadcast like numpy).
type einsumSpec struct {
	inputs []string
	output string
}

func parseEinsum(eq string, ranks []int) (*einsumSpec, error) {
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(ranks) {
		return nil, fmt.Errorf("equation %q has %d terms for %d inputs", eq, len(terms), len(ranks))
	}
	ell := 0 // ellipsis rank
	sp := &einsumSpec{}
	for i, t := range terms {
		labels, err := expandEllipsis(t, ranks[i])
		if err != nil {
			return nil, fmt.Errorf("term %q: %w", t, err)
		}
		for _, c := range labels {
			if c >= '0' && c <= '9' {
				ell = max(ell, int(c-'0')+1)
			}
		}
		sp.inputs = append(sp.inputs, labels)
	}
	if explicit {
		if strings.Contains(rhs, "...") {
			rhs = strings.Replace(rhs, "...", ellLabels(ell), 1)
		}
		sp.output = rhs
	} else {
		// Implicit output: the ellipsis, then labels used once, sorted.
		count := map[rune]int{}
		for _, t := range sp.inputs {
			for _, c := range t {
				count[c]++
			}
		}
		var once []string
		for c, n := range count {
			if n == 1 && !(c >= '0' && c <= '9') {
				once = append(once, string(c))
			}
		}
		sort.Strings(once)
		sp.output = ellLabels(ell) + strings.Join(once, "")
	}
	for _, c := range sp.output {
		if !strings.ContainsRune(strings.Join(sp.inputs, ""), c) {
			return nil, fmt.Errorf("output label %q appears in no input", c)
		}
	}
	return sp, nil
}

// ellLabels returns the placeholder labels of an ellipsis of rank n
// (right-aligned: the last ellipsis dimension is always '0').
func ellLabels(n int) string {
	var b strings.Builder
	for i := n - 1; i >= 0; i-- {
		b.WriteByte(byte('0' + i))
	}
	return b.String()
}

func expandEllipsis(t string, rank int) (string, error) {
	for _, c := range strings.ReplaceAll(t, "...", "") {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "", fmt.Errorf("invalid label %q", c)
		}
	}
	if !strings.Contains(t, "...") {
		if len(t) != rank {
			return "", fmt.Errorf("%d labels for rank %d", len(t), rank)
		}
		return t, nil
	}
	n := rank - (len(t) - 3)
	if n < 0 || n > 10 {
		return "", fmt.Errorf("ellipsis does not fit rank %d", rank)
	}
	return strings.Replace(t, "...", ellLabels(n), 1), nil
}

func buildEinsum(b *buildCtx) (kernel, error) {
	eq := b.n.AttrString("equation", "")
	if eq == "" {
		return nil, fmt.Errorf("equation is required")
	}
	return kernelFunc(func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if len(in) == 0 {
			return nil, fmt.Errorf("needs at least one input")
		}
		ranks := make([]int, len(in))
		dt := in[0].DType
		for i, t := range in {
			if t == nil || t.DType != dt {
				return nil, fmt.Errorf("inputs must be present and of one type")
			}
			ranks[i] = len(t.Dims)
		}
		if !numeric(dt) && !isHalf(dt) {
			return nil, errType(dt)
		}
		sp, err := parseEinsum(eq, ranks)
		if err != nil {
			return nil, err
		}
		// Sizes per label; 1 broadcasts against any size.
		size := map[rune]int64{}
		for i, t := range sp.inputs {
			for k, c := range t {
				d := in[i].Dims[k]
				if s, ok := size[c]; ok && s != d && s != 1 && d != 1 {
					return nil, fmt.Errorf("label %q has sizes %d and %d", c, s, d)
				} else if !ok || s == 1 {
					size[c] = d
				}
			}
		}
		var labels []rune // output labels, then summed ones
		for _, c := range sp.output {
			labels = append(labels, c)
		}
		for c := range size {
			if !strings.ContainsRune(sp.output, c) {
				labels = append(labels, c)
			}
		}
		sort.Slice(labels[len(sp.output):], func(i, j int) bool {
			return labels[len(sp.output)+i] < labels[len(sp.output)+j]
		})
		pos := map[rune]int{}
		dims := make([]int64, len(labels))
		for i, c := range labels {
			pos[c] = i
			dims[i] = size[c]
		}
		outDims := dims[:len(sp.output)]
		if ir.NumElements(dims) < 0 || ir.NumElements(dims) > maxTensorBytes {
			return nil, fmt.Errorf("einsum iteration space %v is too large", dims)
		}
		// Per input, the stride each label contributes (0 where the input
		// lacks the label or broadcasts it).
		strideOf := make([][]int, len(in))
		vals := make([][]float64, len(in))
		for i, t := range sp.inputs {
			st := strides(in[i].Dims)
			s := make([]int, len(labels))
			for k, c := range t {
				if in[i].Dims[k] != 1 {
					s[pos[c]] += st[k]
				}
			}
			strideOf[i] = s
			vals[i] = in[i].Float64s()
		}
		nOut := numel(outDims)
		inner := numel(dims[len(sp.output):])
		// A direct sum over the whole iteration space (output labels
		// outermost, so each output element's terms are contiguous).
		res := make([]float64, nOut)
		forEachIndex(dims, func(flat int, c []int) {
			p := 1.0
			for i := range in {
				off := 0
				for k, v := range c {
					off += v * strideOf[i][k]
				}
				p *= vals[i][off]
			}
			res[flat/max(inner, 1)] += p
		})
		y, err := fromFloat64s(e, dt, outDims, res)
		return []*ir.Tensor{y}, err
	}), nil
}
