// Command opbench times single-node models shaped like the heavy nodes of
// PaddleOCR's text detector (depthwise 5×5 and 3×3 convolutions,
// ConvTranspose, GlobalAveragePool, Resize) in nncc's runtime and in
// onnxruntime, in interleaved rounds, and writes the table between the
// opbench markers of docs/kernels.md:
//
//	go run ./runtime/internal/opbench -doc docs/kernels.md [-before BIN]
//
// -before names an opbench binary built from an older commit (the same
// source copied into that checkout, see docs/kernels.md); its times
// become the "before" column. With -measure FILE it times one model in
// nncc and prints the median in milliseconds (what the rounds run, for
// this binary and the -before one).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	nrt "github.com/nncc/nncc/runtime"
	"github.com/nncc/nncc/testmodels"
)

const (
	begin = "<!-- opbench:begin -->"
	end   = "<!-- opbench:end -->"
)

// opCase is one single-node model.
type opCase struct {
	name  string
	build func(b *testmodels.Builder, r *rand.Rand)
}

func randF32(r *rand.Rand, dims ...int64) []float32 {
	s := make([]float32, ir.NumElements(dims))
	for i := range s {
		s[i] = float32(r.NormFloat64()) * 0.2
	}
	return s
}

// depthwise is a depthwise convolution of c channels h×w, k×k, stride s.
func depthwise(c, h, w, k, s int64) func(b *testmodels.Builder, r *rand.Rand) {
	return func(b *testmodels.Builder, r *rand.Rand) {
		x := b.Input("x", ir.Float32, 1, c, h, w)
		wt := b.F32("w", []int64{c, 1, k, k}, randF32(r, c, 1, k, k))
		bias := b.F32("b", []int64{c}, randF32(r, c))
		b.Output(b.Node("Conv", []*ir.Value{x, wt, bias}, ir.IntAttr("group", c),
			ir.IntsAttr("kernel_shape", k, k), ir.IntsAttr("strides", s, s), ir.IntsAttr("pads", k/2, k/2, k/2, k/2)))
	}
}

// convT is the detector's 2×2 stride-2 upsampling ConvTranspose.
func convT(c, m, h, w int64) func(b *testmodels.Builder, r *rand.Rand) {
	return func(b *testmodels.Builder, r *rand.Rand) {
		x := b.Input("x", ir.Float32, 1, c, h, w)
		wt := b.F32("w", []int64{c, m, 2, 2}, randF32(r, c, m, 2, 2))
		bias := b.F32("b", []int64{m}, randF32(r, m))
		b.Output(b.Node("ConvTranspose", []*ir.Value{x, wt, bias},
			ir.IntsAttr("kernel_shape", 2, 2), ir.IntsAttr("strides", 2, 2)))
	}
}

// resize doubles the last two axes of 1×c×h×w.
func resize(c, h, w int64, mode, coord string) func(b *testmodels.Builder, r *rand.Rand) {
	return func(b *testmodels.Builder, r *rand.Rand) {
		x := b.Input("x", ir.Float32, 1, c, h, w)
		roi := b.F32("roi", []int64{0}, nil)
		sc := b.F32("scales", []int64{4}, []float32{1, 1, 2, 2})
		attrs := []*ir.Attribute{ir.StringAttr("mode", mode), ir.StringAttr("coordinate_transformation_mode", coord)}
		if mode == "nearest" {
			attrs = append(attrs, ir.StringAttr("nearest_mode", "floor"))
		}
		b.Output(b.Node("Resize", []*ir.Value{x, roi, sc}, attrs...))
	}
}

var cases = []opCase{
	{"Conv dw5×5 s1 192×40×40", depthwise(192, 40, 40, 5, 1)},
	{"Conv dw5×5 s2 192×40×40", depthwise(192, 40, 40, 5, 2)},
	{"Conv dw5×5 s1 384×20×20", depthwise(384, 20, 20, 5, 1)},
	{"Conv dw3×3 s1 16×320×320", depthwise(16, 320, 320, 3, 1)},
	{"Conv dw3×3 s2 32×320×320", depthwise(32, 320, 320, 3, 2)},
	{"ConvTranspose 24→24 2×2 s2 160×160", convT(24, 24, 160, 160)},
	{"ConvTranspose 24→1 2×2 s2 320×320", convT(24, 1, 320, 320)},
	{"GlobalAveragePool 96×160×160", func(b *testmodels.Builder, r *rand.Rand) {
		x := b.Input("x", ir.Float32, 1, 96, 160, 160)
		b.Output(b.Node("GlobalAveragePool", []*ir.Value{x}))
	}},
	{"Resize nearest 2× 96×80×80", resize(96, 80, 80, "nearest", "asymmetric")},
	{"Resize linear 2× 96×80×80", resize(96, 80, 80, "linear", "half_pixel")},
}

func main() {
	doc := flag.String("doc", "docs/kernels.md", "document whose opbench block is rewritten")
	before := flag.String("before", "", "opbench binary of an older commit, timed as \"before\"")
	ortJS := flag.String("ort", "tools/ort/ortrun.js", "onnxruntime harness")
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	iters := flag.Int("iters", 30, "timed runs per measurement")
	threadList := flag.String("threads", "1,2", "thread counts")
	measure := flag.String("measure", "", "time this model in nncc and print the median ms")
	flag.Parse()
	if *measure != "" {
		th, _ := strconv.Atoi(*threadList)
		ms, err := timeModel(*measure, *iters, th)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ms)
		return
	}
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "opbench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var files []string
	for i, c := range cases {
		b := testmodels.NewBuilder("opbench", 13)
		c.build(b, rand.New(rand.NewPCG(uint64(i), 1)))
		f := filepath.Join(dir, fmt.Sprintf("case%d.onnx", i))
		if err := onnx.Save(b.Model(), f, onnx.SaveOptions{}); err != nil {
			log.Fatal(err)
		}
		files = append(files, f)
	}
	var threads []int
	for _, s := range strings.Split(*threadList, ",") {
		t, err := strconv.Atoi(s)
		if err != nil || t < 1 {
			log.Fatalf("bad -threads %q", *threadList)
		}
		threads = append(threads, t)
	}
	// times[kind][thread][case] holds one median per round.
	kinds := []string{"after", "ort"}
	if *before != "" {
		kinds = []string{"before", "after", "ort"}
	}
	times := map[string][][][]float64{}
	for _, k := range kinds {
		times[k] = make([][][]float64, len(threads))
		for t := range threads {
			times[k][t] = make([][]float64, len(cases))
		}
	}
	for r := 0; r < *rounds; r++ {
		for ti, th := range threads {
			for ci, f := range files {
				for _, k := range kinds {
					var ms float64
					var err error
					switch k {
					case "before":
						ms, err = run(*before, "-measure", f, "-iters", fmt.Sprint(*iters), "-threads", fmt.Sprint(th))
					case "after":
						ms, err = run(self, "-measure", f, "-iters", fmt.Sprint(*iters), "-threads", fmt.Sprint(th))
					case "ort":
						ms, err = runORT(*ortJS, f, *iters, th)
					}
					if err != nil {
						log.Fatalf("%s, %s: %v", cases[ci].name, k, err)
					}
					times[k][ti][ci] = append(times[k][ti][ci], ms)
				}
			}
		}
		fmt.Fprintf(os.Stderr, "round %d of %d done\n", r+1, *rounds)
	}
	table := render(kinds, threads, times, *rounds, *iters)
	if err := rewrite(*doc, table); err != nil {
		log.Fatal(err)
	}
	os.Stdout.WriteString(table)
}

// timeModel runs the model once to warm up, then iters times, and
// returns the median milliseconds of Session.Run.
func timeModel(file string, iters, threads int) (float64, error) {
	m, err := onnx.Load(file)
	if err != nil {
		return 0, err
	}
	s, err := nrt.NewSession(m, nrt.Options{Threads: threads})
	if err != nil {
		return 0, err
	}
	in := m.Graph.Inputs[0]
	dims, _ := in.Type.Shape.Static()
	r := rand.New(rand.NewPCG(1, 2))
	x := randF32(r, dims...)
	feed := map[string]*ir.Tensor{in.Name: ir.FromFloat32(dims, x)}
	for i := 0; i < 3; i++ {
		if _, err := s.Run(feed); err != nil {
			return 0, err
		}
	}
	ms := make([]float64, iters)
	for i := range ms {
		t0 := time.Now()
		if _, err := s.Run(feed); err != nil {
			return 0, err
		}
		ms[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
	}
	return median(ms), nil
}

func median(s []float64) float64 {
	s = slices.Clone(s)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func run(bin string, args ...string) (float64, error) {
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		return 0, fmt.Errorf("%s: %v", bin, err)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}

func runORT(js, file string, iters, threads int) (float64, error) {
	out, err := exec.Command("node", js, "bench", "--model", file, "--iters", fmt.Sprint(iters),
		"--warmup", "3", "--threads", fmt.Sprint(threads)).Output()
	if err != nil {
		return 0, fmt.Errorf("ortrun.js: %v", err)
	}
	var res struct {
		Median float64 `json:"median_ms"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("ortrun.js: %v in %q", err, out)
	}
	return res.Median, nil
}

func render(kinds []string, threads []int, times map[string][][][]float64, rounds, iters int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n<!-- generated by runtime/internal/opbench; edits here are overwritten -->\n\n", begin)
	cpu := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	commit, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, "- CPU: %s (%d logical CPUs); Go %s\n", cpu, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(&b, "- commit %s, measured %s, load average at the end: %s\n", strings.TrimSpace(string(commit)),
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	fmt.Fprintf(&b, "- %d interleaved rounds of %d timed runs each; medians of the rounds' medians, in µs\n\n", rounds, iters)
	for ti, th := range threads {
		fmt.Fprintf(&b, "**%d thread(s)**\n\n", th)
		hdr, sep := "| node |", "|---|"
		for _, k := range kinds {
			name := map[string]string{"before": "nncc before", "after": "nncc after", "ort": "onnxruntime"}[k]
			hdr += " " + name + " |"
			sep += "---:|"
		}
		if slices.Contains(kinds, "before") {
			hdr += " before/after |"
			sep += "---:|"
		}
		hdr += " nncc/ort |"
		sep += "---:|"
		fmt.Fprintf(&b, "%s\n%s\n", hdr, sep)
		for ci, c := range cases {
			row := "| " + c.name + " |"
			med := map[string]float64{}
			for _, k := range kinds {
				med[k] = median(times[k][ti][ci])
				row += fmt.Sprintf(" %.0f |", 1000*med[k])
			}
			if slices.Contains(kinds, "before") {
				row += fmt.Sprintf(" %.1f× |", med["before"]/med["after"])
			}
			row += fmt.Sprintf(" %.2f |", med["after"]/med["ort"])
			fmt.Fprintln(&b, row)
		}
		fmt.Fprintln(&b)
	}
	fmt.Fprintf(&b, "%s\n", end)
	return b.String()
}

// rewrite replaces the opbench block of doc with table (appending it when
// the document has none), atomically.
func rewrite(doc, table string) error {
	data, err := os.ReadFile(doc)
	if err != nil {
		return err
	}
	i, j := bytes.Index(data, []byte(begin)), bytes.Index(data, []byte(end))
	var out []byte
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s … %s block", doc, begin, end)
	}
	out = append(out, data[:i]...)
	out = append(out, table...)
	out = append(out, data[j+len(end)+1:]...)
	return onnx.WriteFileAtomic(doc, out)
}
