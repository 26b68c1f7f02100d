// Command gosrc times the Go package `nncc compile --emit go` generates
// against `nncc bench` (the runtime) on the same compiled model, one
// thread, and writes the table to the gosrc block of docs/gosrc.md.
// `make bench` runs it after the runtime benchmark; run it alone with
//
//	go run ./bench/gosrc [-rounds 5] [-doc docs/gosrc.md]
//
// Each model is compiled once with the default pipeline (the ONNX file
// nncc bench times) and once with --emit go (the package, built with a
// harness in a temporary module). The two are timed in alternating
// rounds, each a fresh process timing a number of runs after a warm-up;
// a figure is the median over rounds of each round's fastest run (on a
// shared machine the fastest run is the least disturbed measure of the
// code itself; medians move with the load).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nncc/nncc/backend/gosrc"
	"github.com/nncc/nncc/bench/internal/report"
)

type benchCase struct {
	name   string
	model  string
	shape  string // --shape for both (NAME=dims)
	per    int    // input elements
	iters  int
	passes string // pipeline (default: the default one)
	calib  string // calibration rows of lossy passes
}

var cases = []benchCase{
	{"digits_cnn b1", "testmodels/digits_cnn.onnx", "input=1x1x8x8", 64, 400, "", ""},
	{"digits_cnn b64", "testmodels/digits_cnn.onnx", "input=64x1x8x8", 64, 100, "", ""},
	{"digits_cnn int8 b64", "testmodels/digits_cnn.onnx", "input=64x1x8x8", 64, 100, "default,quantize", "testmodels/data/digits_calib_x.npy"},
	{"ppocr_cls b1", "/tmp/nncc-models/ppocr_cls.onnx", "x=1x3x48x192", 3 * 48 * 192, 200, "", ""},
	{"ppocr_cls int8 b1", "/tmp/nncc-models/ppocr_cls.onnx", "x=1x3x48x192", 3 * 48 * 192, 200, "default,quantize", "/tmp/nncc-models/ppocr_cls_data/calib_x.npy"},
	{"mobilenet_v2 b1", "bench/models/mobilenet_v2.onnx", "input=1x3x224x224", 3 * 224 * 224, 40, "", ""},
}

func main() {
	rounds := flag.Int("rounds", 5, "alternating rounds per engine")
	doc := flag.String("doc", "docs/gosrc.md", "Markdown file whose gosrc block is rewritten ('' for none)")
	only := flag.String("only", "", "run only cases whose name contains this")
	flag.Parse()
	if err := run(*rounds, *doc, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench/gosrc:", err)
		os.Exit(1)
	}
}

func run(rounds int, doc, only string) error {
	machine := report.DescribeMachine()
	root, err := gosrc.SourceRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "nncc-bench-gosrc-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	nncc := filepath.Join(tmp, "nncc")
	if out, err := exec.Command("go", "build", "-o", nncc, "./cmd/nncc").CombinedOutput(); err != nil {
		return fmt.Errorf("building nncc: %v\n%s", err, out)
	}
	var rows []string
	for i, c := range cases {
		if only != "" && !strings.Contains(c.name, only) {
			continue
		}
		if _, err := os.Stat(c.model); err != nil || c.calib != "" && !exists(c.calib) {
			rows = append(rows, fmt.Sprintf("| %s | — | — | — | model or data absent (passes/testdata/models/fetch.sh, testmodels/ocr_data.py) | — |", c.name))
			continue
		}
		opt := filepath.Join(tmp, fmt.Sprintf("m%d.onnx", i))
		pkg := filepath.Join(tmp, fmt.Sprintf("pkg%d", i))
		args := []string{"compile", c.model, "-o", opt}
		if c.passes != "" {
			args = append(args, "--passes", c.passes, "--calib", c.calib, "--quiet")
		}
		if out, err := exec.Command(nncc, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", c.name, err, out)
		}
		// the package is generated from the compiled model with the same shape
		if out, err := exec.Command(nncc, "compile", opt, "-o", pkg, "--emit", "go", "--passes", "none", "--shape", c.shape).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", c.name, err, out)
		}
		wst, err := os.Stat(filepath.Join(pkg, gosrc.WeightsFile))
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		h, err := gosrc.Build(pkg, root, false)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		batch := 1
		if _, dims, ok := strings.Cut(c.shape, "="); ok {
			fmt.Sscan(strings.Split(dims, "x")[0], &batch)
		}
		x := make([]float32, c.per*batch)
		for j := range x {
			x[j] = float32(math.Sin(float64(j) * 0.37))
		}
		var rt, gen []float64
		for r := 0; r < rounds; r++ {
			for k := 0; k < 2; k++ {
				if (r+k)%2 == 0 {
					ms, err := benchRuntime(nncc, opt, c)
					if err != nil {
						h.Close()
						return fmt.Errorf("%s: nncc bench: %w", c.name, err)
					}
					rt = append(rt, ms)
				} else {
					res, err := h.Bench([][]float32{x}, c.iters)
					if err != nil {
						h.Close()
						return fmt.Errorf("%s: %w", c.name, err)
					}
					gen = append(gen, res.MinMS)
				}
			}
		}
		h.Close()
		mr, mg := median(rt), median(gen)
		fmt.Printf("%-16s runtime %.3f ms  generated %.3f ms  (%.2fx, fastest runs)\n", c.name, mr, mg, mr/mg)
		rows = append(rows, fmt.Sprintf("| %s | %.3f | %.3f | %.2f× | %s | %.1f |", c.name, mr, mg, mr/mg, spread(rt, gen), float64(wst.Size())/1024))
	}
	if doc == "" {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- generated by `go run ./bench/gosrc`; edits here are overwritten -->\n\n")
	b.WriteString(machine.Markdown())
	fmt.Fprintf(&b, "\nOne thread; each figure is the median over %d alternating rounds per engine (each a fresh process, runs after a warm-up) of the round's fastest run.\n\n", rounds)
	b.WriteString("| model | nncc bench (ms) | generated Go (ms) | speed-up | round spread (runtime / generated) | weights.bin (KiB) |\n|---|---:|---:|---:|---|---:|\n")
	b.WriteString(strings.Join(rows, "\n") + "\n")
	return report.ReplaceBlock(doc, "gosrc", b.String())
}

func benchRuntime(nncc, model string, c benchCase) (float64, error) {
	out, err := exec.Command(nncc, "bench", model, "--shape", c.shape, "--iters", fmt.Sprint(c.iters), "--threads", "1", "--json").Output()
	if err != nil {
		return 0, err
	}
	var r struct {
		MinMS float64 `json:"min_ms"`
	}
	err = json.Unmarshal(out, &r)
	return r.MinMS, err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func spread(a, b []float64) string {
	f := func(x []float64) string {
		m := median(x)
		return fmt.Sprintf("±%.0f%%", 50*(slices.Max(x)-slices.Min(x))/m)
	}
	return f(a) + " / " + f(b)
}
