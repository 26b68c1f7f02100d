package runtime

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

// TestHostileInputs feeds every conformance model the runtime supports
// with mutated inputs (other shapes, empty tensors, extreme integers) and
// requires an ordinary result or an ordinary error: a kernel that panics
// shows as an "internal error", which fails the test.
func TestHostileInputs(t *testing.T) {
	entries, err := os.ReadDir(conformanceDir)
	if err != nil {
		t.Skipf("conformance data not installed: %v", err)
	}
	defer func(n int64) { maxLoopIterations = n }(maxLoopIterations)
	maxLoopIterations = 1000 // mutated trip counts would otherwise run for minutes
	rng := rand.New(rand.NewSource(42))
	runs := 0
	for _, ent := range entries {
		dir := filepath.Join(conformanceDir, ent.Name())
		m, err := onnx.Load(filepath.Join(dir, "model.onnx"))
		if err != nil || !allSupported(m) {
			continue
		}
		// Accept any input shape and type.
		var free []*ir.Value
		for _, v := range m.Graph.Inputs {
			if v.Const == nil {
				free = append(free, v)
				v.Type = nil
			}
		}
		sess, err := NewSession(m, Options{Threads: 1})
		if err != nil {
			continue
		}
		base := map[string]*ir.Tensor{}
		for i, v := range free {
			in, _, err := onnx.ReadTensorFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)))
			if err != nil {
				break
			}
			base[v.Name] = in
		}
		if len(base) != len(free) {
			continue
		}
		for _, v := range free {
			for _, mut := range mutations(rng, base[v.Name]) {
				feeds := map[string]*ir.Tensor{}
				for k, t := range base {
					feeds[k] = t
				}
				feeds[v.Name] = mut
				runs++
				if _, err := sess.Run(feeds); err != nil && strings.Contains(err.Error(), "internal error") {
					t.Errorf("%s, input %s %s%v: %v", ent.Name(), v.Name, mut.DType, mut.Dims, err)
				}
			}
		}
	}
	t.Logf("%d hostile runs", runs)
}

func allSupported(m *ir.Model) bool {
	ok := true
	m.Graph.Walk(func(g *ir.Graph) {
		for _, n := range g.Nodes {
			if Supported(n.Domain, n.OpType, m.Opset("")) != nil {
				ok = false
			}
		}
	})
	for _, v := range append(append([]*ir.Value{}, m.Graph.Inputs...), m.Graph.Outputs...) {
		if v.Type != nil && v.Type.Kind != ir.KindTensor {
			ok = false
		}
	}
	return ok
}

// mutations returns variants of t: an empty first dimension, one more
// element along the last axis, a rank change, another element type and,
// for integers, extreme values.
func mutations(rng *rand.Rand, t *ir.Tensor) []*ir.Tensor {
	var out []*ir.Tensor
	filled := func(dt ir.DType, dims []int64, f func(i int) float64) *ir.Tensor {
		n := ir.NumElements(dims)
		if n < 0 || n > 1<<16 {
			return nil
		}
		x := ir.NewTensor(dt, dims...)
		v := make([]float64, n)
		for i := range v {
			v[i] = f(i)
		}
		if dt == ir.String || putFloat64s(x, v) != nil {
			return nil
		}
		return x
	}
	random := func(int) float64 { return float64(rng.Intn(7) - 3) }
	add := func(x *ir.Tensor) {
		if x != nil {
			out = append(out, x)
		}
	}
	if len(t.Dims) > 0 {
		d := cloneDims(t.Dims)
		d[0] = 0
		add(filled(t.DType, d, random))
		d = cloneDims(t.Dims)
		d[len(d)-1]++
		add(filled(t.DType, d, random))
		add(filled(t.DType, t.Dims[1:], random))
	}
	add(filled(t.DType, append(cloneDims(t.Dims), 2), random))
	other := ir.Int64
	if t.DType == ir.Int64 {
		other = ir.Float32
	}
	add(filled(other, t.Dims, random))
	if !t.DType.IsFloat() && numeric(t.DType) {
		add(filled(t.DType, t.Dims, func(i int) float64 {
			if i%2 == 0 {
				return 1 << 62
			}
			return -(1 << 62)
		}))
	}
	return out
}
