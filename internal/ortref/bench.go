package ortref

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
)

// BenchOptions configure Bench. Zero values take the harness defaults.
type BenchOptions struct {
	Inputs  map[string]string // graph input name -> .pb or .npy; others get seeded random data
	Dims    map[string]int64  // symbolic dim -> value for random inputs (default 1)
	Iters   int               // timed runs (default 100)
	Warmup  int               // untimed runs first (default 10; negative means none)
	Threads int               // intra-op threads (default 1)
	Opt     string            // graph optimization level (default OptAll)
}

// BenchResult is onnxruntime's latency for one model, in milliseconds.
type BenchResult struct {
	Iters    int     `json:"iters"`
	MedianMS float64 `json:"median_ms"`
	MinMS    float64 `json:"min_ms"`
	P90MS    float64 `json:"p90_ms"`
	MeanMS   float64 `json:"mean_ms"`
}

// Bench times onnxruntime's session.run on model, in a fresh node
// process.
func Bench(ctx context.Context, model string, o BenchOptions) (BenchResult, error) {
	args := []string{Script(), "bench", "--model", model}
	for _, name := range sortedKeys(o.Inputs) {
		args = append(args, "--input", name+"="+o.Inputs[name])
	}
	for _, name := range sortedKeys(o.Dims) {
		args = append(args, "--dim", name+"="+strconv.FormatInt(o.Dims[name], 10))
	}
	if o.Iters > 0 {
		args = append(args, "--iters", strconv.Itoa(o.Iters))
	}
	if o.Warmup != 0 {
		args = append(args, "--warmup", strconv.Itoa(max(o.Warmup, 0)))
	}
	if o.Threads > 0 {
		args = append(args, "--threads", strconv.Itoa(o.Threads))
	}
	if o.Opt != "" {
		args = append(args, "--opt", o.Opt)
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return BenchResult{}, fmt.Errorf("ortref: bench %s: %v: %s", model, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var r BenchResult
	if err := json.Unmarshal(out, &r); err != nil {
		return BenchResult{}, fmt.Errorf("ortref: bench %s answered %q: %v", model, out, err)
	}
	return r, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
