package gosrc

import (
	"fmt"
	"math"
	"strings"

	"github.com/nncc/nncc/ir"
)

// An ewLeaf is an array operand of a fused loop: a computed value, the
// anchor's result in the output buffer, or constant data.
type ewLeaf struct {
	buf    string
	dims   []int64 // right-aligned to the output's rank (per sample when scaled)
	scaled bool
	vary   []bool  // per collapsed dim
	stride []int64 // per collapsed dim
	level  int
	name   string
	byt    bool // 8-bit data, converted to float32 as it is loaded
	signed bool // int8 (else uint8)
}

// load is the float32 expression of the element e of l.
func (l *ewLeaf) load(e string) string {
	switch {
	case !l.byt:
		return e
	case l.signed:
		return "float32(int8(" + e + "))"
	}
	return "float32(" + e + ")"
}

// ewTerm is an operand of a member: a literal, a leaf or another member.
type ewTerm struct {
	lit  string
	leaf *ewLeaf
	node *ir.Node
}

// emitLoop emits one loop nest computing the members (in order; the last
// is the group's root) into out. cur, if not nil, is a value already in
// out (an anchor's result), read before each element is overwritten.
func (gn *gen) emitLoop(g *group, out string, cur *ir.Value, members []*ir.Node) error {
	a := gn.a
	O := a.vals[g.out()]
	r := len(O.dims)
	inSet := map[*ir.Value]*ir.Node{}
	for _, m := range members {
		inSet[m.Outputs[0]] = m
	}
	var leaves []*ewLeaf
	leafOf := map[*ir.Value]*ewLeaf{}
	align := func(d []int64) []int64 {
		full := make([]int64, r)
		for i := range full {
			full[i] = 1
		}
		copy(full[r-len(d):], d)
		return full
	}
	addLeaf := func(buf string, dims []int64, scaled bool) *ewLeaf {
		l := &ewLeaf{buf: buf, dims: align(dims), scaled: scaled, name: fmt.Sprintf("x%d", len(leaves))}
		leaves = append(leaves, l)
		return l
	}
	// constOperand returns a term for a constant: a literal if it has one
	// element, else a leaf with the given dims.
	constTerm := func(n *ir.Node, data []float32, dims []int64) ewTerm {
		if len(data) == 1 {
			return ewTerm{lit: flit(data[0])}
		}
		return ewTerm{leaf: addLeaf(wslice(gn.weights(data), len(data)), dims, false)}
	}
	term := func(n *ir.Node, v *ir.Value) (ewTerm, error) {
		if m := inSet[v]; m != nil {
			return ewTerm{node: m}, nil
		}
		if l := leafOf[v]; l != nil {
			return ewTerm{leaf: l}, nil
		}
		vi := a.vals[v]
		if vi.isStatic() {
			data, err := gn.constF32(n, v)
			if err != nil {
				return ewTerm{}, err
			}
			t := constTerm(n, data, vi.dims)
			if t.leaf != nil {
				leafOf[v] = t.leaf
			}
			return t, nil
		}
		if len(vi.dims) > r || !broadcastsTo(vi, O) {
			return ewTerm{}, unsupported(n, "operand %q of shape %v does not broadcast to %v", v.Name, vi.dims, O.dims)
		}
		buf := out
		if v != cur {
			buf = gn.buf(v)
		} else if gn.curBuf != "" {
			buf = gn.curBuf
		}
		l := addLeaf(buf, vi.dims, vi.scaled)
		if v != cur && gn.isByte(v) {
			l.byt, l.signed = true, gn.byteSigned(v)
		}
		leafOf[v] = l
		return ewTerm{leaf: l}, nil
	}
	// axisTerm places a per-axis constant (Q/DQ, BatchNormalization) on
	// axis ax of an input of rank rin.
	axisTerm := func(n *ir.Node, data []float32, rin, ax int) ewTerm {
		if len(data) == 1 {
			return ewTerm{lit: flit(data[0])}
		}
		d := make([]int64, rin)
		for i := range d {
			d[i] = 1
		}
		d[ax] = int64(len(data))
		return constTerm(n, data, d)
	}
	exprs := map[*ir.Node]func(t func(ewTerm) string) string{}
	opsOf := map[*ir.Node][]ewTerm{}
	for _, m := range members {
		var ops []ewTerm
		n := m
		rin := len(a.vals[n.Inputs[0]].dims)
		switch n.OpType {
		case "BatchNormalization":
			var p [4][]float32
			for i := range p {
				d, err := gn.constF32(n, n.Inputs[i+1])
				if err != nil {
					return err
				}
				p[i] = d
			}
			eps := float64(n.AttrFloat("epsilon", 1e-5))
			C := len(p[0])
			sc, bi := make([]float32, C), make([]float32, C)
			for c := 0; c < C; c++ {
				s := float64(p[0][c]) / math.Sqrt(float64(p[3][c])+eps)
				sc[c] = float32(s)
				bi[c] = float32(float64(p[1][c]) - float64(p[2][c])*s)
			}
			x, err := term(n, n.Inputs[0])
			if err != nil {
				return err
			}
			ops = []ewTerm{x, axisTerm(n, sc, rin, 1), axisTerm(n, bi, rin, 1)}
		case "QuantizeLinear", "DequantizeLinear":
			x, err := term(n, n.Inputs[0])
			if err != nil {
				return err
			}
			ax := int(n.AttrInt("axis", 1))
			if ax < 0 {
				ax += rin
			}
			sc, err := gn.constF32(n, n.Inputs[1])
			if err != nil {
				return err
			}
			zp := []float32{0}
			zdt := ir.Uint8
			if len(n.Inputs) > 2 && n.Inputs[2] != nil {
				if zp, err = gn.constF32(n, n.Inputs[2]); err != nil {
					return err
				}
				zdt = a.vals[n.Inputs[2]].dtype
			}
			if n.OpType == "QuantizeLinear" {
				lo, hi := "0.0", "255.0"
				switch zdt {
				case ir.Int8:
					lo, hi = "(-128.0)", "127.0"
				case ir.Uint8:
				case ir.Int32:
					lo, hi = "(-2147483648.0)", "2147483647.0"
				default:
					return unsupported(n, "quantization to %s", zdt)
				}
				ops = []ewTerm{x, axisTerm(n, sc, rin, ax), axisTerm(n, zp, rin, ax), {lit: lo}, {lit: hi}}
			} else {
				ops = []ewTerm{x, axisTerm(n, sc, rin, ax), axisTerm(n, zp, rin, ax)}
			}
		case "Clip":
			x, err := term(n, n.Inputs[0])
			if err != nil {
				return err
			}
			lo, hi, err := gn.clipBounds(n)
			if err != nil {
				return err
			}
			ops = []ewTerm{x, {lit: flit(lo)}, {lit: flit(hi)}}
		default:
			for _, v := range n.Inputs {
				if v == nil {
					continue
				}
				t, err := term(n, v)
				if err != nil {
					return err
				}
				ops = append(ops, t)
			}
		}
		f, err := gn.ewExpr(n, len(ops))
		if err != nil {
			return err
		}
		ops2 := ops
		opsOf[m] = ops
		exprs[m] = func(t func(ewTerm) string) string {
			s := make([]string, len(ops2))
			for i, o := range ops2 {
				s[i] = t(o)
			}
			return f(s)
		}
	}
	// Collapse dims: drop those of size 1, merge neighbours every operand
	// treats alike (all varying or all broadcast).
	type cdim struct {
		lo, hi int // original dims [lo, hi]
		size   int64
		scaled bool
	}
	varies := func(dims []int64, scaled bool, d int) bool {
		if d == 0 && O.scaled {
			return scaled
		}
		return dims[d] != 1 && dims[d] == O.dims[d]
	}
	type pat struct {
		dims   []int64
		scaled bool
	}
	var pats []pat
	for _, l := range leaves {
		pats = append(pats, pat{l.dims, l.scaled})
	}
	memberDims := map[*ir.Node][]int64{}
	for _, m := range members {
		vi := a.vals[m.Outputs[0]]
		d := align(vi.dims)
		memberDims[m] = d
		pats = append(pats, pat{d, vi.scaled})
	}
	var cd []cdim
	for d := 0; d < r; d++ {
		if O.dims[d] == 1 && !(d == 0 && O.scaled) {
			continue
		}
		if k := len(cd) - 1; k >= 0 {
			same := true
			for _, p := range pats {
				if varies(p.dims, p.scaled, d) != varies(p.dims, p.scaled, cd[k].lo) {
					same = false
					break
				}
			}
			if same {
				cd[k].hi = d
				cd[k].size *= O.dims[d]
				continue
			}
		}
		cd = append(cd, cdim{lo: d, hi: d, size: O.dims[d], scaled: d == 0 && O.scaled})
	}
	K := len(cd)
	strideOf := func(dims []int64, scaled bool) ([]bool, []int64, int) {
		st := make([]int64, r)
		acc := int64(1)
		for d := r - 1; d >= 0; d-- {
			st[d] = acc
			acc *= dims[d]
		}
		vary := make([]bool, K)
		str := make([]int64, K)
		level := -1
		for k, c := range cd {
			if varies(dims, scaled, c.lo) {
				vary[k] = true
				str[k] = st[c.hi]
				level = k
			}
		}
		return vary, str, level
	}
	for _, l := range leaves {
		l.vary, l.stride, l.level = strideOf(l.dims, l.scaled)
	}
	level := map[*ir.Node]int{}
	for _, m := range members {
		_, _, level[m] = strideOf(memberDims[m], a.vals[m.Outputs[0]].scaled)
	}
	_, ostride, _ := strideOf(O.dims, O.scaled)
	root := members[len(members)-1]
	// names
	tname := map[*ir.Node]string{}
	for i, m := range members {
		tname[m] = fmt.Sprintf("t%d", i)
	}
	inner := K - 1
	termStr := func(t ewTerm) string {
		switch {
		case t.lit != "":
			return t.lit
		case t.leaf != nil:
			if t.leaf.level == inner && inner >= 0 {
				return t.leaf.load(t.leaf.name + "[j]")
			}
			return t.leaf.name + "v"
		}
		return tname[t.node]
	}
	base := func(str []int64, upto int) string {
		var parts []string
		for k := 0; k <= upto; k++ {
			if str[k] != 0 {
				if str[k] == 1 {
					parts = append(parts, fmt.Sprintf("i%d", k))
				} else {
					parts = append(parts, fmt.Sprintf("i%d*%d", k, str[k]))
				}
			}
		}
		if len(parts) == 0 {
			return "0"
		}
		return strings.Join(parts, "+")
	}
	pr := gn.pr
	pr("o := %s\n", out)
	for _, l := range leaves {
		pr("%s := %s\n", l.name, l.buf)
	}
	emitLevel := func(k int) {
		for _, l := range leaves {
			if l.level == k && (k != inner || K == 0) {
				pr("%sv := %s\n", l.name, l.load(fmt.Sprintf("%s[%s]", l.name, base(l.stride, k))))
			}
		}
		for _, m := range members {
			if level[m] == k && (k != inner || K == 0) && m != root {
				pr("%s := %s\n", tname[m], exprs[m](termStr))
			}
		}
	}
	store := func(e string) string { return e }
	if gn.isByte(g.out()) {
		if root.OpType != "QuantizeLinear" {
			return unsupported(root, "an 8-bit result of %s", root.OpType)
		}
		store = func(e string) string { return "byte(int32(" + e + "))" }
	}
	if K == 0 {
		emitLevel(-1)
		pr("o[0] = %s\n", store(exprs[root](termStr)))
		return nil
	}
	emitLevel(-1)
	for k := 0; k < inner; k++ {
		pr("for i%d := 0; i%d < %s; i%d++ {\n", k, k, gn.sz(cd[k].size, cd[k].scaled), k)
		emitLevel(k)
	}
	ob := fmt.Sprintf("o[%s:][:%s]", base(ostride, inner-1), gn.sz(cd[inner].size, cd[inner].scaled))
	if inner == 0 {
		ob = "o"
	}
	pr("ob := %s\n", ob)
	for _, l := range leaves {
		if l.level == inner {
			if inner == 0 {
				pr("%s = %s[:len(ob)]\n", l.name, l.name)
			} else {
				pr("%s := %s[%s:][:len(ob)]\n", l.name, l.name, base(l.stride, inner-1))
			}
		}
	}
	var innerMembers []*ir.Node
	vec := 0
	for _, m := range members {
		if level[m] == inner {
			innerMembers = append(innerMembers, m)
			if vecKernel(m, opsOf[m]) {
				vec++
			}
		}
	}
	if vec == 0 {
		// one fused scalar loop
		pr("for j := range ob {\n")
		for _, m := range innerMembers {
			if m != root {
				pr("%s := %s\n", tname[m], exprs[m](termStr))
			}
		}
		pr("ob[j] = %s\n}\n", store(exprs[root](termStr)))
	} else {
		// blocks that stay in L1: each member over the block, through the
		// kernels' vector element-wise functions where one fits
		slots := len(innerMembers) - 1
		gn.ewSlots = max(gn.ewSlots, slots)
		pr("for j0 := 0; j0 < len(ob); j0 += %d {\nj1 := min(j0+%d, len(ob))\nob := ob[j0:j1]\n", ewBlock, ewBlock)
		for _, l := range leaves {
			if l.level == inner {
				pr("%s := %s[j0:j1]\n", l.name, l.name)
			}
		}
		isRow := func(t ewTerm) bool {
			return t.leaf != nil && t.leaf.level == inner || t.node != nil && level[t.node] == inner
		}
		// a DequantizeLinear of an 8-bit row with scalar parameters is one
		// kernels.Dequantize8; other readers of 8-bit rows read a float32
		// copy of the block
		dq8 := func(m *ir.Node) bool {
			ops := opsOf[m]
			return m.OpType == "DequantizeLinear" && ops[0].leaf != nil && ops[0].leaf.byt && isRow(ops[0]) && !isRow(ops[1]) && !isRow(ops[2])
		}
		conv := map[*ewLeaf]string{}
		for _, m := range innerMembers {
			if dq8(m) {
				continue
			}
			for _, t := range opsOf[m] {
				if l := t.leaf; l != nil && l.byt && isRow(t) && conv[l] == "" {
					slot := len(innerMembers) - 1 + len(conv)
					gn.ewSlots = max(gn.ewSlots, slot+1)
					conv[l] = l.name + "f"
					pr("%sf := m.ew[%d:][:len(ob)]\nfor j := range %sf {\n%sf[j] = %s\n}\n", l.name, slot*ewBlock, l.name, l.name, l.load(l.name+"[j]"))
				}
			}
		}
		rowName := func(t ewTerm) string {
			if t.leaf != nil {
				if c := conv[t.leaf]; c != "" {
					return c
				}
				return t.leaf.name
			}
			return tname[t.node]
		}
		skip := map[*ir.Node]bool{}
		for i, m := range innerMembers {
			if skip[m] {
				continue
			}
			if dq8(m) {
				dst := "ob"
				if m != root {
					dst = tname[m]
					pr("%s := m.ew[%d:][:len(ob)]\n", dst, i*ewBlock)
				}
				ops := opsOf[m]
				pr("kernels.DequantizeBlock(%s, %s, %v, %s, int32(%s))\n", dst, ops[0].leaf.name, ops[0].leaf.signed, termStr(ops[1]), termStr(ops[2]))
				continue
			}
			if ops := opsOf[m]; m == root && store != nil && gn.isByte(g.out()) && isRow(ops[0]) && !isRow(ops[1]) && !isRow(ops[2]) && (ops[4].lit == "255.0" || ops[4].lit == "127.0") {
				pr("kernels.Quantize8(ob, %s, %s, int32(%s), int32(%s), int32(%s))\n", rowName(ops[0]), termStr(ops[1]), termStr(ops[2]), termStr(ops[3]), termStr(ops[4]))
				continue
			}
			// Add(x, c) → Clip(lo, hi) → Mul(x, ·): one HardSwishPattern
			if i+2 < len(innerMembers) {
				if x, c, lo, hi, ok := gn.hardSwish(innerMembers[i:i+3], opsOf, isRow); ok {
					last := innerMembers[i+2]
					dst := "ob"
					if last != root {
						dst = tname[last]
						pr("%s := m.ew[%d:][:len(ob)]\n", dst, (i+2)*ewBlock)
					}
					pr("kernels.HardSwishPattern(%s, %s, %s, %s, %s)\n", dst, rowName(x), termStr(c), termStr(lo), termStr(hi))
					skip[innerMembers[i+1]], skip[last] = true, true
					continue
				}
			}
			// QuantizeLinear over the block: kernels.Quantize8 into bytes,
			// then back to float32 (dequantized at once when a
			// DequantizeLinear is its only reader)
			if ops := opsOf[m]; m.OpType == "QuantizeLinear" && isRow(ops[0]) && !isRow(ops[1]) && !isRow(ops[2]) && (ops[4].lit == "255.0" || ops[4].lit == "127.0") {
				gn.ewBytes = true
				signed := ops[3].lit != "0.0"
				conv := "float32(m.ewb[j])"
				if signed {
					conv = "float32(int8(m.ewb[j]))"
				}
				out, expr := m, conv
				if uses := gn.a.vals[m.Outputs[0]].uses; i+1 < len(innerMembers) && len(uses) == 1 && uses[0] == innerMembers[i+1] && uses[0].OpType == "DequantizeLinear" {
					if dq := opsOf[uses[0]]; dq[0].node == m && !isRow(dq[1]) && !isRow(dq[2]) {
						out = uses[0]
						expr = fmt.Sprintf("((%s - %s) * %s)", conv, termStr(dq[2]), termStr(dq[1]))
						skip[out] = true
					}
				}
				dst := "ob"
				if out != root {
					dst = tname[out]
					pr("%s := m.ew[%d:][:len(ob)]\n", dst, i*ewBlock)
				}
				pr("kernels.Quantize8(m.ewb[:len(ob)], %s, %s, int32(%s), int32(%s), int32(%s))\n", rowName(ops[0]), termStr(ops[1]), termStr(ops[2]), termStr(ops[3]), termStr(ops[4]))
				pr("for j := range %s {\n%s[j] = %s\n}\n", dst, dst, expr)
				continue
			}
			dst := "ob"
			if m != root {
				dst = tname[m]
				pr("%s := m.ew[%d:][:len(ob)]\n", dst, i*ewBlock)
			}
			if call := gn.vecCall(m, opsOf[m], dst, isRow, rowName, termStr); call != "" {
				pr("%s\n", call)
				continue
			}
			rowTerm := func(t ewTerm) string {
				if isRow(t) {
					return rowName(t) + "[j]"
				}
				return termStr(t)
			}
			e := exprs[m](rowTerm)
			if m == root {
				e = store(e)
			}
			pr("for j := range %s {\n%s[j] = %s\n}\n", dst, dst, e)
		}
		pr("}\n")
	}
	for k := 0; k < inner; k++ {
		pr("}\n")
	}
	return nil
}

// ewExpr returns the expression builder of an element-wise node given its
// operands' expressions.
func (gn *gen) ewExpr(n *ir.Node, nops int) (func([]string) string, error) {
	h := func(name string) { gn.helpers[name] = true }
	bin := func(op string) func([]string) string {
		return func(s []string) string { return "(" + s[0] + " " + op + " " + s[1] + ")" }
	}
	un := func(name string) func([]string) string {
		h(name)
		return func(s []string) string { return name + "(" + s[0] + ")" }
	}
	switch n.OpType {
	case "Add":
		return bin("+"), nil
	case "Sub":
		return bin("-"), nil
	case "Mul":
		return bin("*"), nil
	case "Div":
		return bin("/"), nil
	case "Max", "Min":
		fn := strings.ToLower(n.OpType)
		return func(s []string) string { return fn + "(" + strings.Join(s, ", ") + ")" }, nil
	case "Pow":
		if ev := gn.a.vals[n.Inputs[1]]; ev.isStatic() && ev.size() == 1 {
			e := ev.static.Float64s()[0]
			switch e {
			case 2:
				return func(s []string) string { return "(" + s[0] + " * " + s[0] + ")" }, nil
			case 1:
				return func(s []string) string { return s[0] }, nil
			case 0.5:
				return un("sqrt"), nil
			}
		}
		h("pow")
		return func(s []string) string { return "pow(" + s[0] + ", " + s[1] + ")" }, nil
	case "Relu":
		return func(s []string) string { return "max(" + s[0] + ", 0)" }, nil
	case "Clip":
		return func(s []string) string { return "min(max(" + s[0] + ", " + s[1] + "), " + s[2] + ")" }, nil
	case "HardSigmoid":
		al, be := flit(n.AttrFloat("alpha", 0.2)), flit(n.AttrFloat("beta", 0.5))
		return func(s []string) string { return "min(max(" + al + "*" + s[0] + "+" + be + ", 0), 1)" }, nil
	case "HardSwish":
		return func(s []string) string {
			return "(" + s[0] + " * min(max(" + s[0] + "/6+0.5, 0), 1))"
		}, nil
	case "Sigmoid":
		return un("sigmoid"), nil
	case "Tanh":
		return un("tanh"), nil
	case "Exp":
		return un("exp"), nil
	case "Log":
		return un("log"), nil
	case "Sqrt":
		return un("sqrt"), nil
	case "Erf":
		return un("erf"), nil
	case "Abs":
		return un("abs"), nil
	case "Floor":
		return un("floor"), nil
	case "Ceil":
		return un("ceil"), nil
	case "Round":
		return un("roundeven"), nil
	case "Softplus":
		return un("softplus"), nil
	case "Neg":
		return func(s []string) string { return "(-" + s[0] + ")" }, nil
	case "Reciprocal":
		return func(s []string) string { return "(1 / " + s[0] + ")" }, nil
	case "LeakyRelu":
		h("leaky")
		al := flit(n.AttrFloat("alpha", 0.01))
		return func(s []string) string { return "leaky(" + s[0] + ", " + al + ")" }, nil
	case "Elu":
		h("elu")
		al := flit(n.AttrFloat("alpha", 1))
		return func(s []string) string { return "elu(" + s[0] + ", " + al + ")" }, nil
	case "PRelu":
		h("prelu")
		return func(s []string) string { return "prelu(" + s[0] + ", " + s[1] + ")" }, nil
	case "BatchNormalization":
		return func(s []string) string { return "(" + s[0] + "*" + s[1] + " + " + s[2] + ")" }, nil
	case "QuantizeLinear":
		h("quant")
		return func(s []string) string {
			return "quant(" + s[0] + "/" + s[1] + ", " + s[2] + ", " + s[3] + ", " + s[4] + ")"
		}, nil
	case "DequantizeLinear":
		return func(s []string) string { return "((" + s[0] + " - " + s[2] + ") * " + s[1] + ")" }, nil
	}
	return nil, unsupported(n, "no element-wise form")
}

// ewBlock is the block length (float32s) of vectorised element-wise
// loops: a few blocks of temporaries stay in L1.
const ewBlock = 512

// vecKernel reports whether member m maps onto one of package kernels'
// vector element-wise functions (see vecCall).
func vecKernel(m *ir.Node, ops []ewTerm) bool {
	switch m.OpType {
	case "Add", "Sub", "Mul", "Div", "Relu", "Clip", "HardSigmoid", "Sigmoid", "Tanh", "Exp", "Erf", "BatchNormalization", "QuantizeLinear", "DequantizeLinear":
		return true
	}
	return false
}

// vecCall returns the kernels call computing member m over a block into
// dst, or "" when none fits (the caller emits a scalar loop).
func (gn *gen) vecCall(m *ir.Node, ops []ewTerm, dst string, isRow func(ewTerm) bool, row func(ewTerm) string, scalar func(ewTerm) string) string {
	binop := map[string]string{"Add": "kernels.OpAdd", "Sub": "kernels.OpSub", "Mul": "kernels.OpMul", "Div": "kernels.OpDiv"}
	switch m.OpType {
	case "Add", "Sub", "Mul", "Div":
		if len(ops) != 2 {
			return ""
		}
		a, b := ops[0], ops[1]
		switch {
		case isRow(a) && isRow(b):
			return fmt.Sprintf("kernels.BinaryVV(%s, %s, %s, %s)", binop[m.OpType], dst, row(a), row(b))
		case isRow(a):
			return fmt.Sprintf("kernels.BinaryVS(%s, %s, %s, %s, false)", binop[m.OpType], dst, row(a), scalar(b))
		case isRow(b):
			return fmt.Sprintf("kernels.BinaryVS(%s, %s, %s, %s, true)", binop[m.OpType], dst, row(b), scalar(a))
		}
	case "Relu":
		if isRow(ops[0]) {
			return fmt.Sprintf("kernels.Clamp(%s, %s, 0, float32(math.Inf(1)))", dst, row(ops[0]))
		}
	case "Clip":
		if isRow(ops[0]) && !isRow(ops[1]) && !isRow(ops[2]) {
			return fmt.Sprintf("kernels.Clamp(%s, %s, %s, %s)", dst, row(ops[0]), scalar(ops[1]), scalar(ops[2]))
		}
	case "HardSigmoid":
		if isRow(ops[0]) {
			return fmt.Sprintf("kernels.MulAdd(%s, %s, %s, %s)\nkernels.Clamp(%s, %s, 0, 1)", dst, row(ops[0]),
				flit(m.AttrFloat("alpha", 0.2)), flit(m.AttrFloat("beta", 0.5)), dst, dst)
		}
	case "BatchNormalization":
		if isRow(ops[0]) && !isRow(ops[1]) && !isRow(ops[2]) {
			return fmt.Sprintf("kernels.MulAdd(%s, %s, %s, %s)", dst, row(ops[0]), scalar(ops[1]), scalar(ops[2]))
		}
	case "Tanh", "Erf":
		if isRow(ops[0]) {
			return fmt.Sprintf("kernels.%s(%s, %s)", m.OpType, dst, row(ops[0]))
		}
	case "Sigmoid", "Exp":
		// the vector kernels take whole groups of 8 (their tail path
		// allocates); the rest runs the scalar helper
		if isRow(ops[0]) {
			h := strings.ToLower(m.OpType)
			gn.helpers[h] = true
			return fmt.Sprintf("{\nn8 := len(%s) &^ 7\nkernels.%s(%s[:n8], %s[:n8])\nfor j := n8; j < len(%s); j++ {\n%s[j] = %s(%s[j])\n}\n}",
				dst, m.OpType, dst, row(ops[0]), dst, dst, h, row(ops[0]))
		}
	}
	return ""
}

// hardSwish recognises Add(x, c) → Clip(·, lo, hi) → Mul(x, ·) (either
// operand order) where the first two results are read only by the next
// node: x·min(max(x+c, lo), hi), which kernels.HardSwishPattern computes
// with the same roundings.
func (gn *gen) hardSwish(ms []*ir.Node, opsOf map[*ir.Node][]ewTerm, isRow func(ewTerm) bool) (x, c, lo, hi ewTerm, ok bool) {
	add, clip, mul := ms[0], ms[1], ms[2]
	if add.OpType != "Add" || clip.OpType != "Clip" || mul.OpType != "Mul" {
		return
	}
	if len(gn.a.vals[add.Outputs[0]].uses) != 1 || len(gn.a.vals[clip.Outputs[0]].uses) != 1 {
		return
	}
	ao, co, mo := opsOf[add], opsOf[clip], opsOf[mul]
	if len(ao) != 2 || len(co) != 3 || len(mo) != 2 {
		return
	}
	x, c = ao[0], ao[1]
	if !isRow(x) {
		x, c = c, x
	}
	if !isRow(x) || isRow(c) || co[0].node != add || isRow(co[1]) || isRow(co[2]) {
		return
	}
	same := func(t ewTerm) bool { return t.leaf != nil && t.leaf == x.leaf || t.node != nil && t.node == x.node }
	if !(same(mo[0]) && mo[1].node == clip || same(mo[1]) && mo[0].node == clip) {
		return
	}
	return x, c, co[1], co[2], true
}
