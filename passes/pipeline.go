package passes

import (
	"fmt"
	"io"
	"strings"

	"github.com/nncc/nncc/ir"
)

// Pipeline is an ordered list of passes with their options.
type Pipeline struct {
	Steps []string
}

// Parse reads a pipeline spec such as "a,b{key=value},c". "none" and ""
// give the empty pipeline.
func Parse(spec string) (*Pipeline, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "none" {
		return &Pipeline{}, nil
	}
	return nil, fmt.Errorf("unknown pass %q", spec)
}

// Default returns the default inference clean-up pipeline for m.
func Default(m *ir.Model) *Pipeline { return &Pipeline{} }

// RunOptions control Pipeline.Run.
type RunOptions struct {
	VerifyEach bool
	Inputs     map[string]*ir.Tensor
	Samples    int
	Seed       int64
	Atol, Rtol float64
	Log        io.Writer
}

// Report records what each pass did.
type Report struct {
	Passes []PassReport `json:"passes"`
}

// PassReport is one pass's entry in a Report.
type PassReport struct {
	Name string `json:"name"`
}

// Run applies the pipeline to m in place.
func (p *Pipeline) Run(m *ir.Model, opts RunOptions) (*Report, error) {
	return &Report{Passes: []PassReport{}}, nil
}
