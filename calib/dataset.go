package calib

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
)

// ErrBadData is wrapped by every error about the data itself (wrong
// shape, dtype or rank, empty, non-finite values, unreadable files).
var ErrBadData = errors.New("bad data")

// A Dataset is a finite sequence of samples of a model's inputs.
type Dataset interface {
	// Len is the number of samples.
	Len() int
	// Batch returns samples [start, end) stacked along a new first axis
	// of size end-start, one tensor per input name. The tensors may alias
	// the dataset's storage and must not be modified.
	Batch(start, end int) (map[string]*ir.Tensor, error)
}

// Tensors is a Dataset held in memory: one tensor per input, all with the
// same first dimension (the sample count).
type Tensors struct {
	names []string
	ts    map[string]*ir.Tensor
	n     int
}

// FromTensors makes a Dataset of tensors whose first axis counts samples.
// Every tensor must have the same first dimension, at least 1.
func FromTensors(ts map[string]*ir.Tensor) (*Tensors, error) {
	d := &Tensors{ts: map[string]*ir.Tensor{}, n: -1}
	for name, t := range ts {
		if len(t.Dims) == 0 {
			return nil, fmt.Errorf("%w: input %s: a scalar has no sample axis", ErrBadData, name)
		}
		if d.n >= 0 && int(t.Dims[0]) != d.n {
			return nil, fmt.Errorf("%w: input %s has %d samples, another input has %d", ErrBadData, name, t.Dims[0], d.n)
		}
		d.n = int(t.Dims[0])
		d.names = append(d.names, name)
		d.ts[name] = t
	}
	sort.Strings(d.names)
	if d.n <= 0 {
		return nil, fmt.Errorf("%w: no samples", ErrBadData)
	}
	return d, nil
}

// Len implements Dataset.
func (d *Tensors) Len() int { return d.n }

// Names returns the input names the dataset binds, sorted.
func (d *Tensors) Names() []string { return slices.Clone(d.names) }

// Tensor returns the whole tensor of input name (nil if absent).
func (d *Tensors) Tensor(name string) *ir.Tensor { return d.ts[name] }

// Batch implements Dataset; the tensors alias the dataset's storage.
func (d *Tensors) Batch(start, end int) (map[string]*ir.Tensor, error) {
	if start < 0 || end > d.n || start >= end {
		return nil, fmt.Errorf("calib: batch [%d, %d) outside %d samples", start, end, d.n)
	}
	out := make(map[string]*ir.Tensor, len(d.names))
	for _, name := range d.names {
		t := d.ts[name]
		per := len(t.Data) / d.n
		dims := append([]int64{int64(end - start)}, t.Dims[1:]...)
		out[name] = &ir.Tensor{DType: t.DType, Dims: dims, Data: t.Data[start*per : end*per]}
	}
	return out, nil
}

// Slice returns the samples [start, end) of d as a Dataset of their own
// (for example to hold some samples out for evaluation).
func (d *Tensors) Slice(start, end int) (*Tensors, error) {
	b, err := d.Batch(start, end)
	if err != nil {
		return nil, err
	}
	return FromTensors(b)
}

// Load reads a dataset for model m from specs, each one of
//
//	FILE        a .npy (or TensorProto .pb) file for the model's only input
//	NAME=FILE   the file for input NAME
//	DIR         a directory holding NAME.npy for each input, or for a
//	            one-input model any number of .npy files, concatenated in
//	            name order
//
// and checks each tensor against its input: dtype, rank (the sample axis
// plus the input's rank, or the input's rank when its first dim is the
// batch), fixed dims, at least one sample, and finite values. Every error
// names the file and wraps ErrBadData.
func Load(m *ir.Model, specs []string) (*Tensors, error) {
	var inputs []*ir.Value
	for _, v := range m.Graph.Inputs {
		if v.Const == nil {
			inputs = append(inputs, v)
		}
	}
	byName := map[string]*ir.Value{}
	for _, v := range inputs {
		byName[v.Name] = v
	}
	files := map[string][]string{} // input name -> files, concatenated
	for _, spec := range specs {
		name, path, named := strings.Cut(spec, "=")
		if !named || strings.ContainsAny(name, `/\`) {
			name, path = "", spec
		}
		if name != "" && byName[name] == nil {
			return nil, fmt.Errorf("%w: %s: the model has no input %q", ErrBadData, path, name)
		}
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadData, err)
		}
		if st.IsDir() {
			ents, err := os.ReadDir(path)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrBadData, err)
			}
			var npys []string
			for _, e := range ents {
				if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".npy") {
					npys = append(npys, e.Name())
				}
			}
			sort.Strings(npys)
			if len(npys) == 0 {
				return nil, fmt.Errorf("%w: %s: no .npy files in the directory", ErrBadData, path)
			}
			matched := false
			for _, f := range npys {
				if v := byName[strings.TrimSuffix(f, filepath.Ext(f))]; v != nil && name == "" {
					files[v.Name] = append(files[v.Name], filepath.Join(path, f))
					matched = true
				}
			}
			if !matched {
				if name == "" {
					if len(inputs) != 1 {
						return nil, fmt.Errorf("%w: %s: the model has %d inputs; name the files NAME.npy", ErrBadData, path, len(inputs))
					}
					name = inputs[0].Name
				}
				for _, f := range npys {
					files[name] = append(files[name], filepath.Join(path, f))
				}
			}
			continue
		}
		if name == "" {
			if len(inputs) != 1 {
				return nil, fmt.Errorf("%w: %s: the model has %d inputs; give NAME=FILE", ErrBadData, path, len(inputs))
			}
			name = inputs[0].Name
		}
		files[name] = append(files[name], path)
	}
	ts := map[string]*ir.Tensor{}
	for _, v := range inputs {
		paths := files[v.Name]
		if len(paths) == 0 {
			if len(files) == 0 {
				return nil, fmt.Errorf("%w: no data given", ErrBadData)
			}
			return nil, fmt.Errorf("%w: no data for input %q", ErrBadData, v.Name)
		}
		var parts []*ir.Tensor
		for _, p := range paths {
			t, err := readTensor(p)
			if err != nil {
				return nil, err
			}
			if t, err = fitInput(v, t); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrBadData, p, err)
			}
			if len(parts) > 0 && !slices.Equal(parts[0].Dims[1:], t.Dims[1:]) {
				return nil, fmt.Errorf("%w: %s: samples of shape %v, but %s has %v", ErrBadData, p, t.Dims[1:], paths[0], parts[0].Dims[1:])
			}
			parts = append(parts, t)
		}
		ts[v.Name] = concat(parts)
	}
	d, err := FromTensors(ts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(specs, ", "), err)
	}
	return d, nil
}

func readTensor(path string) (*ir.Tensor, error) {
	var t *ir.Tensor
	var err error
	if strings.EqualFold(filepath.Ext(path), ".npy") {
		t, err = npy.Read(path)
	} else {
		t, _, err = onnx.ReadTensorFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
	}
	return t, nil
}

// fitInput checks t against input v and returns it in the input's layout,
// its first axis counting samples: a tensor of the input's rank is taken
// as samples along the input's first (batch) dim; one of rank+1 as a
// stack of batches, which are merged along that dim.
func fitInput(v *ir.Value, t *ir.Tensor) (*ir.Tensor, error) {
	if v.Type == nil || v.Type.Shape == nil {
		return nil, fmt.Errorf("input %s has no declared shape", v.Name)
	}
	if t.DType != v.Type.DType {
		return nil, fmt.Errorf("dtype %s, but input %s is %s", t.DType, v.Name, v.Type.DType)
	}
	shape := v.Type.Shape
	if len(shape) == 0 {
		return nil, fmt.Errorf("input %s is a scalar; it has no sample axis", v.Name)
	}
	switch len(t.Dims) {
	case len(shape):
	case len(shape) + 1:
		dims := append([]int64{t.Dims[0] * t.Dims[1]}, t.Dims[2:]...)
		t = &ir.Tensor{DType: t.DType, Dims: dims, Data: t.Data}
	default:
		return nil, fmt.Errorf("rank %d, but input %s has rank %d (the first axis counts samples)", len(t.Dims), v.Name, len(shape))
	}
	if t.Dims[0] == 0 {
		return nil, fmt.Errorf("no samples")
	}
	for i := 1; i < len(shape); i++ {
		if d := shape[i]; d.Known() && d.Value != t.Dims[i] {
			return nil, fmt.Errorf("samples of shape %v do not fit input %s %v (dim %d)", t.Dims[1:], v.Name, shape, i)
		}
	}
	if t.DType.IsFloat() {
		for i, x := range t.Float64s() {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("element %d is %v; data must be finite", i, x)
			}
		}
	}
	return t, nil
}

func concat(parts []*ir.Tensor) *ir.Tensor {
	if len(parts) == 1 {
		return parts[0]
	}
	out := &ir.Tensor{DType: parts[0].DType, Dims: slices.Clone(parts[0].Dims)}
	out.Dims[0] = 0
	for _, p := range parts {
		out.Dims[0] += p.Dims[0]
		out.Data = append(out.Data, p.Data...)
	}
	return out
}
