// Command bigload measures how long nncc takes to save and load a model
// with about 1 GiB of weights, and how much memory that takes.
//
// It synthesises a chain of MatMuls whose weights are -n float32
// initializers of -mib/n MiB each, and saves it twice: inline (one
// protobuf file) and with the weights in an external data file. Every
// measurement runs in a fresh child process (this program re-executed
// with -child), so each peak resident set size (VmHWM) belongs to that
// operation alone:
//
//	save     build the model in memory, then onnx.Save it
//	marshal  the same, with onnx.Marshal: encoding without the file
//	read     os.ReadFile of the model's file(s): the floor for any loader
//	load     onnx.Load, then check sampled weights and the retained heap
//
// Files are read from the page cache (they were just written), so load
// times are those of a warm cache. The figures go to stdout and, with
// -doc, into the bigload block of docs/performance.md.
//
//	go run ./bench/bigload [-mib 1024] [-n 16] [-runs 3] [-doc docs/performance.md]
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nncc/nncc/bench/internal/report"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/testmodels"
)

type options struct {
	mib   int    // total weight size
	n     int    // number of weight tensors
	runs  int    // load and read repetitions
	dir   string // where the models go
	keep  bool
	doc   string
	child string // the child's mode, set when re-executed
	path  string // the child's model
	ext   bool   // the child's model (save mode) goes external
}

func main() {
	var o options
	flag.IntVar(&o.mib, "mib", 1024, "total weight size in MiB")
	flag.IntVar(&o.n, "n", 16, "number of weight tensors (square float32 matrices)")
	flag.IntVar(&o.runs, "runs", 3, "repetitions of each read and load (median time, largest peak)")
	flag.StringVar(&o.dir, "dir", "", "directory for the models (default: a new temporary directory, removed afterwards)")
	flag.BoolVar(&o.keep, "keep", false, "keep the models")
	flag.StringVar(&o.doc, "doc", "", "Markdown file whose bigload block receives the table")
	flag.StringVar(&o.child, "child", "", "internal: run one measurement (save, marshal, read or load) and print it as JSON")
	flag.StringVar(&o.path, "path", "", "internal: the child's model file")
	flag.BoolVar(&o.ext, "external", false, "internal: the child saves with external data")
	flag.Parse()
	var err error
	if o.child != "" {
		err = child(o)
	} else {
		err = parent(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bigload:", err)
		os.Exit(1)
	}
}

// side is the side of the square weight matrices: n of them hold about
// mib MiB of float32s.
func side(mib, n int) int64 {
	return int64(math.Round(math.Sqrt(float64(mib) * (1 << 20) / 4 / float64(n))))
}

// weightBits is the bit pattern of element j of weight i: a float in
// [1, 2) that differs from tensor to tensor and element to element, so a
// loader that mixes up tensors or offsets is caught by the sampled check.
func weightBits(i int, j int64) uint32 {
	h := uint32(i)*0x9e3779b9 ^ uint32(j)*0x85ebca6b ^ uint32(j>>32)*0xc2b2ae35
	return 0x3f800000 | h>>9
}

// synth builds the model: y = x·W0·W1·…·W(n-1).
func synth(mib, n int) (*ir.Model, int64) {
	s := side(mib, n)
	b := testmodels.NewBuilder("bigload", 13)
	x := b.Input("x", ir.Float32, 1, s)
	var total int64
	for i := 0; i < n; i++ {
		data := make([]byte, 4*s*s)
		for j := int64(0); j < s*s; j++ {
			binary.LittleEndian.PutUint32(data[4*j:], weightBits(i, j))
		}
		total += int64(len(data))
		w := b.Const(fmt.Sprintf("w%d", i), &ir.Tensor{DType: ir.Float32, Dims: []int64{s, s}, Data: data})
		x = b.Node("MatMul", []*ir.Value{x, w})
	}
	x.Type = ir.TensorType(ir.Float32, 1, s)
	b.Output(x)
	return b.Model(), total
}

// Measurement is what a child reports.
type Measurement struct {
	Mode       string  `json:"mode"`
	Seconds    float64 `json:"seconds"`
	PeakRSS    int64   `json:"peak_rss"`             // VmHWM at the end, bytes
	StartRSS   int64   `json:"start_rss"`            // VmRSS before the operation (save: after building the model)
	Retained   int64   `json:"retained,omitempty"`   // load: heap in use after a GC, model still referenced
	Weights    int64   `json:"weights"`              // weight bytes the model holds
	FileBytes  int64   `json:"file_bytes,omitempty"` // bytes read (read mode)
	SampledOK  int     `json:"sampled_ok,omitempty"` // load: weight elements checked
	GoMaxProcs int     `json:"gomaxprocs"`
}

func child(o options) error {
	m := Measurement{Mode: o.child, GoMaxProcs: runtime.GOMAXPROCS(0)}
	switch o.child {
	case "save":
		model, total := synth(o.mib, o.n)
		m.Weights = total
		m.StartRSS = procStatus("VmRSS")
		start := time.Now()
		if err := onnx.Save(model, o.path, onnx.SaveOptions{ExternalData: o.ext}); err != nil {
			return err
		}
		m.Seconds = time.Since(start).Seconds()
		runtime.KeepAlive(model)
	case "marshal":
		model, total := synth(o.mib, o.n)
		m.Weights = total
		m.StartRSS = procStatus("VmRSS")
		start := time.Now()
		data, _, ext, err := onnx.Marshal(model, filepath.Base(o.path), onnx.SaveOptions{ExternalData: o.ext})
		if err != nil {
			return err
		}
		m.Seconds = time.Since(start).Seconds()
		m.FileBytes = int64(len(data) + len(ext))
		runtime.KeepAlive(model)
	case "read":
		m.StartRSS = procStatus("VmRSS")
		files := []string{o.path}
		if _, err := os.Stat(o.path + ".data"); err == nil {
			files = append(files, o.path+".data")
		}
		start := time.Now()
		var bufs [][]byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			bufs = append(bufs, b)
			m.FileBytes += int64(len(b))
		}
		m.Seconds = time.Since(start).Seconds()
		runtime.KeepAlive(bufs)
	case "load":
		m.StartRSS = procStatus("VmRSS")
		start := time.Now()
		model, err := onnx.Load(o.path)
		if err != nil {
			return err
		}
		m.Seconds = time.Since(start).Seconds()
		if m.SampledOK, m.Weights, err = check(model, o.n); err != nil {
			return err
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		m.Retained = int64(ms.HeapInuse)
		runtime.KeepAlive(model)
	default:
		return fmt.Errorf("unknown -child mode %q", o.child)
	}
	m.PeakRSS = procStatus("VmHWM")
	return json.NewEncoder(os.Stdout).Encode(m)
}

// check verifies that the loaded model has the n weights synth made, by
// dims and at 4096 sampled elements each, and returns the count checked
// and the weight bytes.
func check(m *ir.Model, n int) (int, int64, error) {
	if len(m.Graph.Consts) != n {
		return 0, 0, fmt.Errorf("loaded %d weights, want %d", len(m.Graph.Consts), n)
	}
	var total int64
	checked := 0
	for _, v := range m.Graph.Consts {
		var i int
		if _, err := fmt.Sscanf(v.Name, "w%d", &i); err != nil {
			return 0, 0, fmt.Errorf("unexpected weight %q", v.Name)
		}
		t := v.Const
		elems := int64(len(t.Data) / 4)
		if len(t.Dims) != 2 || t.Dims[0]*t.Dims[1] != elems {
			return 0, 0, fmt.Errorf("weight %s: dims %v for %d bytes", v.Name, t.Dims, len(t.Data))
		}
		total += int64(len(t.Data))
		for k := int64(0); k < 4096; k++ {
			j := (k * 1_000_003) % elems
			if got, want := binary.LittleEndian.Uint32(t.Data[4*j:]), weightBits(i, j); got != want {
				return 0, 0, fmt.Errorf("weight %s element %d: %#x, want %#x", v.Name, j, got, want)
			}
			checked++
		}
	}
	return checked, total, nil
}

// procStatus returns a "kB" field of /proc/self/status in bytes, or -1.
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return -1
		}
		return kb << 10
	}
	return -1
}

// runChild re-executes this program for one measurement.
func runChild(o options, mode, path string, external bool) (Measurement, error) {
	exe, err := os.Executable()
	if err != nil {
		return Measurement{}, err
	}
	args := []string{"-child", mode, "-path", path, "-mib", strconv.Itoa(o.mib), "-n", strconv.Itoa(o.n)}
	if external {
		args = append(args, "-external")
	}
	cmd := exec.Command(exe, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Measurement{}, fmt.Errorf("%s %s: %v: %s", mode, path, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var m Measurement
	if err := json.Unmarshal(out, &m); err != nil {
		return Measurement{}, fmt.Errorf("%s %s answered %q: %v", mode, path, out, err)
	}
	if m.PeakRSS < 0 {
		return Measurement{}, errors.New("no VmHWM in /proc/self/status (bigload needs Linux)")
	}
	return m, nil
}

// result is one table row: an operation on one layout, over runs.
type result struct {
	layout, op string
	seconds    float64 // median
	peak       int64   // largest
	start      int64
	retained   int64
	files      int64
}

func parent(o options) error {
	if o.mib < 1 || o.n < 1 || o.runs < 1 {
		return errors.New("-mib, -n and -runs must be positive")
	}
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "nncc-bigload-"); err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	}
	machine := report.DescribeMachine()
	s := side(o.mib, o.n)
	weights := int64(o.n) * 4 * s * s
	fmt.Fprintf(os.Stderr, "bigload: %d weights of %dx%d float32 (%s) in %s\n", o.n, s, s, size(weights), dir)

	var rows []result
	for _, layout := range []struct {
		name     string
		external bool
	}{{"inline", false}, {"external data", true}} {
		path := filepath.Join(dir, strings.ReplaceAll(layout.name, " ", "_")+".onnx")
		sv, err := runChild(o, "save", path, layout.external)
		if err != nil {
			return err
		}
		if sv.Weights != weights {
			return fmt.Errorf("the saving child built %d weight bytes, want %d", sv.Weights, weights)
		}
		rows = append(rows, result{layout: layout.name, op: "onnx.Save", seconds: sv.Seconds, peak: sv.PeakRSS, start: sv.StartRSS})
		fmt.Fprintln(os.Stderr, rows[len(rows)-1].text(weights))
		mr, err := runChild(o, "marshal", path, layout.external)
		if err != nil {
			return err
		}
		rows = append(rows, result{layout: layout.name, op: "onnx.Marshal", seconds: mr.Seconds, peak: mr.PeakRSS, start: mr.StartRSS, files: mr.FileBytes})
		fmt.Fprintln(os.Stderr, rows[len(rows)-1].text(weights))
		for _, mode := range []string{"read", "load"} {
			var times []float64
			r := result{layout: layout.name, op: map[string]string{"read": "os.ReadFile", "load": "onnx.Load"}[mode]}
			for k := 0; k < o.runs; k++ {
				m, err := runChild(o, mode, path, layout.external)
				if err != nil {
					return err
				}
				if mode == "load" && m.Weights != weights {
					return fmt.Errorf("loaded %d weight bytes, want %d", m.Weights, weights)
				}
				times = append(times, m.Seconds)
				r.peak = max(r.peak, m.PeakRSS)
				r.start, r.retained, r.files = m.StartRSS, m.Retained, m.FileBytes
			}
			slices.Sort(times)
			r.seconds = times[len(times)/2]
			rows = append(rows, r)
			fmt.Fprintln(os.Stderr, r.text(weights))
		}
	}
	md := markdown(o, machine, s, weights, rows)
	if o.doc == "" {
		fmt.Print(md)
		return nil
	}
	return report.ReplaceBlock(o.doc, "bigload", md)
}

func (r result) text(weights int64) string {
	s := fmt.Sprintf("%-13s %-12s %6.2f s  peak RSS %s (%.2f× weights)", r.layout, r.op, r.seconds, size(r.peak), float64(r.peak)/float64(weights))
	if r.retained > 0 {
		s += fmt.Sprintf(", heap after GC %s", size(r.retained))
	}
	return s
}

func markdown(o options, m report.Machine, s, weights int64, rows []result) string {
	var b strings.Builder
	b.WriteString("<!-- generated by `go run ./bench/bigload -doc docs/performance.md`; edits here are overwritten -->\n\n")
	fmt.Fprintf(&b, "A chain of %d MatMuls with %d×%d float32 weights: %s of weights (%d MiB requested). ", o.n, s, s, size(weights), o.mib)
	fmt.Fprintf(&b, "Each operation runs in a fresh process; times are the median of %d runs (save: one run), peak RSS is the largest VmHWM, and files are read from a warm page cache.\n\n", o.runs)
	b.WriteString(m.Markdown())
	b.WriteString("\n| layout | operation | time (s) | throughput | peak RSS | peak RSS / weights | note |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		note := ""
		switch r.op {
		case "onnx.Save":
			note = fmt.Sprintf("includes fsync and rename; the model in memory: %s before saving", size(r.start))
		case "onnx.Marshal":
			note = fmt.Sprintf("encoding only, no file: %s of bytes", size(r.files))
		case "onnx.Load":
			note = fmt.Sprintf("heap in use after GC, model held: %s (%.2f× weights)", size(r.retained), float64(r.retained)/float64(weights))
		case "os.ReadFile":
			note = fmt.Sprintf("%s read", size(r.files))
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f GiB/s | %s | %.2f× | %s |\n", r.layout, r.op, r.seconds,
			float64(weights)/(1<<30)/r.seconds, size(r.peak), float64(r.peak)/float64(weights), note)
	}
	return b.String()
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	default:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
}
