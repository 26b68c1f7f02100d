package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nncc/nncc/check"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
	"github.com/nncc/nncc/runtime"
)

// readTensor reads a .npy or TensorProto .pb file.
func readTensor(path string) (*ir.Tensor, error) {
	if strings.EqualFold(filepath.Ext(path), ".npy") {
		t, err := npy.Read(path)
		if err != nil {
			return nil, badInputError(err)
		}
		return t, nil
	}
	t, _, err := onnx.ReadTensorFile(path)
	return t, err
}

// parseShapes reads --shape NAME=d0xd1x... flags. A NAME that is not an
// input name binds a symbolic dim of that name (--shape N=8).
func parseShapes(flags []string) (map[string][]int64, map[string]int64, error) {
	shapes, syms := map[string][]int64{}, map[string]int64{}
	for _, f := range flags {
		name, spec, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, nil, usageError(fmt.Errorf("--shape %q: want NAME=d0xd1x..., e.g. input=1x3x224x224", f))
		}
		var dims []int64
		if spec != "" {
			for _, p := range strings.Split(spec, "x") {
				d, err := strconv.ParseInt(p, 10, 64)
				if err != nil || d < 0 {
					return nil, nil, usageError(fmt.Errorf("--shape %q: %q is not a dimension", f, p))
				}
				dims = append(dims, d)
			}
		}
		shapes[name] = dims
		if len(dims) == 1 {
			syms[name] = dims[0]
		}
	}
	return shapes, syms, nil
}

// bindInputs reads the --input flags ([NAME=]FILE; unnamed files bind in
// graph-input order) and generates seeded random tensors for the inputs
// not given.
func bindInputs(m *ir.Model, files []string, shapeFlags []string, seed int64) (map[string]*ir.Tensor, error) {
	shapes, syms, err := parseShapes(shapeFlags)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, v := range m.Graph.Inputs {
		if v.Const == nil {
			names = append(names, v.Name)
		}
	}
	inputs := map[string]*ir.Tensor{}
	next := 0
	for _, f := range files {
		name, path, named := strings.Cut(f, "=")
		if !named || strings.ContainsAny(name, "/\\") {
			name, path = "", f
		}
		if name == "" {
			for next < len(names) && inputs[names[next]] != nil {
				next++
			}
			if next >= len(names) {
				return nil, usageError(fmt.Errorf("--input %s: the model has only %d inputs", f, len(names)))
			}
			name = names[next]
		} else if !contains(names, name) {
			return nil, usageError(fmt.Errorf("--input %s: the model has no input %q (inputs: %s)", f, name, strings.Join(names, ", ")))
		}
		t, err := readTensor(path)
		if err != nil {
			return nil, err
		}
		inputs[name] = t
	}
	// A tensor given as a file fixes its input's shape, named dims or not
	// (an exporter may leave dynamic dims unnamed: [?, ?]); --shape for
	// the same input must agree with it.
	for name, t := range inputs {
		if dims, ok := shapes[name]; ok && !slices.Equal(dims, t.Dims) {
			return nil, usageError(fmt.Errorf("--shape %s=%s disagrees with the shape %v of the tensor given by --input", name, dimsText(dims), t.Dims))
		}
		shapes[name] = t.Dims
	}
	// Bind symbolic dims from the given tensors too.
	for _, v := range m.Graph.Inputs {
		if t := inputs[v.Name]; t != nil && v.Type != nil && v.Type.HasShape && len(v.Type.Shape) == len(t.Dims) {
			for i, d := range v.Type.Shape {
				if d.Param != "" && syms[d.Param] == 0 {
					syms[d.Param] = t.Dims[i]
				}
			}
		}
	}
	specs, err := check.InputSpecs(m.Graph, shapes, syms)
	if err != nil {
		return nil, usageError(err)
	}
	var missing []check.InputSpec
	for _, s := range specs {
		if inputs[s.Name] == nil {
			missing = append(missing, s)
		}
	}
	gen, err := check.RandomInputs(missing, seed)
	if err != nil {
		return nil, usageError(err)
	}
	for k, v := range gen {
		inputs[k] = v
	}
	return inputs, nil
}

// dimsText writes dims as d0xd1x...
func dimsText(dims []int64) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return strings.Join(parts, "x")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// session is a runtime session over a model loaded from a file, whose
// errors name that file.
type session struct {
	path string
	s    *runtime.Session
}

// newSession wraps runtime.NewSession with the shapes of the inputs.
func newSession(path string, m *ir.Model, threads int, inputs map[string]*ir.Tensor) (*session, error) {
	return newSessionWith(path, m, runtime.Options{Threads: threads}, inputs)
}

// newSessionWith is newSession with further options (Shapes is set from
// inputs).
func newSessionWith(path string, m *ir.Model, o runtime.Options, inputs map[string]*ir.Tensor) (*session, error) {
	shapes := map[string][]int64{}
	for k, t := range inputs {
		shapes[k] = t.Dims
	}
	o.Shapes = shapes
	s, err := runtime.NewSession(m, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &session{path, s}, nil
}

// Run runs the model on inputs.
func (s *session) Run(inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	out, err := s.s.Run(inputs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	return out, nil
}

// optimized returns the model the runtime should execute for m: unless
// noOptimize, a copy of m rewritten in memory by the default inference
// pipeline (passes.Default: BatchNorm folding, constant folding,
// fusions), as onnxruntime optimises what it loads; m itself is never
// changed. Where the pipeline fails, m runs as loaded.
func optimized(m *ir.Model, noOptimize bool) *ir.Model {
	if noOptimize {
		return m
	}
	c := m.Clone()
	if _, err := passes.Default(c).Run(c, passes.RunOptions{}); err != nil {
		return m
	}
	if err := ir.Verify(c); err != nil {
		return m
	}
	return c
}

// loadAndBind loads the model at path, binds its inputs (from files, or
// generated from seed with shapes) and opens a session for them on the
// model optimised in memory (see optimized), with observe watching each
// step when set.
func loadAndBind(path string, files, shapes []string, seed int64, threads int, noOptimize bool, observe runtime.Observer) (*ir.Model, map[string]*ir.Tensor, *session, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, nil, nil, err
	}
	inputs, err := bindInputs(m, files, shapes, seed)
	if err != nil {
		return nil, nil, nil, err
	}
	sess, err := newSessionWith(path, optimized(m, noOptimize), runtime.Options{Threads: threads, Observe: observe}, inputs)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, inputs, sess, nil
}
