package ortref

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
)

// Graph optimization levels of onnxruntime, for Job.Opt.
const (
	OptDisabled = "disabled" // run the graph as written
	OptBasic    = "basic"
	OptExtended = "extended"
	OptAll      = "all" // the harness default
)

// Job is one model run.
type Job struct {
	// Model is the .onnx file.
	Model string `json:"model"`
	// Inputs maps graph input names to .pb (TensorProto) or .npy files.
	Inputs map[string]string `json:"inputs,omitempty"`
	// InputFiles feeds graph inputs in order, as ONNX's test data sets
	// name them (input_0.pb, input_1.pb, ...). It may be combined with
	// Inputs, which wins for the names it gives.
	InputFiles []string `json:"input_files,omitempty"`
	// Out is the directory output_<i>.pb files are written to; it is
	// created if missing.
	Out string `json:"out"`
	// Opt is onnxruntime's graph optimization level; "" means OptAll.
	Opt string `json:"opt,omitempty"`
	// Threads is the intra-op thread count; 0 means 1.
	Threads int `json:"threads,omitempty"`
}

// Output describes one output file of a job.
type Output struct {
	Name  string  `json:"name"`  // graph output name
	File  string  `json:"file"`  // Out/output_<i>.pb
	DType string  `json:"dtype"` // onnxruntime's type name, e.g. "float32"
	Dims  []int64 `json:"dims"`
}

// Result is the outcome of one job.
type Result struct {
	Outputs []Output `json:"outputs"` // in graph-output order
	Err     string   `json:"error"`   // onnxruntime's message if the job failed
}

// Tensors reads the job's output files.
func (r *Result) Tensors() ([]*ir.Tensor, error) {
	if r.Err != "" {
		return nil, errors.New(r.Err)
	}
	ts := make([]*ir.Tensor, len(r.Outputs))
	for i, o := range r.Outputs {
		t, _, err := onnx.ReadTensorFile(o.File)
		if err != nil {
			return nil, fmt.Errorf("output %d (%s): %w", i, o.Name, err)
		}
		ts[i] = t
	}
	return ts, nil
}

// Script returns the path of the harness: $NNCC_ORTRUN if set, else
// tools/ort/ortrun.js in the source tree this package was built from.
func Script() string {
	if s := os.Getenv("NNCC_ORTRUN"); s != "" {
		return s
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("tools", "ort", "ortrun.js")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "tools", "ort", "ortrun.js")
}

// Available reports whether node, the harness and its onnxruntime-node
// package are installed.
func Available() bool {
	return availableErr() == nil
}

func availableErr() error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node is not on PATH")
	}
	s := Script()
	if _, err := os.Stat(s); err != nil {
		return fmt.Errorf("harness missing: %v", err)
	}
	pkg := filepath.Join(filepath.Dir(s), "node_modules", "onnxruntime-node", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		return fmt.Errorf("onnxruntime-node not installed (cd %s && npm ci --ignore-scripts)", filepath.Dir(s))
	}
	return nil
}

// Require skips tb when onnxruntime is unavailable, or fails it when the
// environment sets NNCC_REQUIRE_ORT=1.
func Require(tb testing.TB) {
	tb.Helper()
	err := availableErr()
	if err == nil {
		return
	}
	if os.Getenv("NNCC_REQUIRE_ORT") == "1" {
		tb.Fatalf("onnxruntime reference required (NNCC_REQUIRE_ORT=1) but unavailable: %v", err)
	}
	tb.Skipf("onnxruntime reference unavailable: %v", err)
}

// Run runs jobs in one harness process. See RunContext.
func Run(jobs []Job) ([]Result, error) {
	return RunContext(context.Background(), jobs)
}

// RunContext runs jobs in one harness process and returns one Result per
// job, in order. A job onnxruntime fails on reports it in Result.Err; the
// error is for a harness that cannot run or misbehaves, or for jobs
// without a model or output directory.
func RunContext(ctx context.Context, jobs []Job) ([]Result, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	for i, j := range jobs {
		if j.Model == "" || j.Out == "" {
			return nil, fmt.Errorf("ortref: job %d needs Model and Out", i)
		}
	}
	in, err := json.Marshal(jobs)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "node", Script(), "run")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ortref: harness: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	res := make([]Result, len(jobs))
	seen := make([]bool, len(jobs))
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var line struct {
			Job *int `json:"job"`
			Result
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("ortref: harness answered %q: %v", sc.Bytes(), err)
		}
		if line.Job == nil || *line.Job < 0 || *line.Job >= len(jobs) || seen[*line.Job] {
			return nil, fmt.Errorf("ortref: harness answered for a bad or repeated job: %q", sc.Bytes())
		}
		seen[*line.Job] = true
		res[*line.Job] = line.Result
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ortref: reading harness output: %v", err)
	}
	if n != len(jobs) {
		return nil, fmt.Errorf("ortref: harness answered %d of %d jobs: %s", n, len(jobs), bytes.TrimSpace(stderr.Bytes()))
	}
	return res, nil
}
