package passes

import (
	"fmt"

	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
)

// VerifySetup says what --verify-each compares on.
type VerifySetup struct {
	// Sets is the number of input sets: the given one, if any, then the
	// random ones.
	Sets   int     `json:"input_sets"`
	Given  bool    `json:"given_inputs"`
	Seed   int64   `json:"seed"`
	Atol   float64 `json:"atol"`
	Rtol   float64 `json:"rtol"`
	Inputs string  `json:"inputs"` // the random inputs' shapes, e.g. "x float32[1 3 8 8]"
}

// VerifyResult is the comparison of a pass's result with the original
// model, over all input sets.
type VerifyResult struct {
	// MaxAbsErr is the largest |after - before| over all outputs and
	// input sets; OutOfTolerance counts elements beyond tolerance.
	MaxAbsErr      float64       `json:"max_abs_err"`
	OutOfTolerance int64         `json:"out_of_tolerance"`
	Outputs        []check.Stats `json:"outputs"`
}

// reference holds the original model's outputs on the verification inputs.
type reference struct {
	setup  VerifySetup
	tol    check.Tolerance
	inputs []map[string]*ir.Tensor
	want   []map[string]*ir.Tensor
	names  []string // graph output names, in order
}

func newReference(m *ir.Model, opts RunOptions) (*reference, error) {
	r := &reference{tol: check.Tolerance{Atol: opts.Atol, Rtol: opts.Rtol}}
	if r.tol.Atol == 0 && r.tol.Rtol == 0 {
		r.tol = check.Tolerance{Atol: 1e-4, Rtol: 1e-3}
	}
	r.setup = VerifySetup{Seed: opts.Seed, Atol: r.tol.Atol, Rtol: r.tol.Rtol}
	if len(opts.Inputs) > 0 {
		r.inputs = append(r.inputs, opts.Inputs)
		r.setup.Given = true
	}
	samples := opts.Samples
	if samples == 0 && len(opts.Inputs) == 0 {
		samples = 1
	}
	specs, err := check.InputSpecs(m.Graph, opts.Shapes, opts.Dims)
	if err != nil && samples > 0 {
		if len(opts.Inputs) == 0 {
			return nil, fmt.Errorf("cannot draw random inputs: %v", err)
		}
		r.setup.Inputs = fmt.Sprintf("no random inputs (%v)", err)
		samples = 0
	}
	if samples > 0 {
		for _, s := range specs {
			if r.setup.Inputs != "" {
				r.setup.Inputs += ", "
			}
			r.setup.Inputs += fmt.Sprintf("%s %s%v", s.Name, s.DType, s.Dims)
		}
		for i := 0; i < samples; i++ {
			in, err := check.RandomInputs(specs, opts.Seed+int64(i))
			if err != nil {
				return nil, err
			}
			r.inputs = append(r.inputs, in)
		}
	}
	r.setup.Sets = len(r.inputs)
	for _, o := range m.Graph.Outputs {
		r.names = append(r.names, o.Name)
	}
	outs, err := runAll(m, r.inputs)
	if err != nil {
		return nil, fmt.Errorf("the runtime cannot run the original model: %w", err)
	}
	r.want = outs
	return r, nil
}

func runAll(m *ir.Model, inputs []map[string]*ir.Tensor) ([]map[string]*ir.Tensor, error) {
	s, err := runtime.NewSession(m, runtime.Options{})
	if err != nil {
		return nil, err
	}
	var all []map[string]*ir.Tensor
	for _, in := range inputs {
		out, err := s.Run(in)
		if err != nil {
			return nil, err
		}
		all = append(all, out)
	}
	return all, nil
}

// compare runs m on the reference inputs and compares every output with
// the original's. It fails when an output is missing, differs in shape or
// type, or moves beyond tolerance.
func (r *reference) compare(m *ir.Model) (*VerifyResult, error) {
	got, err := runAll(m, r.inputs)
	if err != nil {
		return nil, fmt.Errorf("the runtime cannot run the result: %w", err)
	}
	res := &VerifyResult{}
	worst := map[string]check.Stats{}
	var firstBad string
	for i := range r.inputs {
		for _, name := range r.names {
			g, ok := got[i][name]
			if !ok {
				return res, fmt.Errorf("graph output %q is gone", name)
			}
			s := check.Compare(name, r.want[i][name], g, r.tol)
			if s.MaxAbsErr > res.MaxAbsErr {
				res.MaxAbsErr = s.MaxAbsErr
			}
			res.OutOfTolerance += s.OutOfTol
			if w, ok := worst[name]; !ok || (!s.Within && w.Within) || (s.Within == w.Within && s.MaxAbsErr > w.MaxAbsErr) {
				worst[name] = s
			}
			if !s.Within && firstBad == "" {
				switch {
				case s.ShapeDiffer:
					firstBad = fmt.Sprintf("output %q changed type or shape (%s%v → %s%v) on input set %d",
						name, r.want[i][name].DType, r.want[i][name].Dims, g.DType, g.Dims, i)
				default:
					firstBad = fmt.Sprintf("output %q moved beyond tolerance on input set %d: max abs err %.3g, %d elements beyond atol %g + rtol %g·|x|",
						name, i, s.MaxAbsErr, s.OutOfTol, r.tol.Atol, r.tol.Rtol)
				}
			}
		}
	}
	for _, name := range r.names {
		res.Outputs = append(res.Outputs, worst[name])
	}
	if firstBad != "" {
		return res, fmt.Errorf("%s", firstBad)
	}
	return res, nil
}
