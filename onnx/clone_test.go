package onnx_test

import (
	"bytes"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

// A clone encodes to the same bytes as its original, and rewriting the
// clone (values, nodes, attributes, subgraphs) leaves the original as it
// was.
func TestModelCloneIsIndependent(t *testing.T) {
	for _, path := range []string{"../testmodels/digits_cnn.onnx", "../passes/testdata/models/decoder.onnx"} {
		m, err := onnx.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := onnx.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		c := m.Clone()
		got, err := onnx.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: the clone encodes differently", path)
		}
		for _, n := range c.Graph.Nodes {
			n.Name += "_x"
			for _, v := range n.Outputs {
				v.Name += "_x"
				if v.Type != nil && len(v.Type.Shape) > 0 {
					v.Type.Shape[0] = ir.Dim{Value: 99}
				}
			}
			for _, a := range n.Attrs {
				if len(a.Ints) > 0 {
					a.Ints[0]++
				}
			}
		}
		c.Graph.Inputs[0].Name = "renamed"
		c.Graph.Nodes = c.Graph.Nodes[:1]
		after, err := onnx.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(after, want) {
			t.Errorf("%s: rewriting the clone changed the original", path)
		}
	}
}
