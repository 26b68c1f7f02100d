package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

// EvalOptions are the flags of `nncc eval`.
type EvalOptions struct {
	Model   string
	Data    string
	Labels  string
	Batch   int
	Threads int
	JSON    bool
	// NoOptimize runs the model as loaded, without the default pipeline.
	NoOptimize bool
}

func newEvalCmd() *cobra.Command {
	opts := &EvalOptions{}
	cmd := &cobra.Command{
		Use:   "eval MODEL --data X.npy --labels Y.npy",
		Short: "Measure the top-1 accuracy of a classifier on a labelled data set",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			return runEval(opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Data, "data", "", "inputs, first axis = samples (.npy or .pb)")
	f.StringVar(&opts.Labels, "labels", "", "integer class labels, one per sample (.npy or .pb)")
	f.IntVar(&opts.Batch, "batch", 64, "samples per run")
	f.IntVar(&opts.Threads, "threads", 1, "threads (0: one per CPU)")
	f.BoolVar(&opts.JSON, "json", false, `print {"accuracy": ..., "n": ...}`)
	f.BoolVar(&opts.NoOptimize, "no-optimize", false, "run the model as loaded, without the default inference pipeline in memory")
	return cmd
}

// EvalResult is the JSON output of `nncc eval`.
type EvalResult struct {
	Accuracy float64 `json:"accuracy"`
	N        int     `json:"n"`
	Correct  int     `json:"correct"`
}

func runEval(opts *EvalOptions, w io.Writer) error {
	if opts.Data == "" || opts.Labels == "" {
		return usageError(fmt.Errorf("eval needs --data and --labels"))
	}
	if opts.Batch <= 0 {
		return usageError(fmt.Errorf("--batch must be positive"))
	}
	m, err := onnx.Load(opts.Model)
	if err != nil {
		return err
	}
	res, err := evaluate(optimized(m, opts.NoOptimize), opts)
	if err != nil {
		return err
	}
	if opts.JSON {
		return json.NewEncoder(w).Encode(res)
	}
	_, err = fmt.Fprintf(w, "accuracy %.4f (%d of %d)\n", res.Accuracy, res.Correct, res.N)
	return err
}

func evaluate(m *ir.Model, opts *EvalOptions) (*EvalResult, error) {
	x, err := readTensor(opts.Data)
	if err != nil {
		return nil, err
	}
	y, err := readTensor(opts.Labels)
	if err != nil {
		return nil, err
	}
	if len(x.Dims) == 0 || x.DType == ir.String {
		return nil, badInputError(fmt.Errorf("%s: data must have a sample axis", opts.Data))
	}
	if y.DType.IsFloat() || y.DType == ir.String {
		return nil, badInputError(fmt.Errorf("%s: labels must be integers, not %s", opts.Labels, y.DType))
	}
	n := int(x.Dims[0])
	labels := y.Int64s()
	if len(labels) != n {
		return nil, badInputError(fmt.Errorf("%d labels for %d samples", len(labels), n))
	}
	var inName string
	for _, v := range m.Graph.Inputs {
		if v.Const == nil {
			if inName != "" {
				return nil, usageError(fmt.Errorf("eval needs a model with one input"))
			}
			inName = v.Name
		}
	}
	sampleBytes := len(x.Data) / max(n, 1)
	res := &EvalResult{N: n}
	var sess *session
	for start := 0; start < n; start += opts.Batch {
		end := min(start+opts.Batch, n)
		batch := &ir.Tensor{DType: x.DType, Dims: append([]int64{int64(end - start)}, x.Dims[1:]...), Data: x.Data[start*sampleBytes : end*sampleBytes]}
		if sess == nil || end-start != opts.Batch {
			if sess, err = newSession(opts.Model, m, opts.Threads, map[string]*ir.Tensor{inName: batch}); err != nil {
				return nil, err
			}
		}
		outs, err := sess.Run(map[string]*ir.Tensor{inName: batch})
		if err != nil {
			return nil, err
		}
		logits := outs[m.Graph.Outputs[0].Name]
		if len(logits.Dims) < 1 || logits.Dims[0] != int64(end-start) {
			return nil, fmt.Errorf("output %s has shape %v, want a first axis of %d", m.Graph.Outputs[0].Name, logits.Dims, end-start)
		}
		vals := logits.Float64s()
		classes := len(vals) / (end - start)
		for i := 0; i < end-start; i++ {
			if int64(check.Argmax(vals[i*classes:(i+1)*classes])) == labels[start+i] {
				res.Correct++
			}
		}
	}
	if n > 0 {
		res.Accuracy = float64(res.Correct) / float64(n)
	}
	return res, nil
}
