package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/spf13/cobra"

	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/split"
)

// VerifyOptions are the flags of `nncc verify`.
type VerifyOptions struct {
	Reference, Candidate string
	Inputs               []string
	Shapes               []string
	Samples              int
	Seed                 int64
	Atol, Rtol           float64
	Threads              int
	JSON                 bool
	// NoOptimize runs the candidate as loaded; otherwise it runs after the
	// default pipeline in memory. The reference always runs as loaded.
	NoOptimize bool
}

func newVerifyCmd() *cobra.Command {
	opts := &VerifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify REFERENCE CANDIDATE",
		Short: "Check that a compiled model computes what the original computes",
		Long: `verify runs both models on the same inputs (given with --input, or
--samples seeded random draws) and reports, per output, the largest
absolute and relative errors, the cosine similarity and the top-1
agreement. It exits 1 when an output is outside |cand-ref| <= atol +
rtol*|ref|.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Reference, opts.Candidate = args[0], args[1]
			return runVerify(opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Inputs, "input", nil, "input tensor file, [NAME=]FILE (repeatable); disables --samples")
	f.StringArrayVar(&opts.Shapes, "shape", nil, "input shape NAME=d0xd1x... or symbolic dim DIM=n")
	f.IntVar(&opts.Samples, "samples", 3, "random input sets to draw")
	f.Int64Var(&opts.Seed, "seed", 1, "seed of the first random input set")
	f.Float64Var(&opts.Atol, "atol", 1e-4, "absolute tolerance")
	f.Float64Var(&opts.Rtol, "rtol", 1e-3, "relative tolerance")
	f.IntVar(&opts.Threads, "threads", 1, "threads (0: one per CPU)")
	f.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	f.BoolVar(&opts.NoOptimize, "no-optimize", false, "run the candidate as loaded (the reference always runs as loaded)")
	return cmd
}

// VerifyReport is the JSON output of `nncc verify`.
type VerifyReport struct {
	Samples int           `json:"samples"`
	Atol    float64       `json:"atol"`
	Rtol    float64       `json:"rtol"`
	Outputs []check.Stats `json:"outputs"`
	Pass    bool          `json:"pass"`
}

func runVerify(opts *VerifyOptions, w io.Writer) error {
	if isGoPackageDir(opts.Candidate) {
		return runVerifyGo(opts, w) // a package from --emit go (verify_gosrc.go)
	}
	if split.IsDir(opts.Candidate) {
		return verifySplitDir(opts, w)
	}
	ref, err := onnx.Load(opts.Reference)
	if err != nil {
		return err
	}
	cand, err := onnx.Load(opts.Candidate)
	if err != nil {
		return err
	}
	cand = optimized(cand, opts.NoOptimize)
	if len(ref.Graph.Outputs) != len(cand.Graph.Outputs) {
		return failedError(fmt.Errorf("reference has %d outputs, candidate %d", len(ref.Graph.Outputs), len(cand.Graph.Outputs)))
	}
	rep, tol, err := newVerifyReport(opts)
	if err != nil {
		return err
	}
	samples := rep.Samples
	for s := 0; s < samples; s++ {
		inputs, want, err := referenceSample(opts, ref, s)
		if err != nil {
			return err
		}
		got, err := runModel(opts.Candidate, cand, opts.Threads, inputs)
		if err != nil {
			return err
		}
		for i, v := range ref.Graph.Outputs {
			rep.add(s, i, check.Compare(v.Name, want[i], got[i], tol))
		}
	}
	rep.finish()
	if opts.JSON {
		if err := writeJSON(w, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "%d sample(s), tolerance atol %g rtol %g\n", samples, opts.Atol, opts.Rtol)
		rep.print(w, true)
	}
	if !rep.Pass {
		return failedError(errors.New("candidate outputs differ from the reference beyond tolerance"))
	}
	return nil
}

// newVerifyReport starts the report of a comparison: --samples sets of
// inputs, or one when --input files are given.
func newVerifyReport(opts *VerifyOptions) (*VerifyReport, check.Tolerance, error) {
	samples := opts.Samples
	if len(opts.Inputs) > 0 {
		samples = 1
	}
	if samples < 1 {
		return nil, check.Tolerance{}, usageError(errors.New("--samples must be at least 1"))
	}
	rep := &VerifyReport{Samples: samples, Atol: opts.Atol, Rtol: opts.Rtol, Pass: true}
	return rep, check.Tolerance{Atol: opts.Atol, Rtol: opts.Rtol}, nil
}

// add records the comparison of output i on sample s.
func (r *VerifyReport) add(s, i int, st check.Stats) {
	if s == 0 {
		r.Outputs = append(r.Outputs, st)
		return
	}
	merge(&r.Outputs[i], st, s)
}

// finish sets Pass from the outputs' verdicts.
func (r *VerifyReport) finish() {
	for _, o := range r.Outputs {
		r.Pass = r.Pass && o.Within
	}
}

// print writes a line per output; top1 adds the top-1 agreement.
func (r *VerifyReport) print(w io.Writer, top1 bool) {
	for _, o := range r.Outputs {
		verdict := "ok"
		if !o.Within {
			verdict = fmt.Sprintf("FAIL (%d of %d elements out of tolerance)", o.OutOfTol, o.Elements)
		}
		t := ""
		if top1 {
			t = "top-1 n/a  "
			if o.Top1Agree >= 0 {
				t = fmt.Sprintf("top-1 %.4f  ", o.Top1Agree)
			}
		}
		fmt.Fprintf(w, "  %-20s max abs %.3g  max rel %.3g  cosine %.6f  %s%s\n", o.Name, o.MaxAbsErr, o.MaxRelErr, o.Cosine, t, verdict)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// merge folds the stats of sample s (s ≥ 1) into acc.
func merge(acc *check.Stats, st check.Stats, s int) {
	acc.MaxAbsErr = math.Max(acc.MaxAbsErr, st.MaxAbsErr)
	acc.MaxRelErr = math.Max(acc.MaxRelErr, st.MaxRelErr)
	acc.Cosine = math.Min(acc.Cosine, st.Cosine)
	if acc.Top1Agree >= 0 && st.Top1Agree >= 0 {
		acc.Top1Agree = (acc.Top1Agree*float64(s) + st.Top1Agree) / float64(s+1)
	}
	acc.Elements += st.Elements
	acc.OutOfTol += st.OutOfTol
	acc.ShapeDiffer = acc.ShapeDiffer || st.ShapeDiffer
	acc.Within = acc.Within && st.Within
}

// referenceSample binds the inputs of sample s (seeded inputs, or the
// --input files) and runs the reference model on them.
func referenceSample(opts *VerifyOptions, ref *ir.Model, s int) (map[string]*ir.Tensor, []*ir.Tensor, error) {
	inputs, err := bindInputs(ref, opts.Inputs, opts.Shapes, opts.Seed+int64(s))
	if err != nil {
		return nil, nil, err
	}
	want, err := runModel(opts.Reference, ref, opts.Threads, inputs)
	return inputs, want, err
}

// runModel runs m and returns its outputs in graph-output order.
func runModel(path string, m *ir.Model, threads int, inputs map[string]*ir.Tensor) ([]*ir.Tensor, error) {
	sess, err := newSession(path, m, threads, inputs)
	if err != nil {
		return nil, err
	}
	outs, err := sess.Run(inputs)
	if err != nil {
		return nil, err
	}
	res := make([]*ir.Tensor, len(m.Graph.Outputs))
	for i, v := range m.Graph.Outputs {
		res[i] = outs[v.Name]
	}
	return res, nil
}
