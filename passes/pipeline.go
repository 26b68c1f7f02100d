package passes

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/nncc/nncc/budget"
	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
)

// Pipeline is an ordered list of passes with their option values.
type Pipeline struct {
	Steps []Step
}

// Step is one pass of a pipeline with the option values it runs with
// (options not in Values take their defaults).
type Step struct {
	Pass   *Pass
	Values map[string]any
}

// defaultStep stands for the default pipeline inside a spec; it is
// expanded when the pipeline reaches it, so that the default pipeline
// sees the opset that earlier steps (upgrade-opset) left.
var defaultStep = &Pass{Name: "default", Doc: "the default pipeline"}

// NewPipeline returns an empty pipeline; add steps with Add.
func NewPipeline() *Pipeline { return &Pipeline{} }

// Add appends pass name with the given option values (nil for defaults;
// Int options accept int as well as int64). It fails on an unknown pass
// or option, or a value of the wrong type.
func (p *Pipeline) Add(name string, values map[string]any) error {
	pass := Lookup(name)
	if pass == nil {
		return unknownPass(name)
	}
	vals := map[string]any{}
	for k, v := range values {
		o := pass.option(k)
		if o == nil {
			return unknownOption(pass, k)
		}
		if iv, ok := v.(int); ok && o.Type == Int {
			v = int64(iv)
		}
		if err := o.check(v); err != nil {
			return fmt.Errorf("pass %s: %v", name, err)
		}
		vals[k] = v
	}
	p.Steps = append(p.Steps, Step{Pass: pass, Values: vals})
	return nil
}

// String renders the pipeline as a spec that Parse reads back.
func (p *Pipeline) String() string {
	if p == nil || len(p.Steps) == 0 {
		return "none"
	}
	parts := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

// String renders the step as name or name{key=value,...}, keys sorted.
func (s Step) String() string {
	if len(s.Values) == 0 {
		return s.Pass.Name
	}
	keys := make([]string, 0, len(s.Values))
	for k := range s.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]string, len(keys))
	for i, k := range keys {
		kv[i] = k + "=" + formatValue(s.Values[k])
	}
	return s.Pass.Name + "{" + strings.Join(kv, ",") + "}"
}

// Parse reads a pipeline spec: pass names separated by commas, each
// optionally followed by options in braces,
//
//	remove-dropout,fold-constants{max-bytes=4096},upgrade-opset{to=20},default
//
// "default" stands for the default pipeline (see Default), expanded when
// the pipeline reaches it. "" and "none" give the empty pipeline.
func Parse(spec string) (*Pipeline, error) {
	spec = strings.TrimSpace(spec)
	p := &Pipeline{}
	if spec == "" || spec == "none" {
		return p, nil
	}
	for rest := spec; ; {
		rest = strings.TrimLeft(rest, " \t\n")
		end := strings.IndexAny(rest, ",{")
		if end < 0 {
			end = len(rest)
		}
		name := strings.TrimSpace(rest[:end])
		rest = rest[end:]
		if name == "" {
			return nil, fmt.Errorf("pipeline %q: empty pass name", spec)
		}
		var args string
		if strings.HasPrefix(rest, "{") {
			close := strings.IndexByte(rest, '}')
			if close < 0 {
				return nil, fmt.Errorf("pipeline %q: missing '}' after options of %s", spec, name)
			}
			args, rest = rest[1:close], strings.TrimLeft(rest[close+1:], " \t\n")
			if strings.ContainsRune(args, '{') {
				return nil, fmt.Errorf("pipeline %q: nested '{' in options of %s", spec, name)
			}
		}
		if err := p.addSpecStep(name, args); err != nil {
			return nil, fmt.Errorf("pipeline %q: %w", spec, err)
		}
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, fmt.Errorf("pipeline %q: expected ',' after %s, found %q", spec, name, rest)
		}
		rest = rest[1:]
		if strings.TrimSpace(rest) == "" {
			return nil, fmt.Errorf("pipeline %q: trailing ','", spec)
		}
	}
	return p, nil
}

func (p *Pipeline) addSpecStep(name, args string) error {
	if name == "default" {
		if strings.TrimSpace(args) != "" {
			return fmt.Errorf("default takes no options")
		}
		p.Steps = append(p.Steps, Step{Pass: defaultStep})
		return nil
	}
	if name == "none" {
		return fmt.Errorf("none must be the whole pipeline")
	}
	pass := Lookup(name)
	if pass == nil {
		return unknownPass(name)
	}
	vals := map[string]any{}
	if strings.TrimSpace(args) != "" {
		for _, kv := range strings.Split(args, ",") {
			k, v, ok := strings.Cut(kv, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || k == "" {
				return fmt.Errorf("pass %s: option %q is not key=value", name, strings.TrimSpace(kv))
			}
			o := pass.option(k)
			if o == nil {
				return unknownOption(pass, k)
			}
			if _, dup := vals[k]; dup {
				return fmt.Errorf("pass %s: option %s given twice", name, k)
			}
			x, err := o.parse(v)
			if err != nil {
				return fmt.Errorf("pass %s: %v", name, err)
			}
			vals[k] = x
		}
	}
	p.Steps = append(p.Steps, Step{Pass: pass, Values: vals})
	return nil
}

func unknownPass(name string) error {
	var names []string
	for _, p := range All() {
		names = append(names, p.Name)
	}
	return fmt.Errorf("unknown pass %q (known: %s; see `nncc passes`)", name, strings.Join(names, ", "))
}

func unknownOption(p *Pass, k string) error {
	if len(p.Options) == 0 {
		return fmt.Errorf("pass %s takes no options (got %q)", p.Name, k)
	}
	var names []string
	for _, o := range p.Options {
		names = append(names, o.Name)
	}
	return fmt.Errorf("pass %s has no option %q (options: %s)", p.Name, k, strings.Join(names, ", "))
}

// Default returns the default inference clean-up pipeline for m:
// remove-dropout, eliminate-identity, fold-constants, fold-bn,
// fuse-matmul-add, fuse-layernorm (when m's opset is 17 or newer),
// fuse-gelu (opset 20 or newer) and eliminate-dead. Run upgrade-opset
// first to let the fusions apply to older models.
func Default(m *ir.Model) *Pipeline {
	names := []string{"remove-dropout", "eliminate-identity", "fold-constants", "fold-bn", "fuse-pad", "fuse-matmul-add"}
	opset := int64(0)
	if m != nil {
		opset = m.Opset("")
	}
	if opset >= 17 {
		names = append(names, "fuse-layernorm")
	}
	if opset >= 20 {
		names = append(names, "fuse-gelu")
	}
	names = append(names, "eliminate-dead")
	p := &Pipeline{}
	for _, n := range names {
		p.Steps = append(p.Steps, Step{Pass: Lookup(n)})
	}
	return p
}

// RunOptions control Pipeline.Run.
type RunOptions struct {
	// VerifyEach runs ir.Verify after every pass that changed the model
	// and compares the model's outputs with the original's on Inputs and
	// on Samples sets of seeded random inputs (see package check).
	VerifyEach bool
	// Inputs is one set of graph inputs, by name, to compare on.
	Inputs map[string]*ir.Tensor
	// Samples is the number of random input sets; when 0 and Inputs is
	// empty, one set is drawn. When random inputs cannot be drawn (an
	// input has a symbolic dimension other than the first and neither
	// Shapes nor Dims binds it) and Inputs is given, only Inputs is used.
	Samples int
	// Shapes fixes the shape of random inputs by input name; Dims binds
	// symbolic dimensions by name (an unbound leading dimension is 1).
	Shapes map[string][]int64
	Dims   map[string]int64
	// Seed seeds the random inputs.
	Seed int64
	// Atol and Rtol bound |after - before| <= Atol + Rtol*|before| for
	// every output element. When both are 0, 1e-4 and 1e-3 are used.
	Atol, Rtol float64
	// Log, when set, receives a line per pass and per declined case.
	Log io.Writer
	// Calib, Budget, Threads and Progress are handed to every pass's
	// Context (see there).
	Calib    calib.Dataset
	Budget   *budget.Budget
	Threads  int
	Progress func(label string, done, total int)
	// Plots receives the charts passes draw (compile --report-plots).
	Plots PlotSink
}

// Report records what each pass did.
type Report struct {
	Pipeline string       `json:"pipeline"`
	Passes   []PassReport `json:"passes"`
	// Verification says on what the outputs were compared when
	// VerifyEach was set.
	Verification *VerifySetup `json:"verification,omitempty"`
	// Accuracy is the whole pipeline's result on the budget's evaluation
	// data, when RunOptions.Budget was set.
	Accuracy *AccuracyReport `json:"accuracy,omitempty"`
}

// AccuracyReport compares the pipeline's result with the original on the
// budget's evaluation data.
type AccuracyReport struct {
	Original   budget.Score `json:"original"`
	Final      budget.Score `json:"final"`
	DropPoints float64      `json:"drop_points"`
	MaxDrop    float64      `json:"max_drop_points"`
	Holds      bool         `json:"holds"`
}

// ErrOverBudget is returned by Pipeline.Run when the finished model loses
// more than RunOptions.Budget allows (the report says by how much).
var ErrOverBudget = errors.New("the result is outside the accuracy budget")

// PassReport is one pass's entry in a Report.
type PassReport struct {
	Name    string         `json:"name"`
	Options map[string]any `json:"options,omitempty"`
	Seconds float64        `json:"seconds"`
	// Nodes counts the nodes of every graph (subgraphs included); Params
	// counts constant elements and ParamBytes their storage.
	NodesBefore      int       `json:"nodes_before"`
	NodesAfter       int       `json:"nodes_after"`
	ParamsBefore     int64     `json:"params_before"`
	ParamsAfter      int64     `json:"params_after"`
	ParamBytesBefore int64     `json:"param_bytes_before"`
	ParamBytesAfter  int64     `json:"param_bytes_after"`
	Changed          bool      `json:"changed"`
	Declined         []Decline `json:"declined,omitempty"`
	// DeclinedOmitted counts declined cases beyond the first
	// maxDeclines, which are not listed.
	DeclinedOmitted int `json:"declined_omitted,omitempty"`
	// Verified holds the comparison with the original model's outputs,
	// when VerifyEach was set and the pass changed the model.
	Verified *VerifyResult `json:"verified,omitempty"`
	// Details is the pass's own record (Context.SetDetails).
	Details any    `json:"details,omitempty"`
	Error   string `json:"error,omitempty"`
}

const maxDeclines = 200

// Run applies the pipeline to m in place and reports what each pass did.
// It stops at the first pass that fails, or (with VerifyEach) at the
// first whose result does not verify or whose outputs move beyond
// tolerance; the error names that pass and the report covers the passes
// run so far.
func (p *Pipeline) Run(m *ir.Model, opts RunOptions) (*Report, error) {
	rep := &Report{Pipeline: p.String(), Passes: []PassReport{}}
	if m == nil || m.Graph == nil {
		return rep, errors.New("passes: model has no graph")
	}
	var ref *reference
	if opts.VerifyEach {
		var err error
		if ref, err = newReference(m, opts); err != nil {
			return rep, fmt.Errorf("--verify-each: %w", err)
		}
		rep.Verification = &ref.setup
	}
	for _, st := range p.Steps {
		steps := []Step{st}
		if st.Pass == defaultStep {
			// Expanded now, so that it sees the opset earlier steps left.
			steps = Default(m).Steps
		}
		for _, st := range steps {
			pr, err := runStep(m, st, opts, ref)
			rep.Passes = append(rep.Passes, pr)
			if err != nil {
				return rep, err
			}
		}
	}
	if opts.Budget != nil {
		score, holds, err := opts.Budget.Measure(m)
		if err != nil {
			return rep, fmt.Errorf("measuring the result against the budget: %w", err)
		}
		rep.Accuracy = &AccuracyReport{Original: opts.Budget.Base, Final: score,
			DropPoints: opts.Budget.Drop(score), MaxDrop: opts.Budget.MaxDrop, Holds: holds}
		if !holds {
			return rep, fmt.Errorf("%w: %.2f points lost, %.2f allowed", ErrOverBudget, rep.Accuracy.DropPoints, opts.Budget.MaxDrop)
		}
	}
	return rep, nil
}

// runStep runs one pass and, with VerifyEach, checks its result.
func runStep(m *ir.Model, st Step, opts RunOptions, ref *reference) (pr PassReport, err error) {
	pr = PassReport{Name: st.Pass.Name, Options: st.Values}
	if len(pr.Options) == 0 {
		pr.Options = nil
	}
	pr.NodesBefore, pr.ParamsBefore, pr.ParamBytesBefore = modelStats(m)
	c, err := NewContext(m, st.Pass, st.Values)
	if err != nil {
		pr.Error = err.Error()
		return pr, err
	}
	c.log = opts.Log
	c.Calib, c.Budget, c.Threads, c.Progress = opts.Calib, opts.Budget, opts.Threads, opts.Progress
	c.Plots = opts.Plots
	c.Logf("%s", st)
	wasRead := readConsts(m)
	start := time.Now()
	err = runPass(c)
	pr.Seconds = time.Since(start).Seconds()
	pr.Changed = c.changed
	if c.changed {
		tidy(m, wasRead)
	}
	pr.NodesAfter, pr.ParamsAfter, pr.ParamBytesAfter = modelStats(m)
	pr.Declined = c.declined
	pr.Details = c.details
	if len(pr.Declined) > maxDeclines {
		pr.DeclinedOmitted = len(pr.Declined) - maxDeclines
		pr.Declined = pr.Declined[:maxDeclines]
	}
	if err != nil {
		err = fmt.Errorf("pass %s: %w", st.Pass.Name, err)
		pr.Error = err.Error()
		return pr, err
	}
	if ref != nil && c.changed {
		if verr := ir.Verify(m); verr != nil {
			err = fmt.Errorf("pass %s left an invalid graph: %w", st.Pass.Name, verr)
			pr.Error = err.Error()
			return pr, err
		}
		res, cerr := ref.compare(m)
		pr.Verified = res
		if cerr != nil && !st.Pass.Lossy {
			err = fmt.Errorf("pass %s: %w", st.Pass.Name, cerr)
			pr.Error = err.Error()
			return pr, err
		}
	}
	return pr, nil
}

// runPass calls the pass's Run, turning a panic into an error: a pass
// meeting input it did not expect must not take the program down.
func runPass(c *Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error (panic): %v", r)
		}
	}()
	return c.Pass.Run(c)
}

// modelStats counts the nodes of every graph of m and its constants.
func modelStats(m *ir.Model) (nodes int, params, bytes int64) {
	m.Graph.Walk(func(g *ir.Graph) { nodes += len(g.Nodes) })
	params, bytes = m.Graph.ParamStats()
	return nodes, params, bytes
}
