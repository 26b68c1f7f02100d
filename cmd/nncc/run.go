package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/split"
)

// RunOptions are the flags of `nncc run`.
type RunOptions struct {
	Model   string
	Inputs  []string
	Shapes  []string
	Seed    int64
	Out     string
	Threads int
	// NoOptimize runs the model as loaded, without the default pipeline.
	NoOptimize bool
}

func newRunCmd() *cobra.Command {
	opts := &RunOptions{}
	cmd := &cobra.Command{
		Use:   "run MODEL [--input [NAME=]FILE ...] [--out DIR]",
		Short: "Execute a model with nncc's CPU runtime",
		Long: `run executes MODEL on the given inputs (.npy or TensorProto .pb; unnamed
files bind in graph-input order) and writes DIR/output_<i>.npy in
graph-output order. Inputs not given are generated from --seed, with
symbolic dims bound by --shape.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			return runRun(opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Inputs, "input", nil, "input tensor file, [NAME=]FILE (repeatable)")
	f.StringArrayVar(&opts.Shapes, "shape", nil, "input shape NAME=d0xd1x... or symbolic dim DIM=n (repeatable)")
	f.Int64Var(&opts.Seed, "seed", 1, "seed for generated inputs")
	f.StringVar(&opts.Out, "out", "", "directory for output_<i>.npy files")
	f.IntVar(&opts.Threads, "threads", 1, "threads (0: one per CPU)")
	f.BoolVar(&opts.NoOptimize, "no-optimize", false, "run the model as loaded, without the default inference pipeline in memory")
	return cmd
}

func runRun(opts *RunOptions, w io.Writer) error {
	if split.IsDir(opts.Model) {
		return runSplitDir(opts, w)
	}
	m, inputs, sess, err := loadAndBind(opts.Model, opts.Inputs, opts.Shapes, opts.Seed, opts.Threads, opts.NoOptimize, nil)
	if err != nil {
		return err
	}
	outs, err := sess.Run(inputs)
	if err != nil {
		return err
	}
	if opts.Out != "" {
		if err := os.MkdirAll(opts.Out, 0o755); err != nil {
			return err
		}
	}
	names := make([]string, len(m.Graph.Outputs))
	for i, v := range m.Graph.Outputs {
		names[i] = v.Name
	}
	return writeOutputs(w, names, outs, opts.Out)
}

// writeOutputs prints a summary line per output and, when dir is set,
// writes each as dir/output_<i>.npy.
func writeOutputs(w io.Writer, names []string, outs map[string]*ir.Tensor, dir string) error {
	for i, name := range names {
		t := outs[name]
		fmt.Fprintf(w, "output %d %s: %s%v", i, name, t.DType, t.Dims)
		if t.DType.IsFloat() && t.NumElements() > 0 {
			fs := t.Float64s()
			lo, hi, sum := fs[0], fs[0], 0.0
			for _, x := range fs {
				lo, hi, sum = min(lo, x), max(hi, x), sum+x
			}
			fmt.Fprintf(w, " min %.6g max %.6g mean %.6g", lo, hi, sum/float64(len(fs)))
		}
		fmt.Fprintln(w)
		if dir == "" {
			continue
		}
		var buf bytes.Buffer
		if err := npy.Encode(&buf, t); err != nil {
			return fmt.Errorf("output %s: %v", name, err)
		}
		if err := onnx.WriteFileAtomic(filepath.Join(dir, fmt.Sprintf("output_%d.npy", i)), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
