package runtime

import (
	"fmt"

	"github.com/nncc/nncc/ir"
)

// Table steps: DequantizeLinear(x_q) → element-wise operators →
// QuantizeLinear(y_q), where every operator reads only x, values of the
// chain and scalar constants (MobileNetV3's hard-swish,
// x·HardSigmoid(x)), map each of the 256 byte values of x_q to one byte
// of y_q. The chain is evaluated once, at session build, node by node
// on the 256 values with the nodes' own kernels, so the table holds
// exactly the bytes the unfused graph computes (the element-wise
// kernels round the same for every element, see fuse_chain.go), and the
// step is a byte lookup.

// lutOps are the operators a table chain may hold: element-wise, the
// same arithmetic for every element.
var lutOps = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true,
	"Relu": true, "Clip": true, "Sigmoid": true, "HardSigmoid": true, "HardSwish": true,
	"LeakyRelu": true, "Tanh": true, "Neg": true, "Abs": true,
}

// lutMaxNodes bounds the chains matched.
const lutMaxNodes = 8

// qlutStep maps each byte of an 8-bit tensor through a table.
type qlutStep struct {
	xdt, ydt ir.DType
	table    [256]byte
}

// lut matches a table chain from DequantizeLinear node d.
func (f *fuser) lut(d *ir.Node) (*ir.Node, kernel, []*ir.Node) {
	if len(d.Inputs) < 2 || d.Inputs[0] == nil || f.constOf(d.Inputs[0]) != nil {
		return nil, nil, nil
	}
	xp, ok := f.params(d)
	if !ok || !xp.perTensor() || (xp.dt != ir.Uint8 && xp.dt != ir.Int8) {
		return nil, nil, nil
	}
	a := d.Outputs[0]
	// Collect the readers reachable from a up to the QuantizeLinear.
	in := map[*ir.Node]bool{}
	var nodes []*ir.Node
	var q *ir.Node
	frontier := []*ir.Value{a}
	for len(frontier) > 0 {
		v := frontier[0]
		frontier = frontier[1:]
		for _, u := range f.ix.Uses[v] {
			r := u.Node
			if r == nil || u.Index < 0 || f.gone[r] || !isDefaultDomain(r) {
				return nil, nil, nil // a graph output, a subgraph capture, or taken
			}
			if in[r] || r == q {
				continue
			}
			if r.OpType == "QuantizeLinear" {
				if q != nil || v == a || u.Index != 0 {
					return nil, nil, nil
				}
				q = r
				continue
			}
			if !lutOps[r.OpType] || len(r.Outputs) != 1 || r.Outputs[0] == nil || len(nodes) == lutMaxNodes {
				return nil, nil, nil
			}
			in[r] = true
			nodes = append(nodes, r)
			frontier = append(frontier, r.Outputs[0])
		}
	}
	if q == nil || len(nodes) == 0 || len(q.Outputs) != 1 || q.Outputs[0] == nil {
		return nil, nil, nil
	}
	yp, ok := f.params(q)
	if !ok || !yp.perTensor() || (yp.dt != ir.Uint8 && yp.dt != ir.Int8) {
		return nil, nil, nil
	}
	// Every operand is x, a chain value or a scalar constant.
	vals := map[*ir.Value]bool{a: true}
	for _, n := range nodes {
		vals[n.Outputs[0]] = true
	}
	for _, n := range nodes {
		for _, v := range n.Inputs {
			if v == nil || vals[v] {
				continue
			}
			c := f.constOf(v)
			if c == nil || c.NumElements() != 1 || len(c.Dims) > 1 {
				return nil, nil, nil
			}
		}
	}
	if !vals[q.Inputs[0]] || q.Inputs[0] == a {
		return nil, nil, nil
	}
	table, err := f.lutTable(d, nodes, q, xp.dt)
	if err != nil {
		return nil, nil, nil
	}
	k := &qlutStep{xdt: xp.dt, ydt: yp.dt, table: table}
	absorbed := append(append([]*ir.Node{d}, nodes...), q)
	syn := &ir.Node{Name: q.Name, OpType: "QDQTable", Inputs: []*ir.Value{d.Inputs[0]}, Outputs: []*ir.Value{q.Outputs[0]}}
	return syn, k, absorbed
}

// lutTable evaluates d, then nodes (in dependency order), then q on the
// 256 byte values of type dt.
func (f *fuser) lutTable(d *ir.Node, nodes []*ir.Node, q *ir.Node, dt ir.DType) ([256]byte, error) {
	var table [256]byte
	x := ir.NewTensor(dt, 256)
	for i := range x.Data {
		x.Data[i] = byte(i)
	}
	got := map[*ir.Value]*ir.Tensor{d.Inputs[0]: x}
	eval := func(n *ir.Node) (bool, error) {
		ins := make([]*ir.Tensor, len(n.Inputs))
		for i, v := range n.Inputs {
			if v == nil {
				continue
			}
			if t := got[v]; t != nil {
				ins[i] = t
			} else if c := f.constOf(v); c != nil {
				ins[i] = c
			} else {
				return false, nil // not ready
			}
		}
		outs, err := EvalNode(n, ins, f.opset)
		if err != nil {
			return false, err
		}
		if len(outs) < 1 || outs[0] == nil {
			return false, fmt.Errorf("%s gave no output", n.OpType)
		}
		got[n.Outputs[0]] = outs[0]
		return true, nil
	}
	if ok, err := eval(d); !ok || err != nil {
		return table, fmt.Errorf("dequantize: %v", err)
	}
	left := append([]*ir.Node(nil), nodes...)
	for len(left) > 0 {
		progress := false
		for i := 0; i < len(left); i++ {
			ok, err := eval(left[i])
			if err != nil {
				return table, err
			}
			if ok {
				left = append(left[:i], left[i+1:]...)
				i--
				progress = true
			}
		}
		if !progress {
			return table, fmt.Errorf("chain has no order")
		}
	}
	if ok, err := eval(q); !ok || err != nil {
		return table, fmt.Errorf("quantize: %v", err)
	}
	y := got[q.Outputs[0]]
	if len(y.Data) != 256 || y.DType != ir.Uint8 && y.DType != ir.Int8 {
		return table, fmt.Errorf("table of %d %s values", len(y.Data), y.DType)
	}
	copy(table[:], y.Data)
	return table, nil
}

func (k *qlutStep) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != k.xdt {
		return nil, fmt.Errorf("quantised input is %s, want %s", x.DType, k.xdt)
	}
	y, err := e.alloc(k.ydt, x.Dims)
	if err != nil {
		return nil, err
	}
	t := &k.table
	dst, src := y.Data[:len(x.Data)], x.Data
	i := 0
	for ; i+8 <= len(src); i += 8 {
		s := src[i : i+8 : i+8]
		d := dst[i : i+8 : i+8]
		d[0], d[1], d[2], d[3] = t[s[0]], t[s[1]], t[s[2]], t[s[3]]
		d[4], d[5], d[6], d[7] = t[s[4]], t[s[5]], t[s[6]], t[s[7]]
	}
	for ; i < len(src); i++ {
		dst[i] = t[src[i]]
	}
	return []*ir.Tensor{y}, nil
}
