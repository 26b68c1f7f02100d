package runtime

import (
	"fmt"
	"sort"
	"unsafe"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// MaxOpset is the newest default-domain opset the runtime implements.
const MaxOpset = 22

// kernel is a node prepared for execution: its attributes parsed and its
// constant operands preprocessed. in has one entry per node input (nil
// where omitted), followed for control-flow nodes by the outer values
// their subgraphs read. run returns one tensor per node output it
// computes; each either has fresh storage from e.alloc or shares the
// whole storage of one of its inputs.
type kernel interface {
	run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error)
}

// kernelFunc adapts a function to kernel.
type kernelFunc func(e *env, in []*ir.Tensor) ([]*ir.Tensor, error)

func (f kernelFunc) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) { return f(e, in) }

// capturer is implemented by kernels whose subgraphs read outer values;
// those values are passed after the node's own inputs.
type capturer interface {
	captures() []*ir.Value
}

// buildCtx is what an op's builder sees.
type buildCtx struct {
	n     *ir.Node
	opset int64
	// visible reports whether a value is defined in an enclosing scope
	// (used to compile subgraphs).
	visible func(*ir.Value) bool
	// fused is the activation a Conv absorbs from its only reader.
	fused kernels.Fused
	// residual says the Conv also absorbs an Add: its kernel receives the
	// Add's other operand as an extra, last input.
	residual bool
	// constOf returns the value of v when it is fixed for every run, or
	// nil; EvalNode leaves it nil.
	constOf func(v *ir.Value) *ir.Tensor
}

// constInput returns the value of input i when it is fixed for every
// run, or nil. Kernels that prepare it must still check at run time that
// the input is that tensor.
func (b *buildCtx) constInput(i int) *ir.Tensor {
	if v := b.n.Input(i); v != nil && b.constOf != nil {
		return b.constOf(v)
	}
	return nil
}

// opDef describes one supported operator.
type opDef struct {
	since int64 // first opset whose semantics the builder implements
	build func(b *buildCtx) (kernel, error)
}

var opTable = map[string]opDef{}

func register(name string, since int64, build func(b *buildCtx) (kernel, error)) {
	if _, dup := opTable[name]; dup {
		panic("runtime: op " + name + " registered twice")
	}
	opTable[name] = opDef{since, build}
}

// simple registers an op whose kernel needs nothing prepared.
func simple(name string, since int64, f func(b *buildCtx) kernelFunc) {
	register(name, since, func(b *buildCtx) (kernel, error) { return f(b), nil })
}

// Supported reports whether the runtime can execute opType of domain
// under the given default-domain opset, with an error saying why not.
func Supported(domain, opType string, opset int64) error {
	if domain != "" && domain != "ai.onnx" {
		return unsupportedf("operator %s of domain %q is not supported (only the default domain is)", opType, domain)
	}
	d, ok := opTable[opType]
	if !ok {
		return unsupportedf("operator %s (opset %d) is not supported", opType, opset)
	}
	if opset > MaxOpset {
		return unsupportedf("operator %s at opset %d is not supported (newest supported opset is %d)", opType, opset, MaxOpset)
	}
	if opset < d.since {
		return unsupportedf("operator %s at opset %d is not supported (supported from opset %d)", opType, opset, d.since)
	}
	return nil
}

// SupportedOps returns the names of the supported default-domain
// operators, sorted.
func SupportedOps() []string {
	names := make([]string, 0, len(opTable))
	for n := range opTable {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// build prepares node n.
func build(n *ir.Node, opset int64, visible func(*ir.Value) bool) (kernel, error) {
	return buildWith(&buildCtx{n: n, opset: opset, visible: visible})
}

func buildWith(b *buildCtx) (kernel, error) {
	return opTable[b.n.OpType].build(b)
}

// EvalNode evaluates one node on the given inputs (one per node input,
// nil where omitted) under the default-domain opset. It is meant for
// constant folding: subgraphs may read only constant outer values. The
// result has one tensor per node output.
func EvalNode(n *ir.Node, inputs []*ir.Tensor, opset int64) ([]*ir.Tensor, error) {
	if n == nil {
		return nil, fmt.Errorf("runtime: EvalNode of a nil node")
	}
	if !littleEndian() {
		return nil, unsupportedf("runtime: big-endian hosts are not supported")
	}
	if err := Supported(n.Domain, n.OpType, opset); err != nil {
		return nil, &NodeError{Node: n.Name, Op: n.OpType, Err: err}
	}
	if len(inputs) != len(n.Inputs) {
		return nil, fmt.Errorf("runtime: node %q (%s): %d inputs given for %d", n.Name, n.OpType, len(inputs), len(n.Inputs))
	}
	for i, t := range inputs {
		if t == nil {
			if n.Inputs[i] != nil {
				return nil, fmt.Errorf("runtime: node %q (%s): input %d is missing", n.Name, n.OpType, i)
			}
			continue
		}
		if err := t.Check(); err != nil {
			return nil, fmt.Errorf("runtime: node %q (%s): input %d: %v", n.Name, n.OpType, i, err)
		}
	}
	k, err := build(n, opset, nil)
	if err != nil {
		return nil, &NodeError{Node: n.Name, Op: n.OpType, Opset: opset, Err: err}
	}
	ins := inputs
	if c, ok := k.(capturer); ok {
		ins = append([]*ir.Tensor{}, inputs...)
		for _, v := range c.captures() {
			if v.Const == nil {
				return nil, fmt.Errorf("runtime: node %q (%s): subgraph reads non-constant %q", n.Name, n.OpType, v.Name)
			}
			ins = append(ins, v.Const)
		}
	}
	outs, err := runKernel(k, newEnv(nil, 1), ins)
	if err != nil {
		return nil, &NodeError{Node: n.Name, Op: n.OpType, Err: err}
	}
	if len(outs) > len(n.Outputs) {
		outs = outs[:len(n.Outputs)]
	}
	for len(outs) < len(n.Outputs) {
		outs = append(outs, nil)
	}
	return outs, nil
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// needInputs checks that the first lo inputs are present.
func needInputs(in []*ir.Tensor, lo int) error {
	if len(in) < lo {
		return fmt.Errorf("needs at least %d inputs, has %d", lo, len(in))
	}
	for i := 0; i < lo; i++ {
		if in[i] == nil {
			return fmt.Errorf("input %d is required", i)
		}
	}
	return nil
}

// normAxis maps a possibly negative axis into [0, rank).
// normAxes normalises a list of axes that must be distinct.
func normAxes(axes []int64, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make([]bool, rank)
	for i, a := range axes {
		k, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, fmt.Errorf("axis %d repeats", a)
		}
		seen[k] = true
		out[i] = k
	}
	return out, nil
}

func normAxis(axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}
