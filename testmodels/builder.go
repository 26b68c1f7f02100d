// Package testmodels holds the models nncc is tested on: a builder for
// small graphs used by unit tests, and trained models (see README.md in
// this directory) that tests load from disk.
package testmodels

import (
	"fmt"

	"github.com/nncc/nncc/ir"
)

// Builder assembles a small model. Node outputs are named after the node
// ("n3_out0") unless named explicitly with NodeN.
type Builder struct {
	m     *ir.Model
	g     *ir.Graph
	count int
}

// NewBuilder starts a model importing the default domain at opset.
func NewBuilder(name string, opset int64) *Builder {
	g := &ir.Graph{Name: name}
	return &Builder{
		m: &ir.Model{IRVersion: 8, Opsets: []ir.OpsetImport{{Domain: "", Version: opset}}, ProducerName: "nncc-testmodels", Graph: g},
		g: g,
	}
}

// Graph returns the graph being built.
func (b *Builder) Graph() *ir.Graph { return b.g }

// Input adds a float32 graph input with known dims.
func (b *Builder) Input(name string, dt ir.DType, dims ...int64) *ir.Value {
	v := &ir.Value{Name: name, Type: ir.TensorType(dt, dims...)}
	b.g.Inputs = append(b.g.Inputs, v)
	return v
}

// InputShape adds a graph input with an arbitrary (e.g. symbolic) shape.
func (b *Builder) InputShape(name string, dt ir.DType, shape ir.Shape) *ir.Value {
	v := &ir.Value{Name: name, Type: &ir.Type{Kind: ir.KindTensor, DType: dt, HasShape: true, Shape: shape}}
	b.g.Inputs = append(b.g.Inputs, v)
	return v
}

// Const adds a constant (initializer).
func (b *Builder) Const(name string, t *ir.Tensor) *ir.Value {
	return b.g.AddConst(name, t)
}

// F32 adds a float32 constant with the given dims and data.
func (b *Builder) F32(name string, dims []int64, data []float32) *ir.Value {
	if int64(len(data)) != ir.NumElements(dims) {
		panic(fmt.Sprintf("testmodels: %d values for dims %v", len(data), dims))
	}
	return b.Const(name, ir.FromFloat32(dims, data))
}

// I64 adds an int64 constant with the given dims and data.
func (b *Builder) I64(name string, dims []int64, data []int64) *ir.Value {
	return b.Const(name, ir.FromInt64(dims, data))
}

// Node adds a node with one output and returns that output.
func (b *Builder) Node(op string, inputs []*ir.Value, attrs ...*ir.Attribute) *ir.Value {
	return b.NodeN(op, inputs, 1, attrs...)[0]
}

// NodeN adds a node with nout outputs and returns them.
func (b *Builder) NodeN(op string, inputs []*ir.Value, nout int, attrs ...*ir.Attribute) []*ir.Value {
	name := fmt.Sprintf("n%d_%s", b.count, op)
	b.count++
	n := &ir.Node{Name: name, OpType: op, Inputs: inputs, Attrs: attrs}
	for i := 0; i < nout; i++ {
		n.Outputs = append(n.Outputs, &ir.Value{Name: fmt.Sprintf("%s_out%d", name, i)})
	}
	b.g.Nodes = append(b.g.Nodes, n)
	return n.Outputs
}

// Output marks values as graph outputs.
func (b *Builder) Output(vs ...*ir.Value) {
	b.g.Outputs = append(b.g.Outputs, vs...)
}

// Model returns the model built so far.
func (b *Builder) Model() *ir.Model { return b.m }
