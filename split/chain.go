package split

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/runtime"
)

// ErrMismatch marks a stage file whose inputs or outputs are not the ones
// the manifest lists (the file was replaced or edited).
var ErrMismatch = errors.New("split: stage does not match the manifest")

// Chain runs a split directory's stages in order, each as its own
// session that is handed only the tensors the manifest lists as its
// inputs.
type Chain struct {
	Dir      string
	Manifest *Manifest
	Models   []*ir.Model
	Threads  int

	sessions []*runtime.Session
	shapes   []map[string][]int64
}

// OpenChain reads dir's manifest and loads its stage files.
func OpenChain(dir string) (*Chain, error) {
	man, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	c := &Chain{Dir: dir, Manifest: man, Threads: 1}
	for i, st := range man.Stages {
		path := filepath.Join(dir, st.File)
		m, err := onnx.Load(path)
		if err != nil {
			return nil, err
		}
		if err := matches(m, st); err != nil {
			return nil, fmt.Errorf("%w: stage %d, %s: %v", ErrMismatch, i, path, err)
		}
		c.Models = append(c.Models, m)
	}
	c.sessions = make([]*runtime.Session, len(c.Models))
	c.shapes = make([]map[string][]int64, len(c.Models))
	return c, nil
}

// matches checks that m's graph inputs and outputs are the stage's.
func matches(m *ir.Model, st ManifestStage) error {
	var ins, outs []string
	for _, v := range m.Graph.Inputs {
		if v.Const == nil {
			ins = append(ins, v.Name)
		}
	}
	for _, v := range m.Graph.Outputs {
		outs = append(outs, v.Name)
	}
	if !sameSet(ins, st.Inputs) {
		return fmt.Errorf("its inputs are %q, the manifest lists %q", ins, st.Inputs)
	}
	if !sameSet(outs, st.Outputs) {
		return fmt.Errorf("its outputs are %q, the manifest lists %q", outs, st.Outputs)
	}
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Run feeds inputs (the graph inputs by name) through the stages and
// returns the graph outputs by name and each stage's wall time.
func (c *Chain) Run(inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, []time.Duration, error) {
	env := map[string]*ir.Tensor{}
	for _, name := range c.Manifest.Inputs {
		t, ok := inputs[name]
		if !ok {
			return nil, nil, fmt.Errorf("split: no tensor for graph input %q", name)
		}
		env[name] = t
	}
	times := make([]time.Duration, len(c.Models))
	for i, st := range c.Manifest.Stages {
		feed := make(map[string]*ir.Tensor, len(st.Inputs))
		shapes := make(map[string][]int64, len(st.Inputs))
		for _, name := range st.Inputs {
			feed[name] = env[name]
			shapes[name] = env[name].Dims
		}
		if c.sessions[i] == nil || !sameShapes(c.shapes[i], shapes) {
			s, err := runtime.NewSession(c.Models[i], runtime.Options{Threads: c.Threads, Shapes: shapes})
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", filepath.Join(c.Dir, st.File), err)
			}
			c.sessions[i], c.shapes[i] = s, shapes
		}
		start := time.Now()
		out, err := c.sessions[i].Run(feed)
		times[i] = time.Since(start)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Join(c.Dir, st.File), err)
		}
		for _, name := range st.Outputs {
			t, ok := out[name]
			if !ok {
				return nil, nil, fmt.Errorf("%w: stage %d (%s) did not produce %q", ErrMismatch, i, st.File, name)
			}
			env[name] = t
		}
	}
	res := map[string]*ir.Tensor{}
	for _, name := range c.Manifest.Outputs {
		res[name] = env[name]
	}
	return res, times, nil
}

func sameShapes(a, b map[string][]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
