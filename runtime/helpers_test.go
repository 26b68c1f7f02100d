package runtime

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/testmodels"
)

func init() { poisonFreed = true }

// run builds a session for m, runs it and fails the test on error.
func run(t *testing.T, m *ir.Model, inputs map[string]*ir.Tensor) map[string]*ir.Tensor {
	t.Helper()
	s, err := NewSession(m, Options{Threads: 1})
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	out, err := s.Run(inputs)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out
}

// single builds a one-node model at opset with the given graph inputs
// (tensors become graph inputs named in0, in1, …; nil inputs are
// omitted) and returns the node's outputs.
func single(t *testing.T, opset int64, op string, nout int, ins []*ir.Tensor, attrs ...*ir.Attribute) []*ir.Tensor {
	t.Helper()
	m, feeds := singleModel(opset, op, nout, ins, attrs...)
	out := run(t, m, feeds)
	res := make([]*ir.Tensor, nout)
	for i, v := range m.Graph.Outputs {
		res[i] = out[v.Name]
	}
	return res
}

func singleModel(opset int64, op string, nout int, ins []*ir.Tensor, attrs ...*ir.Attribute) (*ir.Model, map[string]*ir.Tensor) {
	b := testmodels.NewBuilder("t", opset)
	feeds := map[string]*ir.Tensor{}
	vals := make([]*ir.Value, len(ins))
	for i, t := range ins {
		if t == nil {
			continue
		}
		name := "in" + string(rune('0'+i))
		vals[i] = b.Input(name, t.DType, t.Dims...)
		feeds[name] = t
	}
	outs := b.NodeN(op, vals, nout, attrs...)
	b.Output(outs...)
	return b.Model(), feeds
}

// run1 runs m once, returning any error.
func run1(m *ir.Model, feeds map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	s, err := NewSession(m, Options{})
	if err != nil {
		return nil, err
	}
	return s.Run(feeds)
}

// singleErr is single expecting an error from NewSession or Run that
// contains want.
func singleErr(t *testing.T, opset int64, op string, ins []*ir.Tensor, want string, attrs ...*ir.Attribute) {
	t.Helper()
	m, feeds := singleModel(opset, op, 1, ins, attrs...)
	_, err := run1(m, feeds)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %v, want one containing %q", op, err, want)
	}
}

func f32(dims []int64, v ...float32) *ir.Tensor { return ir.FromFloat32(dims, v) }
func i64(dims []int64, v ...int64) *ir.Tensor   { return ir.FromInt64(dims, v) }
func dims(d ...int64) []int64                   { return d }

func randF32(rng *rand.Rand, d ...int64) *ir.Tensor {
	v := make([]float32, ir.NumElements(d))
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return ir.FromFloat32(d, v)
}

// wantF32 checks a float tensor's dims and values within tol (absolute
// plus the same relative).
func wantF32(t *testing.T, got *ir.Tensor, d []int64, want []float64, tol float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("missing output")
	}
	if !sameDims(got.Dims, d) {
		t.Fatalf("dims %v, want %v", got.Dims, d)
	}
	g := got.Float64s()
	if len(g) != len(want) {
		t.Fatalf("%d values, want %d", len(g), len(want))
	}
	for i := range want {
		if math.Abs(g[i]-want[i]) > tol*(1+math.Abs(want[i])) || math.IsNaN(g[i]) != math.IsNaN(want[i]) {
			t.Fatalf("element %d = %v, want %v (all: %v, want %v)", i, g[i], want[i], g, want)
		}
	}
}

// wantInts checks an integer or bool tensor exactly.
func wantInts(t *testing.T, got *ir.Tensor, dt ir.DType, d []int64, want ...int64) {
	t.Helper()
	if got.DType != dt || !sameDims(got.Dims, d) {
		t.Fatalf("got %s%v, want %s%v", got.DType, got.Dims, dt, d)
	}
	g := got.Int64s()
	for i := range want {
		if g[i] != want[i] {
			t.Fatalf("got %v, want %v", g, want)
		}
	}
}
