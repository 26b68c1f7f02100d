package ir

// InferFunc computes the output types of node n from its input types
// (ins[i] is nil where unknown or omitted). It may read constant inputs
// through n.Inputs[i].Const. opset is the default-domain version. It
// returns one type per output (nil where it cannot tell).
type InferFunc func(n *Node, ins []*Type, opset int64) ([]*Type, error)
