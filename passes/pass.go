package passes

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nncc/nncc/budget"
	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
)

// A Pass is one named graph transformation. Passes are values: the
// built-in ones are registered by this package, and a program may
// Register its own before parsing a pipeline that names it.
type Pass struct {
	// Name is the kebab-case name used in pipeline specs ("fold-bn").
	Name string
	// Doc is a summary line, then optionally a blank line and details.
	Doc string
	// Options are the typed parameters the pass accepts, with defaults.
	Options []Option
	// Run transforms c.Model in place. It must leave the model unchanged
	// where it meets a case it does not handle, and say why with
	// c.Declinef. It returns an error only when it cannot do what was
	// asked at all (for example upgrade-opset to an opset it cannot
	// reach); it must then also leave the model unchanged.
	Run func(c *Context) error
	// Lossy marks a pass that changes what the model computes on purpose
	// (quantization, pruning). --verify-each still verifies the IR after
	// it and records the comparison with the original, but does not fail
	// on the difference: a lossy pass is held to the accuracy budget
	// (Context.Budget) instead.
	Lossy bool
}

// Summary returns the first line of the pass's Doc.
func (p *Pass) Summary() string {
	s, _, _ := strings.Cut(p.Doc, "\n")
	return strings.TrimSpace(s)
}

// Details returns the Doc after its summary line, trimmed.
func (p *Pass) Details() string {
	_, d, _ := strings.Cut(p.Doc, "\n")
	return strings.TrimSpace(d)
}

// option returns the option called name, or nil.
func (p *Pass) option(name string) *Option {
	for i := range p.Options {
		if p.Options[i].Name == name {
			return &p.Options[i]
		}
	}
	return nil
}

// OptionType is the type of an option's value.
type OptionType int

// The option types. Values in specs are written as Go would parse them:
// integers in decimal, floats as strconv.ParseFloat reads them, bools as
// true/false/1/0, strings as they are (without commas, braces or '=').
const (
	Int OptionType = iota + 1
	Float
	Bool
	String
)

func (t OptionType) String() string {
	switch t {
	case Int:
		return "int"
	case Float:
		return "float"
	case Bool:
		return "bool"
	case String:
		return "string"
	}
	return "option-type(" + strconv.Itoa(int(t)) + ")"
}

// Option describes one parameter of a pass.
type Option struct {
	Name    string // kebab-case
	Type    OptionType
	Default any // int64, float64, bool or string, matching Type
	Doc     string
	// Choices, when set, lists the values a String option accepts.
	Choices []string
}

// parse converts s to the option's type.
func (o *Option) parse(s string) (any, error) {
	switch o.Type {
	case Int:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("option %s wants an integer, not %q", o.Name, s)
		}
		return v, nil
	case Float:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("option %s wants a number, not %q", o.Name, s)
		}
		return v, nil
	case Bool:
		v, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("option %s wants true or false, not %q", o.Name, s)
		}
		return v, nil
	case String:
		if len(o.Choices) > 0 && !contains(o.Choices, s) {
			return nil, fmt.Errorf("option %s must be one of %s, not %q", o.Name, strings.Join(o.Choices, ", "), s)
		}
		return s, nil
	}
	return nil, fmt.Errorf("option %s has an unknown type", o.Name)
}

// check reports whether v has the option's type.
func (o *Option) check(v any) error {
	ok := false
	switch o.Type {
	case Int:
		_, ok = v.(int64)
	case Float:
		_, ok = v.(float64)
	case Bool:
		_, ok = v.(bool)
	case String:
		var s string
		s, ok = v.(string)
		if ok && len(o.Choices) > 0 && !contains(o.Choices, s) {
			return fmt.Errorf("option %s must be one of %s, not %q", o.Name, strings.Join(o.Choices, ", "), s)
		}
	}
	if !ok {
		return fmt.Errorf("option %s is %s, not %T", o.Name, o.Type, v)
	}
	return nil
}

// format renders a value of the option as a spec would write it.
func formatValue(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Context is what a pass's Run sees: the model, its option values, and
// the means to report what it did.
type Context struct {
	Model *ir.Model
	Pass  *Pass

	// Calib holds calibration samples (nil when none were given): what
	// quantization observes and pruning re-fits to.
	Calib calib.Dataset
	// Budget, when set, is the accuracy a lossy pass may spend; it holds
	// the original model's score, measured once by the pipeline.
	Budget *budget.Budget
	// Threads bounds the goroutines a pass uses when it runs the model
	// (0: one per CPU). Results must not depend on it.
	Threads int
	// Progress, when set, receives a line of progress for long work
	// (calibration, sensitivity sweeps); callers draw it as they like.
	Progress func(label string, done, total int)
	// Plots, when set, receives the charts the pass draws (see PlotSink).
	Plots PlotSink

	details any

	values   map[string]any
	changed  bool
	declined []Decline
	log      io.Writer
	names    map[*ir.Graph]map[string]bool // per graph: names its values use, and those NewName handed out
	handed   map[string]bool               // every name NewName handed out during this run
	inputs   map[*ir.Value]bool
}

// NewContext prepares a Context for running pass p over m with the given
// option values (missing options take their defaults). It is what
// Pipeline.Run uses; call it directly to run a single pass by hand.
func NewContext(m *ir.Model, p *Pass, values map[string]any) (*Context, error) {
	c := &Context{Model: m, Pass: p, values: map[string]any{}, names: map[*ir.Graph]map[string]bool{}, handed: map[string]bool{}}
	for _, o := range p.Options {
		c.values[o.Name] = o.Default
	}
	for k, v := range values {
		o := p.option(k)
		if o == nil {
			return nil, fmt.Errorf("pass %s has no option %q", p.Name, k)
		}
		if err := o.check(v); err != nil {
			return nil, fmt.Errorf("pass %s: %v", p.Name, err)
		}
		c.values[k] = v
	}
	return c, nil
}

// Int returns the value of the Int option name. It panics if the pass
// declares no such option: that is a bug in the pass.
func (c *Context) Int(name string) int64 { return c.value(name, Int).(int64) }

// Float returns the value of the Float option name.
func (c *Context) Float(name string) float64 { return c.value(name, Float).(float64) }

// Bool returns the value of the Bool option name.
func (c *Context) Bool(name string) bool { return c.value(name, Bool).(bool) }

// String returns the value of the String option name.
func (c *Context) String(name string) string { return c.value(name, String).(string) }

func (c *Context) value(name string, t OptionType) any {
	o := c.Pass.option(name)
	if o == nil || o.Type != t {
		panic(fmt.Sprintf("passes: pass %s reads undeclared %s option %q", c.Pass.Name, t, name))
	}
	return c.values[name]
}

// Opset returns the model's default-domain opset.
func (c *Context) Opset() int64 { return c.Model.Opset("") }

// Changed records that the pass modified the model.
func (c *Context) Changed() { c.changed = true }

// DidChange reports whether Changed was called.
func (c *Context) DidChange() bool { return c.changed }

// Decline is a case a pass met and left alone, with the reason.
type Decline struct {
	Node   string `json:"node,omitempty"`
	OpType string `json:"op_type,omitempty"`
	Reason string `json:"reason"`
}

func (d Decline) String() string {
	switch {
	case d.Node != "" || d.OpType != "":
		return fmt.Sprintf("%s (%s): %s", d.Node, d.OpType, d.Reason)
	}
	return d.Reason
}

// Declinef records that the pass left node n (which may be nil) as it is,
// and why.
func (c *Context) Declinef(n *ir.Node, format string, args ...any) {
	d := Decline{Reason: fmt.Sprintf(format, args...)}
	if n != nil {
		d.Node, d.OpType = n.Label(), n.OpType
	}
	c.declined = append(c.declined, d)
	c.Logf("  declined %s", d)
}

// SetDetails attaches a pass-specific record (per-layer scales, SQNR,
// sparsity, sensitivity, ...) to the pass's report; it is marshalled to
// JSON as the report's "details".
func (c *Context) SetDetails(v any) { c.details = v }

// Details returns what SetDetails attached.
func (c *Context) Details() any { return c.details }

// Declined returns the cases recorded with Declinef.
func (c *Context) Declined() []Decline { return c.declined }

// Logf writes a line to the pipeline's log, if any.
func (c *Context) Logf(format string, args ...any) {
	if c.log != nil {
		fmt.Fprintf(c.log, format+"\n", args...)
	}
}

// NewName returns a name based on base (base, else base_1, base_2, …)
// that no value of g (or of its subgraphs) uses and that this pass has
// not handed out before. The names g uses are collected once, at the
// first call for g in this run, so a pass that adds many values stays
// linear; values a pass adds after that must take their names from
// NewName too.
func (c *Context) NewName(g *ir.Graph, base string) string {
	used := c.names[g]
	if used == nil {
		used = g.ValueNames()
		c.names[g] = used
	}
	name := base
	for i := 1; name == "" || used[name] || c.handed[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	used[name] = true
	c.handed[name] = true
	return name
}

// The registry.

var (
	regMu    sync.RWMutex
	registry = map[string]*Pass{}
)

var kebab = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Register adds p to the registry so that pipeline specs can name it. It
// fails when the name is not kebab-case or taken by another pass, the Doc
// has no summary, Run is nil, or an option is malformed. Registering the
// same pass again does nothing.
func Register(p *Pass) error {
	if p == nil || !kebab.MatchString(p.Name) {
		return fmt.Errorf("passes: pass name %q is not kebab-case", nameOf(p))
	}
	if p.Name == "default" || p.Name == "none" {
		return fmt.Errorf("passes: %q is reserved in pipeline specs", p.Name)
	}
	if p.Summary() == "" {
		return fmt.Errorf("passes: pass %s has no summary line in Doc", p.Name)
	}
	if p.Run == nil {
		return fmt.Errorf("passes: pass %s has no Run function", p.Name)
	}
	seen := map[string]bool{}
	for i := range p.Options {
		o := &p.Options[i]
		if !kebab.MatchString(o.Name) || seen[o.Name] {
			return fmt.Errorf("passes: pass %s: option name %q is not kebab-case or repeats", p.Name, o.Name)
		}
		seen[o.Name] = true
		if err := o.check(o.Default); err != nil {
			return fmt.Errorf("passes: pass %s: default of %v", p.Name, err)
		}
		if o.Doc == "" {
			return fmt.Errorf("passes: pass %s: option %s has no Doc", p.Name, o.Name)
		}
	}
	regMu.Lock()
	defer regMu.Unlock()
	if old, dup := registry[p.Name]; dup {
		if old == p {
			return nil
		}
		return fmt.Errorf("passes: pass %s is already registered", p.Name)
	}
	registry[p.Name] = p
	return nil
}

func nameOf(p *Pass) string {
	if p == nil {
		return "<nil>"
	}
	return p.Name
}

// mustRegister registers the built-in passes at init.
func mustRegister(ps ...*Pass) {
	for _, p := range ps {
		if err := Register(p); err != nil {
			panic(err)
		}
	}
}

// Lookup returns the registered pass called name, or nil.
func Lookup(name string) *Pass {
	regMu.RLock()
	defer regMu.RUnlock()
	return registry[name]
}

// All returns the registered passes sorted by name.
func All() []*Pass {
	regMu.RLock()
	defer regMu.RUnlock()
	ps := make([]*Pass, 0, len(registry))
	for _, p := range registry {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return ps
}
