package runtime

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nncc/nncc/ir"
)

// Profile collects per-step timings from a Session: set its Observe
// method as Options.Observe, run, then read the totals per operator type
// (ByOp), per node (Nodes) or write a Chrome trace (WriteTrace). A
// Profile may watch several runs; totals add up over all of them and
// Runs counts them (a run is over when its first step comes round
// again, or when EndRun is called). It is safe for concurrent use.
type Profile struct {
	mu     sync.Mutex
	start  time.Time
	first  *ir.Node // the first step of a run, to count runs
	runs   int
	open   bool // a run has started and not been counted
	events []Event
	nodes  map[*ir.Node]int // index into stats
	stats  []NodeStat
}

// An Event is one step of one run.
type Event struct {
	Run   int           // 0-based run number
	Node  string        // node name
	Op    string        // operator type
	Start time.Duration // since the profile's first step
	Dur   time.Duration
}

// NodeStat is the time one node (one step: fused nodes are counted under
// the first) took, summed over the runs observed.
type NodeStat struct {
	Name   string
	Op     string
	Inputs [][]int64 // shapes of the inputs (last run)
	Output [][]int64 // shapes of the outputs (last run)
	Calls  int
	Total  time.Duration
}

// OpStat is the time spent in one operator type over the runs observed.
type OpStat struct {
	Op    string
	Nodes int // distinct nodes of that type that ran
	Calls int
	Total time.Duration
}

// NewProfile returns an empty profile.
func NewProfile() *Profile { return &Profile{nodes: map[*ir.Node]int{}} }

// Observe records one step; pass it as Options.Observe.
func (p *Profile) Observe(n *ir.Node, ins, outs []*ir.Tensor, d time.Duration) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.start.IsZero() {
		p.start = now.Add(-d)
	}
	if p.first == nil {
		p.first = n
	} else if n == p.first && p.open {
		p.runs++
	}
	p.open = true
	p.events = append(p.events, Event{Run: p.runs, Node: n.Name, Op: n.OpType, Start: now.Add(-d).Sub(p.start), Dur: d})
	i, ok := p.nodes[n]
	if !ok {
		i = len(p.stats)
		p.nodes[n] = i
		p.stats = append(p.stats, NodeStat{Name: n.Name, Op: n.OpType})
	}
	st := &p.stats[i]
	st.Calls++
	st.Total += d
	st.Inputs = shapesOf(st.Inputs[:0], ins)
	st.Output = shapesOf(st.Output[:0], outs)
}

func shapesOf(dst [][]int64, ts []*ir.Tensor) [][]int64 {
	for _, t := range ts {
		if t == nil {
			dst = append(dst, nil)
			continue
		}
		dst = append(dst, slices.Clone(t.Dims))
	}
	return dst
}

// EndRun marks the end of a run (optional: a run also ends when its
// first step comes round again).
func (p *Profile) EndRun() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open {
		p.runs++
		p.open = false
		p.first = nil
	}
}

// Runs reports how many runs were observed, the one in progress included.
func (p *Profile) Runs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open {
		return p.runs + 1
	}
	return p.runs
}

// Total is the time of all steps observed.
func (p *Profile) Total() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t time.Duration
	for _, s := range p.stats {
		t += s.Total
	}
	return t
}

// Nodes returns the per-node totals, slowest first (ties in the order
// the nodes first ran).
func (p *Profile) Nodes() []NodeStat {
	p.mu.Lock()
	res := slices.Clone(p.stats)
	p.mu.Unlock()
	slices.SortStableFunc(res, func(a, b NodeStat) int { return cmpDur(b.Total, a.Total) })
	return res
}

// ByOp returns the totals per operator type, slowest first.
func (p *Profile) ByOp() []OpStat {
	p.mu.Lock()
	idx := map[string]int{}
	var res []OpStat
	for _, s := range p.stats {
		i, ok := idx[s.Op]
		if !ok {
			i = len(res)
			idx[s.Op] = i
			res = append(res, OpStat{Op: s.Op})
		}
		res[i].Nodes++
		res[i].Calls += s.Calls
		res[i].Total += s.Total
	}
	p.mu.Unlock()
	slices.SortStableFunc(res, func(a, b OpStat) int { return cmpDur(b.Total, a.Total) })
	return res
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Events returns every step observed, in order.
func (p *Profile) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// traceEvent is one complete event ("ph": "X") of the Chrome trace event
// format, times in microseconds.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  float64        `json:"dur"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// WriteTrace writes the observed steps as a Chrome trace (JSON object
// format), one complete event per step, which chrome://tracing and
// Perfetto open. Each run is a thread row of its own.
func (p *Profile) WriteTrace(w io.Writer) error {
	evs := p.Events()
	out := struct {
		TraceEvents     []traceEvent `json:"traceEvents"`
		DisplayTimeUnit string       `json:"displayTimeUnit"`
	}{TraceEvents: make([]traceEvent, 0, len(evs)), DisplayTimeUnit: "ms"}
	for _, e := range evs {
		out.TraceEvents = append(out.TraceEvents, traceEvent{
			Name: e.Node, Cat: e.Op, Ph: "X", Pid: 1, Tid: e.Run + 1,
			Ts: float64(e.Start.Nanoseconds()) / 1e3, Dur: float64(e.Dur.Nanoseconds()) / 1e3,
			Args: map[string]any{"op": e.Op, "run": e.Run},
		})
	}
	enc := json.NewEncoder(w)
	return enc.Encode(out)
}

// WriteTable writes the per-operator totals and the slowest nodes (at
// most top) as aligned text, times per run in microseconds.
func (p *Profile) WriteTable(w io.Writer, top int) error {
	runs := max(p.Runs(), 1)
	total := p.Total()
	share := func(d time.Duration) float64 {
		if total <= 0 {
			return 0
		}
		return 100 * float64(d) / float64(total)
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(runs) }
	var b strings.Builder
	fmt.Fprintf(&b, "per operator type (µs per run, %d run(s), %.0f µs of steps per run):\n", runs, us(total))
	fmt.Fprintf(&b, "  %-22s %6s %12s %7s\n", "op", "nodes", "µs", "share")
	for _, o := range p.ByOp() {
		fmt.Fprintf(&b, "  %-22s %6d %12.1f %6.1f%%\n", o.Op, o.Nodes, us(o.Total), share(o.Total))
	}
	nodes := p.Nodes()
	if top > 0 && len(nodes) > top {
		nodes = nodes[:top]
	}
	fmt.Fprintf(&b, "slowest nodes:\n")
	fmt.Fprintf(&b, "  %-32s %-18s %-40s %10s %7s\n", "node", "op", "shapes (in -> out)", "µs", "share")
	for _, n := range nodes {
		fmt.Fprintf(&b, "  %-32s %-18s %-40s %10.1f %6.1f%%\n", n.Name, n.Op, shapeText(n.Inputs)+" -> "+shapeText(n.Output), us(n.Total), share(n.Total))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func shapeText(shapes [][]int64) string {
	var parts []string
	for _, s := range shapes {
		if s == nil {
			parts = append(parts, "-")
			continue
		}
		if len(s) == 0 {
			parts = append(parts, "()")
			continue
		}
		ds := make([]string, len(s))
		for i, d := range s {
			ds[i] = fmt.Sprint(d)
		}
		parts = append(parts, strings.Join(ds, "x"))
	}
	return strings.Join(parts, ",")
}
