package split

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/nncc/nncc/ir"
)

// ErrUsage marks errors in the caller's request (a stage count out of
// range, a limit no stage can meet, shapes that must be bound); the CLI
// maps it to its usage exit code.
var ErrUsage = errors.New("split: bad request")

// requestError is an error in the request; it matches ErrUsage.
type requestError struct{ msg string }

func (e *requestError) Error() string        { return e.msg }
func (e *requestError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error {
	return &requestError{fmt.Sprintf(format, args...)}
}

// graphInfo is where each activation of the main graph is produced and
// read, as positions in the node order. Graph inputs are produced at -1;
// a graph output is not a read (it leaves the stage that produces it).
type graphInfo struct {
	nodes   []*ir.Node
	acts    []*ir.Value       // activations: graph inputs, then node outputs in order
	prod    map[*ir.Value]int // producer position, -1 for graph inputs
	readers map[*ir.Value][]int
	// consts[i] are the constants node i reads (captured ones included),
	// each once, in first-read order.
	consts [][]*ir.Value
	// reads[i] are the activations node i reads (captured ones included).
	reads    [][]*ir.Value
	isOutput map[*ir.Value]bool
	// inner[i] is the bytes of the constants inside node i's subgraphs,
	// which travel with the node.
	inner []int64
}

func analyze(g *ir.Graph) *graphInfo {
	gi := &graphInfo{
		nodes: g.Nodes, prod: map[*ir.Value]int{}, readers: map[*ir.Value][]int{},
		consts: make([][]*ir.Value, len(g.Nodes)), reads: make([][]*ir.Value, len(g.Nodes)),
		isOutput: map[*ir.Value]bool{}, inner: make([]int64, len(g.Nodes)),
	}
	isConst := map[*ir.Value]bool{}
	for _, c := range g.Consts {
		isConst[c] = true
	}
	for _, v := range g.Inputs {
		if isConst[v] || v.Const != nil {
			isConst[v] = true
			continue
		}
		gi.prod[v] = -1
		gi.acts = append(gi.acts, v)
	}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil && o.Name != "" {
				gi.prod[o] = i
				gi.acts = append(gi.acts, o)
			}
		}
	}
	for i, n := range g.Nodes {
		seen := map[*ir.Value]bool{}
		read := func(v *ir.Value) {
			if v == nil || v.Name == "" || seen[v] {
				return
			}
			seen[v] = true
			if isConst[v] || (v.Const != nil && !isProduced(gi, v)) {
				gi.consts[i] = append(gi.consts[i], v)
				return
			}
			gi.reads[i] = append(gi.reads[i], v)
			gi.readers[v] = append(gi.readers[v], i)
		}
		for _, in := range n.Inputs {
			read(in)
		}
		for _, sg := range n.Subgraphs() {
			gi.inner[i] += innerConstBytes(sg)
			caps := sg.Captures()
			// Captures is a set: read it in a deterministic order.
			var vs []*ir.Value
			for v := range caps {
				vs = append(vs, v)
			}
			sort.Slice(vs, func(a, b int) bool { return vs[a].Name < vs[b].Name })
			for _, v := range vs {
				read(v)
			}
		}
	}
	for _, o := range g.Outputs {
		gi.isOutput[o] = true
	}
	return gi
}

// innerConstBytes is the bytes of the constants defined in g and the
// graphs nested in it.
func innerConstBytes(g *ir.Graph) int64 {
	var b int64
	for _, c := range g.Consts {
		b += constBytes(c)
	}
	for _, n := range g.Nodes {
		for _, sg := range n.Subgraphs() {
			b += innerConstBytes(sg)
		}
	}
	return b
}

func isProduced(gi *graphInfo, v *ir.Value) bool {
	_, ok := gi.prod[v]
	return ok
}

// firstReaderFrom returns the first position ≥ i that reads v, or -1.
func (gi *graphInfo) firstReaderFrom(v *ir.Value, i int) int {
	rs := gi.readers[v]
	k := sort.SearchInts(rs, i)
	if k == len(rs) {
		return -1
	}
	return rs[k]
}

// rowFunc fills row[j] (j in i+1..n) with a stage's cost when the stage
// is nodes [i, j).
type rowFunc func(i int, row []float64)

// prefixRow is the row function of per-node costs that add up.
func prefixRow(cost []float64) rowFunc {
	pre := make([]float64, len(cost)+1)
	for i, c := range cost {
		pre[i+1] = pre[i] + c
	}
	return func(i int, row []float64) {
		for j := i + 1; j < len(pre); j++ {
			row[j] = pre[j] - pre[i]
		}
	}
}

// paramRow is the exact weight bytes of stage [i, j): every distinct
// constant its nodes read, each once.
func (gi *graphInfo) paramRow() rowFunc {
	n := len(gi.nodes)
	return func(i int, row []float64) {
		seen := map[*ir.Value]bool{}
		var sum float64
		for j := i; j < n; j++ {
			sum += float64(gi.inner[j])
			for _, c := range gi.consts[j] {
				if !seen[c] {
					seen[c] = true
					sum += float64(constBytes(c))
				}
			}
			row[j+1] = sum
		}
	}
}

func constBytes(c *ir.Value) int64 {
	if c.Const == nil {
		return 0
	}
	return c.Const.Bytes()
}

// inRow is the transfer weight of stage [i, j): for every activation
// produced before i and read inside the stage, its bytes plus one (so
// that among cuts of equal bytes the one passing fewer tensors wins).
func (gi *graphInfo) inRow(bytes map[*ir.Value]int64) rowFunc {
	n := len(gi.nodes)
	delta := make([]float64, n+2)
	return func(i int, row []float64) {
		clear(delta)
		for _, v := range gi.acts {
			if gi.prod[v] >= i {
				continue
			}
			r := gi.firstReaderFrom(v, i)
			if r < 0 {
				continue
			}
			delta[r+1] += float64(max(bytes[v], 0)) + 1
		}
		var sum float64
		for j := i + 1; j <= n; j++ {
			sum += delta[j]
			row[j] = sum
		}
	}
}

// partition cuts n nodes into k consecutive non-empty stages: it
// minimises the largest stage cost, then, among the partitions that
// reach it, the total transfer weight. Both steps are exact dynamic
// programmes over the node order, O(k·n²). It returns the k+1 stage
// boundaries.
func partition(n, k int, cost, transfer rowFunc) ([]int, float64) {
	inf := math.Inf(1)
	row := make([]float64, n+1)
	// Step 1: the bottleneck. best[s][j]: the smallest largest-stage cost
	// of s stages over nodes [0, j).
	best := make([][]float64, k+1)
	for s := range best {
		best[s] = make([]float64, n+1)
		for j := range best[s] {
			best[s][j] = inf
		}
	}
	best[0][0] = 0
	for i := 0; i < n; i++ {
		cost(i, row)
		for s := 0; s < k; s++ {
			b := best[s][i]
			if math.IsInf(b, 1) {
				continue
			}
			for j := i + 1; j <= n; j++ {
				if c := math.Max(b, row[j]); c < best[s+1][j] {
					best[s+1][j] = c
				}
			}
		}
	}
	bound := best[k][n]
	if math.IsInf(bound, 1) {
		return nil, bound
	}
	// Step 2: the least transfer among partitions whose stages all cost
	// at most the bound.
	tr := make([]float64, n+1)
	xfer := make([][]float64, k+1)
	from := make([][]int, k+1)
	for s := range xfer {
		xfer[s] = make([]float64, n+1)
		from[s] = make([]int, n+1)
		for j := range xfer[s] {
			xfer[s][j] = inf
		}
	}
	xfer[0][0] = 0
	for i := 0; i < n; i++ {
		cost(i, row)
		transfer(i, tr)
		for s := 0; s < k; s++ {
			x := xfer[s][i]
			if math.IsInf(x, 1) {
				continue
			}
			for j := i + 1; j <= n; j++ {
				if row[j] > bound {
					continue
				}
				if t := x + tr[j]; t < xfer[s+1][j] {
					xfer[s+1][j] = t
					from[s+1][j] = i
				}
			}
		}
	}
	cuts := make([]int, k+1)
	cuts[k] = n
	for s := k; s > 0; s-- {
		cuts[s-1] = from[s][cuts[s]]
	}
	return cuts, bound
}

// fewestStages is the least number of consecutive stages whose cost
// (weight bytes) each stays within limit, or -1 when a single node
// exceeds it (then bad is that node's position).
func fewestStages(n int, cost rowFunc, limit float64) (k, bad int) {
	row := make([]float64, n+1)
	// Greedy is optimal: a stage's weights only grow as it extends.
	i := 0
	for i < n {
		cost(i, row)
		j := i
		for j < n && row[j+1] <= limit {
			j++
		}
		if j == i {
			return -1, i
		}
		k++
		i = j
	}
	return k, 0
}

// limitRow is cost with every stage over limit made infeasible.
func limitRow(cost, limit rowFunc, max float64) rowFunc {
	n := 0
	var lim []float64
	return func(i int, row []float64) {
		if n != len(row) {
			n = len(row)
			lim = make([]float64, n)
		}
		cost(i, row)
		limit(i, lim)
		for j := i + 1; j < n; j++ {
			if lim[j] > max {
				row[j] = math.Inf(1)
			}
		}
	}
}
