package ir

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// This file holds the dimension arithmetic shape inference is built on.
// A Dim is known (a size), symbolic (a name standing for one unknown size,
// the same everywhere it appears) or unknown. The rules never invent a
// size: a result is known or symbolic only when it follows from the
// operands whatever the symbols stand for.

// mergeDim combines two descriptions of the same dimension, keeping the
// more specific: a known size beats a symbol, a symbol beats unknown. Two
// different known sizes conflict. Of two different symbols the first is
// kept (they name the same size).
func mergeDim(a, b Dim) (Dim, bool) {
	switch {
	case a.Known() && b.Known():
		return a, a.Value == b.Value
	case a.Known():
		return a, true
	case b.Known():
		return b, true
	case a.Param != "":
		return a, true
	case b.Param != "":
		return b, true
	}
	return UnknownDim, true
}

// joinDim is what two possibly different dimensions have in common (the
// dimension of a value that is one or the other): themselves when equal,
// unknown otherwise.
func joinDim(a, b Dim) Dim {
	if sameDim(a, b) {
		return a
	}
	return UnknownDim
}

// sameDim reports whether a and b are known to be the same size.
func sameDim(a, b Dim) bool {
	if a.Known() && b.Known() {
		return a.Value == b.Value
	}
	return a.Param != "" && a.Param == b.Param
}

// differentDim reports whether a and b are known to differ.
func differentDim(a, b Dim) bool {
	return a.Known() && b.Known() && a.Value != b.Value
}

// broadcastDim is the size of two dimensions broadcast together
// (numpy rules). A known size other than 1 wins against anything that is
// not known, since the other side must be 1 or equal to it.
func broadcastDim(a, b Dim) (Dim, error) {
	switch {
	case a.Known() && b.Known():
		switch {
		case a.Value == b.Value, b.Value == 1:
			return a, nil
		case a.Value == 1:
			return b, nil
		}
		return UnknownDim, fmt.Errorf("cannot broadcast dimensions %d and %d", a.Value, b.Value)
	case a.Known():
		if a.Value == 1 {
			return b, nil
		}
		return a, nil
	case b.Known():
		if b.Value == 1 {
			return a, nil
		}
		return b, nil
	case a.Param != "" && a.Param == b.Param:
		return a, nil
	}
	return UnknownDim, nil
}

// broadcastShapes broadcasts shapes together, aligning them on the right.
func broadcastShapes(shapes ...Shape) (Shape, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make(Shape, rank)
	for i := range out {
		out[i] = D(1)
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			b, err := broadcastDim(out[off+i], d)
			if err != nil {
				return nil, fmt.Errorf("shapes %s: %v", shapesString(shapes), err)
			}
			out[off+i] = b
		}
	}
	return out, nil
}

func shapesString(shapes []Shape) string {
	parts := make([]string, len(shapes))
	for i, s := range shapes {
		parts[i] = s.String()
	}
	return strings.Join(parts, " and ")
}

// mulDim multiplies two dimensions; a product involving symbols is a
// product dimension such as "4*B".
func mulDim(a, b Dim) Dim {
	return productOf([]Dim{a, b}).dim()
}

// addDim adds a known amount to a dimension.
func addDim(a Dim, k int64) Dim {
	switch {
	case k == 0:
		return a
	case a.Known():
		if s := a.Value + k; s >= 0 && (k < 0 || s >= a.Value) {
			return D(s)
		}
	}
	return UnknownDim
}

func mulInt(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return p, true
}

// dimProduct is a product of dimensions as a known factor times a
// multiset of symbols; ok is false when a factor is unknown.
//
// Products of symbols are themselves written as symbols in a canonical
// form, the factor first and then the symbols in order, joined by "*":
// "B*T", "4*B". Reading such a symbol back splits it into its factors,
// so products cancel: Reshape's -1 over [4*B, T, 8] with the rest
// [B, T, 32] is 1, and Div by 4 turns 4*B back into B.
type dimProduct struct {
	coef int64
	syms []string // sorted
	ok   bool
}

func productOf(ds []Dim) dimProduct {
	p := dimProduct{coef: 1, ok: true}
	mul := func(k int64) bool {
		c, ok := mulInt(p.coef, k)
		p.coef = c
		return ok
	}
	for _, d := range ds {
		switch {
		case d.Known():
			if !mul(d.Value) {
				return dimProduct{}
			}
		case d.Param != "":
			for _, f := range strings.Split(d.Param, "*") {
				if k, err := strconv.ParseInt(f, 10, 64); err == nil && k >= 0 {
					if !mul(k) {
						return dimProduct{}
					}
				} else {
					p.syms = append(p.syms, f)
				}
			}
		default:
			p.ok = false
		}
	}
	if p.ok && p.coef == 0 {
		p.syms = nil // zero whatever the symbols are
	}
	sort.Strings(p.syms)
	return p
}

// dim returns the product as a Dim: a known size, a symbol, or a product
// symbol.
func (p dimProduct) dim() Dim {
	switch {
	case !p.ok:
		return UnknownDim
	case len(p.syms) == 0:
		return D(p.coef)
	case len(p.syms) == 1 && p.coef == 1:
		return Sym(p.syms[0])
	}
	parts := p.syms
	if p.coef != 1 {
		parts = append([]string{strconv.FormatInt(p.coef, 10)}, p.syms...)
	}
	return Sym(strings.Join(parts, "*"))
}

// div returns p/q as a Dim, or reports false when it cannot be
// determined. exact is false when both are fully known and q does not
// divide p.
func (p dimProduct) div(q dimProduct) (d Dim, known, exact bool) {
	if !p.ok || !q.ok || q.coef == 0 {
		return UnknownDim, false, true
	}
	// Cancel q's symbols against p's.
	rest := make([]string, 0, len(p.syms))
	j := 0
	for _, s := range p.syms {
		if j < len(q.syms) && q.syms[j] == s {
			j++
			continue
		}
		rest = append(rest, s)
	}
	if j < len(q.syms) {
		return UnknownDim, false, true // q has a symbol p lacks
	}
	if p.coef%q.coef != 0 {
		if len(p.syms) == 0 && len(q.syms) == 0 {
			return UnknownDim, false, false
		}
		return UnknownDim, false, true
	}
	r := dimProduct{coef: p.coef / q.coef, syms: rest, ok: true}
	d = r.dim()
	return d, d.Known() || d.Param != "", true
}

// normAxis turns a possibly negative axis into an index in [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// normAxes normalises a list of axes and rejects duplicates.
func normAxes(axes []int64, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make(map[int]bool, len(axes))
	for i, a := range axes {
		n, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[n] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		seen[n] = true
		out[i] = n
	}
	return out, nil
}

// unknownShape returns a shape of rank dimensions about which nothing is
// known.
func unknownShape(rank int) Shape {
	s := make(Shape, rank)
	for i := range s {
		s[i] = UnknownDim
	}
	return s
}
