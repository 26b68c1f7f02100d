package split

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ManifestFile is the name of the manifest in a split directory.
const ManifestFile = "manifest.json"

// maxManifestBytes bounds the manifest read: tensor names of the largest
// graphs fit many times over.
const maxManifestBytes = 64 << 20

// ErrBadManifest marks a manifest that cannot be used: unreadable, or
// naming files outside its directory or tensors nothing provides.
var ErrBadManifest = errors.New("split: bad manifest")

// Manifest describes a split directory (format in docs/cli.md). Tensor
// names are the original graph's: a stage's inputs are found by name
// among the graph inputs and earlier stages' outputs.
type Manifest struct {
	Source  string          `json:"source"`
	Inputs  []string        `json:"inputs"`
	Outputs []string        `json:"outputs"`
	Stages  []ManifestStage `json:"stages"`
}

// ManifestStage is one stage of a manifest.
type ManifestStage struct {
	Name               string   `json:"name"`
	File               string   `json:"file"`
	Inputs             []string `json:"inputs"`
	Outputs            []string `json:"outputs"`
	FLOPs              int64    `json:"flops"`
	ParamBytes         int64    `json:"param_bytes"`
	ActivationBytesIn  int64    `json:"activation_bytes_in"`
	ActivationBytesOut int64    `json:"activation_bytes_out"`
}

// StageFile is the file name of stage i.
func StageFile(i int) string { return fmt.Sprintf("stage_%d.onnx", i) }

// StageName is the Triton model name of stage i of the model called name.
func StageName(name string, i int) string { return fmt.Sprintf("%s_stage_%d", name, i) }

// Manifest returns the plan's manifest; name is the Triton model name
// and source the model file it was split from.
func (p *Plan) Manifest(name, source string) *Manifest {
	m := &Manifest{Source: source, Inputs: []string{}, Outputs: []string{}}
	g := p.Model.Graph
	for _, v := range g.Inputs {
		if v.Const == nil && !slices.Contains(g.Consts, v) {
			m.Inputs = append(m.Inputs, v.Name)
		}
	}
	for _, v := range g.Outputs {
		m.Outputs = append(m.Outputs, v.Name)
	}
	for _, st := range p.Stages {
		ms := ManifestStage{
			Name: StageName(name, st.Index), File: StageFile(st.Index),
			Inputs: []string{}, Outputs: []string{},
			FLOPs: st.FLOPs, ParamBytes: st.ParamBytes,
			ActivationBytesIn: st.ActBytesIn, ActivationBytesOut: st.ActBytesOut,
		}
		for _, v := range st.Inputs {
			ms.Inputs = append(ms.Inputs, v.Name)
		}
		for _, v := range st.Outputs {
			ms.Outputs = append(ms.Outputs, v.Name)
		}
		m.Stages = append(m.Stages, ms)
	}
	return m
}

// Marshal encodes the manifest as indented JSON with a final newline.
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

// IsDir reports whether dir holds a split manifest.
func IsDir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, ManifestFile))
	return err == nil && st.Mode().IsRegular()
}

// ReadManifest reads and checks dir's manifest: stage files are plain
// names inside dir, every stage input is a graph input or an earlier
// stage's output, and every graph output is produced.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if st.Size() > maxManifestBytes {
		return nil, fmt.Errorf("%w: %s: %d bytes, more than a manifest needs (limit %d)", ErrBadManifest, path, st.Size(), maxManifestBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadManifest, path, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadManifest, path, err)
	}
	return m, nil
}

func (m *Manifest) check() error {
	if len(m.Stages) == 0 {
		return errors.New("no stages")
	}
	avail := map[string]bool{}
	for _, in := range m.Inputs {
		avail[in] = true
	}
	files := map[string]bool{}
	for i, st := range m.Stages {
		if st.File == "" || st.File != filepath.Base(st.File) || st.File == "." || st.File == ".." || strings.ContainsAny(st.File, `/\`) {
			return fmt.Errorf("stage %d: file %q is not a plain file name in the directory", i, st.File)
		}
		if files[st.File] {
			return fmt.Errorf("stage %d: file %q is listed twice", i, st.File)
		}
		files[st.File] = true
		for _, in := range st.Inputs {
			if !avail[in] {
				return fmt.Errorf("stage %d (%s) reads %q, which is neither a graph input nor an earlier stage's output", i, st.Name, in)
			}
		}
		for _, out := range st.Outputs {
			avail[out] = true
		}
	}
	for _, out := range m.Outputs {
		if !avail[out] {
			return fmt.Errorf("graph output %q is produced by no stage", out)
		}
	}
	return nil
}
