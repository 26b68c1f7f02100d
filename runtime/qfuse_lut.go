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
// step is a byte lookup. A chain that ends in a float value read by
// other operators (MobileNetV3's hard-swish before a squeeze-excitation,
// which the quantize pass leaves in float) becomes a lookup into 256
// float32 values instead: the DequantizeLinear and the chain's passes
// become one.

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
	// Collect the readers reachable from a up to the QuantizeLinear (or,
	// for a float table, the one chain value read outside the chain).
	in := map[*ir.Node]bool{}
	var nodes []*ir.Node
	var q *ir.Node
	var exit *ir.Value
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
			if !lutOps[r.OpType] || len(r.Outputs) != 1 || r.Outputs[0] == nil || !f.chainOperands(r, d) {
				if v == a || exit != nil && exit != v {
					return nil, nil, nil
				}
				exit = v // read outside the chain
				continue
			}
			if len(nodes) == lutMaxNodes {
				return nil, nil, nil
			}
			in[r] = true
			nodes = append(nodes, r)
			frontier = append(frontier, r.Outputs[0])
		}
	}
	if len(nodes) == 0 || q != nil && exit != nil {
		return nil, nil, nil
	}
	if q == nil {
		return f.lutFloat(d, nodes, exit, xp.dt, vals(a, nodes))
	}
	if len(q.Outputs) != 1 || q.Outputs[0] == nil {
		return nil, nil, nil
	}
	yp, ok := f.params(q)
	if !ok || !yp.perTensor() || (yp.dt != ir.Uint8 && yp.dt != ir.Int8) {
		return nil, nil, nil
	}
	vs := vals(a, nodes)
	if !f.scalarOperands(nodes, vs) || !vs[q.Inputs[0]] || q.Inputs[0] == a {
		return nil, nil, nil
	}
	got, err := f.lutEval(d, nodes, q, xp.dt)
	if err != nil {
		return nil, nil, nil
	}
	y := got[q.Outputs[0]]
	if y == nil || len(y.Data) != 256 || y.DType != ir.Uint8 && y.DType != ir.Int8 {
		return nil, nil, nil
	}
	var table [256]byte
	copy(table[:], y.Data)
	k := &qlutStep{xdt: xp.dt, ydt: yp.dt, table: table}
	absorbed := append(append([]*ir.Node{d}, nodes...), q)
	syn := &ir.Node{Name: q.Name, OpType: "QDQTable", Inputs: []*ir.Value{d.Inputs[0]}, Outputs: []*ir.Value{q.Outputs[0]}}
	return syn, k, absorbed
}

// chainOperands reports whether every operand of r could belong to a
// chain from d: d's output, a scalar constant or a value computed from
// those by element-wise operators (a few levels deep).
func (f *fuser) chainOperands(r, d *ir.Node) bool {
	return f.derived(r, d, lutMaxNodes)
}

func (f *fuser) derived(r, d *ir.Node, depth int) bool {
	if depth == 0 {
		return false
	}
	for _, v := range r.Inputs {
		if v == nil {
			continue
		}
		if c := f.constOf(v); c != nil {
			if c.NumElements() != 1 || len(c.Dims) > 1 {
				return false
			}
			continue
		}
		p := f.ix.Producer[v]
		if p == d {
			continue
		}
		if p == nil || !lutOps[p.OpType] || !f.derived(p, d, depth-1) {
			return false
		}
	}
	return true
}

// vals returns the set of a and the nodes' outputs.
func vals(a *ir.Value, nodes []*ir.Node) map[*ir.Value]bool {
	vs := map[*ir.Value]bool{a: true}
	for _, n := range nodes {
		vs[n.Outputs[0]] = true
	}
	return vs
}

// scalarOperands reports whether every operand of nodes is in vs or a
// scalar constant.
func (f *fuser) scalarOperands(nodes []*ir.Node, vs map[*ir.Value]bool) bool {
	for _, n := range nodes {
		for _, v := range n.Inputs {
			if v == nil || vs[v] {
				continue
			}
			c := f.constOf(v)
			if c == nil || c.NumElements() != 1 || len(c.Dims) > 1 {
				return false
			}
		}
	}
	return true
}

// lutFloat builds the float table step of a chain from d whose value
// exit is read outside it.
func (f *fuser) lutFloat(d *ir.Node, nodes []*ir.Node, exit *ir.Value, dt ir.DType, vs map[*ir.Value]bool) (*ir.Node, kernel, []*ir.Node) {
	if exit == nil || !f.scalarOperands(nodes, vs) {
		return nil, nil, nil
	}
	// Only exit may be read outside the chain.
	for _, n := range nodes {
		if v := n.Outputs[0]; v != exit {
			for _, u := range f.ix.Uses[v] {
				if u.Node == nil || len(u.Node.Outputs) == 0 || u.Node.Outputs[0] == nil || !vs[u.Node.Outputs[0]] {
					return nil, nil, nil
				}
			}
		}
	}
	got, err := f.lutEval(d, nodes, nil, dt)
	if err != nil {
		return nil, nil, nil
	}
	y := got[exit]
	if y == nil || y.DType != ir.Float32 || len(y.Data) != 4*256 {
		return nil, nil, nil
	}
	k := &qlutFloatStep{xdt: dt}
	copy(k.table[:], view[float32](y))
	// The chain nodes whose outputs only the chain reads are absorbed;
	// exit's producer is replaced by the step.
	absorbed := append([]*ir.Node{d}, nodes...)
	syn := &ir.Node{Name: d.Name, OpType: "QDQTable", Inputs: []*ir.Value{d.Inputs[0]}, Outputs: []*ir.Value{exit}}
	return syn, k, absorbed
}

// qlutFloatStep maps each byte of an 8-bit tensor to a float32.
type qlutFloatStep struct {
	xdt   ir.DType
	table [256]float32
}

func (k *qlutFloatStep) run(e *env, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := needInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != k.xdt {
		return nil, fmt.Errorf("quantised input is %s, want %s", x.DType, k.xdt)
	}
	y, err := e.alloc(ir.Float32, x.Dims)
	if err != nil {
		return nil, err
	}
	t := &k.table
	dst := view[float32](y)[:len(x.Data)]
	for i, b := range x.Data {
		dst[i] = t[b]
	}
	return []*ir.Tensor{y}, nil
}

// lutEval evaluates d, then nodes (in dependency order), then q unless
// nil on the 256 byte values of type dt, and returns every value.
func (f *fuser) lutEval(d *ir.Node, nodes []*ir.Node, q *ir.Node, dt ir.DType) (map[*ir.Value]*ir.Tensor, error) {
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
		return nil, fmt.Errorf("dequantize: %v", err)
	}
	left := append([]*ir.Node(nil), nodes...)
	for len(left) > 0 {
		progress := false
		for i := 0; i < len(left); i++ {
			ok, err := eval(left[i])
			if err != nil {
				return nil, err
			}
			if ok {
				left = append(left[:i], left[i+1:]...)
				i--
				progress = true
			}
		}
		if !progress {
			return nil, fmt.Errorf("chain has no order")
		}
	}
	if q != nil {
		if ok, err := eval(q); !ok || err != nil {
			return nil, fmt.Errorf("quantize: %v", err)
		}
	}
	return got, nil
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
