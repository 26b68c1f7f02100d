package gosrc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
)

// ModulePath is the module path of nncc, which generated code imports.
const ModulePath = "github.com/nncc/nncc"

// SourceRoot finds the root of nncc's source tree, which a generated
// package's module must replace github.com/nncc/nncc with to build
// against this nncc's kernels. It tries, in order: $NNCC_SOURCE_ROOT;
// the directory this file was compiled from (recorded in the binary
// unless built with -trimpath: covers `go run ./cmd/nncc`, `go test` and
// `go build` in a checkout); the directories above the running
// executable; the directories above the working directory. A candidate
// counts when its go.mod declares module github.com/nncc/nncc and it has
// a kernels directory.
func SourceRoot() (string, error) {
	if env := os.Getenv("NNCC_SOURCE_ROOT"); env != "" {
		if isRoot(env) {
			return filepath.Abs(env)
		}
		return "", fmt.Errorf("NNCC_SOURCE_ROOT=%s is not nncc's source tree (no go.mod of %s with kernels/)", env, ModulePath)
	}
	var starts []string
	if _, file, _, ok := goruntime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		starts = append(starts, filepath.Dir(exe))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, s := range starts {
		for d := s; ; d = filepath.Dir(d) {
			if isRoot(d) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", errors.New("cannot find nncc's source tree to build the generated package against; set NNCC_SOURCE_ROOT to the directory holding nncc's go.mod")
}

func isRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if strings.TrimSpace(first) != "module "+ModulePath {
		return false
	}
	st, err := os.Stat(filepath.Join(dir, "kernels"))
	return err == nil && st.IsDir()
}

// harnessMain is the program Build wraps around a generated package: it
// reads input sets from stdin (uint32 count, then per input a uint64
// length and that many little-endian float32), runs the model on each and
// writes the outputs the same way. With -bench N it times N runs of the
// first set instead and prints JSON.
const harnessMain = `package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/nncc/nncc/kernels"
	model "nnccharness/model"
)

func main() {
	bench := flag.Int("bench", 0, "time this many runs of the first input set")
	allocs := flag.Int("allocs", 0, "report the allocations per Run over this many runs of the first input set")
	threads := flag.Int("threads", 0, "kernels' thread count (0: their default)")
	flag.Parse()
	if *threads > 0 {
		kernels.SetThreads(*threads)
	}
	m := model.New()
	r := bufio.NewReader(os.Stdin)
	w := bufio.NewWriter(os.Stdout)
	le := binary.LittleEndian
	for {
		var k uint32
		if err := binary.Read(r, le, &k); err == io.EOF {
			break
		} else if err != nil {
			fail(err)
		}
		ins := make([][]float32, k)
		for i := range ins {
			var n uint64
			if err := binary.Read(r, le, &n); err != nil {
				fail(err)
			}
			ins[i] = make([]float32, n)
			if err := binary.Read(r, le, ins[i]); err != nil {
				fail(err)
			}
		}
		if *allocs > 0 {
			m.Run(ins...) // prepare for this batch size
			a := testing.AllocsPerRun(*allocs, func() {
				if _, err := m.Run(ins...); err != nil {
					fail(err)
				}
			})
			json.NewEncoder(os.Stdout).Encode(map[string]float64{"allocs_per_run": a})
			return
		}
		if *bench > 0 {
			for i := 0; i < 3; i++ {
				if _, err := m.Run(ins...); err != nil {
					fail(err)
				}
			}
			t := make([]float64, *bench)
			for i := range t {
				start := time.Now()
				if _, err := m.Run(ins...); err != nil {
					fail(err)
				}
				t[i] = float64(time.Since(start).Nanoseconds()) / 1e6
			}
			sort.Float64s(t)
			json.NewEncoder(os.Stdout).Encode(map[string]float64{"median_ms": t[len(t)/2], "min_ms": t[0]})
			return
		}
		outs, err := m.Run(ins...)
		if err != nil {
			fail(err)
		}
		binary.Write(w, le, uint32(len(outs)))
		for _, o := range outs {
			binary.Write(w, le, uint64(len(o)))
			binary.Write(w, le, o)
		}
	}
	if err := w.Flush(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "harness:", err)
	os.Exit(1)
}
`

// Harness is a built program running one generated package.
type Harness struct {
	Bin string
	Dir string // the temporary module (removed by Close)
}

// Build copies the generated package in pkgDir into a temporary module
// that replaces github.com/nncc/nncc with root, adds the harness main and
// builds it (the Go build cache makes rebuilds cheap). It also runs go
// vet on the package when vet is set.
func Build(pkgDir, root string, vet bool) (*Harness, error) {
	tmp, err := os.MkdirTemp("", "nncc-gosrc-")
	if err != nil {
		return nil, err
	}
	h := &Harness{Bin: filepath.Join(tmp, "harness"), Dir: tmp}
	fail := func(err error) (*Harness, error) {
		h.Close()
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "model"), 0o755); err != nil {
		return fail(err)
	}
	for _, f := range []string{ModelFile, WeightsFile} {
		b, err := os.ReadFile(filepath.Join(pkgDir, f))
		if err != nil {
			return fail(fmt.Errorf("%s is not a generated package: %w", pkgDir, err))
		}
		if f == ModelFile {
			// the harness imports it as package model whatever its name
			b = renamePackage(b)
		}
		if err := os.WriteFile(filepath.Join(tmp, "model", f), b, 0o644); err != nil {
			return fail(err)
		}
	}
	gomod := fmt.Sprintf("module nnccharness\n\ngo 1.26\n\nrequire %s v0.0.0-00010101000000-000000000000\n\nreplace %s => %s\n", ModulePath, ModulePath, root)
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte(gomod), 0o644); err != nil {
		return fail(err)
	}
	if sum, err := os.ReadFile(filepath.Join(root, "go.sum")); err == nil {
		if err := os.WriteFile(filepath.Join(tmp, "go.sum"), sum, 0o644); err != nil {
			return fail(err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "main.go"), []byte(harnessMain), 0o644); err != nil {
		return fail(err)
	}
	goCmd := func(args ...string) error {
		cmd := exec.Command("go", args...)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := goCmd("build", "-o", h.Bin, "."); err != nil {
		return fail(err)
	}
	if vet {
		if err := goCmd("vet", "./model"); err != nil {
			return fail(err)
		}
	}
	return h, nil
}

// renamePackage rewrites the package clause of generated source to
// "package model".
func renamePackage(src []byte) []byte {
	lines := bytes.Split(src, []byte("\n"))
	for i, l := range lines {
		if bytes.HasPrefix(l, []byte("package ")) {
			lines[i] = []byte("package model")
			break
		}
	}
	return bytes.Join(lines, []byte("\n"))
}

// Close removes the temporary module.
func (h *Harness) Close() error { return os.RemoveAll(h.Dir) }

// Run runs the model on each input set (inputs in InputNames order) and
// returns the outputs of each.
func (h *Harness) Run(sets [][][]float32) ([][][]float32, error) {
	cmd := exec.Command(h.Bin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		w := bufio.NewWriter(stdin)
		for _, set := range sets {
			writeSet(w, set)
		}
		w.Flush()
		stdin.Close()
	}()
	r := bufio.NewReader(stdout)
	var res [][][]float32
	for range sets {
		set, err := readSet(r)
		if err != nil {
			_ = cmd.Wait()
			return nil, fmt.Errorf("generated model: %v: %s", err, strings.TrimSpace(stderr.String()))
		}
		res = append(res, set)
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("generated model: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return res, nil
}

// AllocsPerRun reports the average allocations of one Run on set (after
// a first run that prepares the batch size), via testing.AllocsPerRun,
// with package kernels running on threads threads (0: its default).
func (h *Harness) AllocsPerRun(set [][]float32, runs, threads int) (float64, error) {
	var r struct {
		Allocs float64 `json:"allocs_per_run"`
	}
	err := h.runJSON(set, &r, "-allocs", fmt.Sprint(runs), "-threads", fmt.Sprint(threads))
	return r.Allocs, err
}

// runJSON runs the harness binary with args on one input set and
// decodes the JSON it prints into v.
func (h *Harness) runJSON(set [][]float32, v any, args ...string) error {
	cmd := exec.Command(h.Bin, args...)
	var in, stderr bytes.Buffer
	w := bufio.NewWriter(&in)
	writeSet(w, set)
	w.Flush()
	cmd.Stdin = &in
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("generated model: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return json.Unmarshal(out, v)
}

// BenchResult is a timing of the generated model.
type BenchResult struct {
	MedianMS float64 `json:"median_ms"`
	MinMS    float64 `json:"min_ms"`
}

// Bench times iters runs of the model on one input set.
func (h *Harness) Bench(set [][]float32, iters int) (BenchResult, error) {
	var br BenchResult
	err := h.runJSON(set, &br, "-bench", fmt.Sprint(iters))
	return br, err
}

func writeSet(w io.Writer, set [][]float32) {
	le := binary.LittleEndian
	binary.Write(w, le, uint32(len(set)))
	for _, x := range set {
		binary.Write(w, le, uint64(len(x)))
		b := make([]byte, 4*len(x))
		for i, f := range x {
			le.PutUint32(b[4*i:], math.Float32bits(f))
		}
		w.Write(b)
	}
}

func readSet(r io.Reader) ([][]float32, error) {
	le := binary.LittleEndian
	var k uint32
	if err := binary.Read(r, le, &k); err != nil {
		return nil, err
	}
	set := make([][]float32, k)
	for i := range set {
		var n uint64
		if err := binary.Read(r, le, &n); err != nil {
			return nil, err
		}
		if n > 1<<32 {
			return nil, fmt.Errorf("output of %d elements", n)
		}
		set[i] = make([]float32, n)
		if err := binary.Read(r, le, set[i]); err != nil {
			return nil, err
		}
	}
	return set, nil
}
