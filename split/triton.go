package split

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/split/tritonpb"
)

// TritonOptions shape the Triton model repository.
type TritonOptions struct {
	// Name is the ensemble's model name; stage i is Name_stage_i.
	Name string
	// Replicas > 0 spreads that many instances over the stages in
	// proportion to their cost (at least one each); 0 gives every stage
	// one instance.
	Replicas int
	// GPUs makes the instance groups KIND_GPU instead of KIND_CPU.
	GPUs bool
	// MaxBatchSize > 0 declares batching: every stage tensor's leading dim
	// must then be the same symbolic dim, which the configs leave out of
	// dims. 0 (the default) lists full dims and disables Triton's
	// batching, which is right for any model.
	MaxBatchSize int
}

// TritonModel is one model directory of the repository.
type TritonModel struct {
	Name   string
	Config *tritonpb.ModelConfig
	Stage  int // the stage it serves, -1 for the ensemble
}

// Replicas spreads r instances over stages of the given costs: one each,
// then one at a time to the stage whose cost per instance is highest
// (ties to the earlier stage), which keeps the slowest stage's load per
// instance as low as r allows.
func Replicas(costs []float64, r int) ([]int, error) {
	k := len(costs)
	if r < k {
		return nil, usagef("--replicas %d is fewer than the %d stages (each needs one instance)", r, k)
	}
	counts := make([]int, k)
	for i := range counts {
		counts[i] = 1
	}
	for left := r - k; left > 0; left-- {
		best := 0
		for i := 1; i < k; i++ {
			if costs[i]*float64(counts[best]) > costs[best]*float64(counts[i]) {
				best = i
			}
		}
		counts[best]++
	}
	return counts, nil
}

// Triton returns the repository's models: one per stage, then the
// ensemble that chains them.
func (p *Plan) Triton(o TritonOptions) ([]TritonModel, error) {
	if o.Name == "" {
		return nil, errors.New("split: the Triton model needs a name")
	}
	k := len(p.Stages)
	counts := make([]int, k)
	for i := range counts {
		counts[i] = 1
	}
	if o.Replicas > 0 {
		costs := make([]float64, k)
		for i, st := range p.Stages {
			costs[i] = st.Cost
		}
		var err error
		if counts, err = Replicas(costs, o.Replicas); err != nil {
			return nil, err
		}
	}
	kind := tritonpb.ModelInstanceGroup_KIND_CPU
	if o.GPUs {
		kind = tritonpb.ModelInstanceGroup_KIND_GPU
	}
	batch := ""
	if o.MaxBatchSize > 0 {
		var err error
		if batch, err = p.batchDim(); err != nil {
			return nil, err
		}
	}
	var models []TritonModel
	ens := &tritonpb.ModelConfig{
		Name: o.Name, Platform: "ensemble", MaxBatchSize: int32(o.MaxBatchSize),
	}
	steps := &tritonpb.ModelEnsembling{}
	g := p.Model.Graph
	read := map[*ir.Value]bool{}
	for _, st := range p.Stages {
		for _, v := range st.Inputs {
			read[v] = true
		}
	}
	for _, v := range g.Outputs {
		if _, produced := p.gi.prod[v]; !produced || p.gi.prod[v] < 0 {
			return nil, fmt.Errorf("split: graph output %q is not computed by any node (a graph input or constant passed through), which a Triton ensemble cannot express", v.Name)
		}
	}
	for _, v := range g.Inputs {
		if v.Const != nil || slices.Contains(g.Consts, v) {
			continue
		}
		if !read[v] {
			// Triton rejects an ensemble input no step reads.
			continue
		}
		in, err := modelInput(v, batch)
		if err != nil {
			return nil, err
		}
		ens.Input = append(ens.Input, in)
	}
	for _, v := range g.Outputs {
		out, err := modelOutput(v, batch)
		if err != nil {
			return nil, err
		}
		ens.Output = append(ens.Output, out)
	}
	for i, st := range p.Stages {
		name := StageName(o.Name, i)
		c := &tritonpb.ModelConfig{
			Name: name, Platform: "onnxruntime_onnx", MaxBatchSize: int32(o.MaxBatchSize),
			InstanceGroup: []*tritonpb.ModelInstanceGroup{{Count: int32(counts[i]), Kind: kind}},
		}
		step := &tritonpb.ModelEnsembling_Step{
			ModelName: name, ModelVersion: -1,
			InputMap: map[string]string{}, OutputMap: map[string]string{},
		}
		for _, v := range st.Inputs {
			in, err := modelInput(v, batch)
			if err != nil {
				return nil, fmt.Errorf("stage %d: %w", i, err)
			}
			c.Input = append(c.Input, in)
			step.InputMap[v.Name] = v.Name
		}
		for _, v := range st.Outputs {
			out, err := modelOutput(v, batch)
			if err != nil {
				return nil, fmt.Errorf("stage %d: %w", i, err)
			}
			c.Output = append(c.Output, out)
			step.OutputMap[v.Name] = v.Name
		}
		steps.Step = append(steps.Step, step)
		models = append(models, TritonModel{Name: name, Config: c, Stage: i})
	}
	ens.SchedulingChoice = &tritonpb.ModelConfig_EnsembleScheduling{EnsembleScheduling: steps}
	models = append(models, TritonModel{Name: o.Name, Config: ens, Stage: -1})
	return models, nil
}

// batchDim returns the symbolic dim that leads every tensor the configs
// list, or an error naming one that it does not lead.
func (p *Plan) batchDim() (string, error) {
	var vs []*ir.Value
	g := p.Model.Graph
	for _, v := range g.Inputs {
		if v.Const == nil && !slices.Contains(g.Consts, v) {
			vs = append(vs, v)
		}
	}
	for _, st := range p.Stages {
		vs = append(vs, st.Inputs...)
		vs = append(vs, st.Outputs...)
	}
	batch := ""
	for _, v := range vs {
		t := v.Type
		if t == nil || !t.HasShape || len(t.Shape) == 0 || t.Shape[0].Param == "" {
			return "", usagef("--max-batch-size needs every stage tensor to lead with the same symbolic batch dim; %q does not (use 0: full dims, no batching)", v.Name)
		}
		if batch == "" {
			batch = t.Shape[0].Param
		} else if t.Shape[0].Param != batch {
			return "", usagef("--max-batch-size needs one symbolic batch dim; %q leads with %s, not %s", v.Name, t.Shape[0].Param, batch)
		}
	}
	return batch, nil
}

var tritonTypes = map[ir.DType]tritonpb.DataType{
	ir.Bool: tritonpb.DataType_TYPE_BOOL, ir.Uint8: tritonpb.DataType_TYPE_UINT8,
	ir.Uint16: tritonpb.DataType_TYPE_UINT16, ir.Uint32: tritonpb.DataType_TYPE_UINT32,
	ir.Uint64: tritonpb.DataType_TYPE_UINT64, ir.Int8: tritonpb.DataType_TYPE_INT8,
	ir.Int16: tritonpb.DataType_TYPE_INT16, ir.Int32: tritonpb.DataType_TYPE_INT32,
	ir.Int64: tritonpb.DataType_TYPE_INT64, ir.Float16: tritonpb.DataType_TYPE_FP16,
	ir.Float32: tritonpb.DataType_TYPE_FP32, ir.Float64: tritonpb.DataType_TYPE_FP64,
	ir.String: tritonpb.DataType_TYPE_STRING, ir.BFloat16: tritonpb.DataType_TYPE_BF16,
}

// tensorSpec is v's Triton data type and dims (-1 for a dim not fixed),
// without the batch dim when batch is set.
func tensorSpec(v *ir.Value, batch string) (tritonpb.DataType, []int64, error) {
	t := v.Type
	if t == nil || t.Kind != ir.KindTensor {
		return 0, nil, fmt.Errorf("tensor %q has no known tensor type", v.Name)
	}
	dt, ok := tritonTypes[t.DType]
	if !ok {
		return 0, nil, fmt.Errorf("tensor %q has element type %s, which Triton does not have", v.Name, t.DType)
	}
	if !t.HasShape {
		return 0, nil, fmt.Errorf("tensor %q has unknown rank; bind the input shapes with --shape so it can be inferred", v.Name)
	}
	dims := make([]int64, 0, len(t.Shape))
	for i, d := range t.Shape {
		if i == 0 && batch != "" {
			continue
		}
		if d.Known() {
			dims = append(dims, d.Value)
		} else {
			dims = append(dims, -1)
		}
	}
	return dt, dims, nil
}

// scalar returns the reshape of a tensor that Triton must see as dims
// [1]: a rank-0 tensor (Triton wants at least one dim) is given as [1]
// and reshaped to [] for the model.
func scalar(dims []int64) ([]int64, *tritonpb.ModelTensorReshape) {
	if len(dims) > 0 {
		return dims, nil
	}
	return []int64{1}, &tritonpb.ModelTensorReshape{}
}

func modelInput(v *ir.Value, batch string) (*tritonpb.ModelInput, error) {
	dt, dims, err := tensorSpec(v, batch)
	if err != nil {
		return nil, err
	}
	dims, rs := scalar(dims)
	return &tritonpb.ModelInput{Name: v.Name, DataType: dt, Dims: dims, Reshape: rs}, nil
}

func modelOutput(v *ir.Value, batch string) (*tritonpb.ModelOutput, error) {
	dt, dims, err := tensorSpec(v, batch)
	if err != nil {
		return nil, err
	}
	dims, rs := scalar(dims)
	return &tritonpb.ModelOutput{Name: v.Name, DataType: dt, Dims: dims, Reshape: rs}, nil
}

// FormatConfig writes c as protobuf text, one field per line. prototext
// marshals it (map entries sorted by key); the spacing after a field
// name, which protobuf-go varies between builds on purpose, is then made
// one space, so the bytes depend only on c.
func FormatConfig(c *tritonpb.ModelConfig) ([]byte, error) {
	b, err := prototext.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(c)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	for i, l := range lines {
		body := strings.TrimLeft(l, " ")
		ind := l[:len(l)-len(body)]
		j := 0
		for j < len(body) && (body[j] == '_' || body[j] >= 'a' && body[j] <= 'z' || body[j] >= 'A' && body[j] <= 'Z' || body[j] >= '0' && body[j] <= '9') {
			j++
		}
		name, rest := body[:j], body[j:]
		switch {
		case strings.HasPrefix(rest, ":"):
			lines[i] = ind + name + ": " + strings.TrimLeft(rest[1:], " ")
		case strings.HasPrefix(rest, " "):
			lines[i] = ind + name + " " + strings.TrimLeft(rest, " ")
		}
	}
	return []byte(strings.Join(lines, "\n") + "\n"), nil
}

// ParseConfig parses a config.pbtxt as Triton's ModelConfig (the subset
// nncc writes; unknown fields are an error).
func ParseConfig(b []byte) (*tritonpb.ModelConfig, error) {
	c := &tritonpb.ModelConfig{}
	if err := prototext.Unmarshal(b, c); err != nil {
		return nil, err
	}
	return c, nil
}

// CheckRepository checks a Triton model repository written by nncc:
// every <model>/config.pbtxt parses as ModelConfig and names its
// directory, every model has a numeric version directory (the ONNX ones
// with 1/model.onnx), and every ensemble is wired: each step's model is
// in the repository and its input_map and output_map keys are exactly
// that model's inputs and a subset of its outputs, each step reads only
// ensemble inputs or earlier steps' outputs, each ensemble tensor has one
// writer, every ensemble input is read and every output written, steps
// ask for model_version -1, the ensemble sets no instance_group, and a
// composing model's max_batch_size is 0 or at least the ensemble's.
func CheckRepository(root string) error {
	ents, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	configs := map[string]*tritonpb.ModelConfig{}
	var names []string
	var errs []error
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "config.pbtxt"))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c, err := ParseConfig(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s/config.pbtxt does not parse as ModelConfig: %v", dir, err))
			continue
		}
		if c.Name != e.Name() {
			errs = append(errs, fmt.Errorf("%s/config.pbtxt: name %q is not the directory's", dir, c.Name))
		}
		if st, err := os.Stat(filepath.Join(dir, "1")); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("%s: no version directory 1/", dir))
		}
		if c.Platform == "onnxruntime_onnx" {
			if st, err := os.Stat(filepath.Join(dir, "1", "model.onnx")); err != nil || !st.Mode().IsRegular() {
				errs = append(errs, fmt.Errorf("%s: no 1/model.onnx", dir))
			}
		}
		configs[c.Name] = c
		names = append(names, c.Name)
	}
	for _, name := range names {
		if c := configs[name]; c.Platform == "ensemble" {
			errs = append(errs, checkEnsemble(c, configs)...)
		}
	}
	return errors.Join(errs...)
}

func checkEnsemble(c *tritonpb.ModelConfig, configs map[string]*tritonpb.ModelConfig) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("ensemble %s: "+format, append([]any{c.Name}, args...)...))
	}
	if len(c.InstanceGroup) > 0 {
		bad("sets instance_group, which ensembles may not")
	}
	es := c.GetEnsembleScheduling()
	if es == nil || len(es.Step) == 0 {
		bad("has no ensemble_scheduling steps")
		return errs
	}
	ready := map[string]bool{} // tensors available so far
	used := map[string]bool{}
	writer := map[string]string{}
	for _, in := range c.Input {
		ready[in.Name] = true
	}
	for i, st := range es.Step {
		m := configs[st.ModelName]
		if m == nil {
			bad("step %d: model %q is not in the repository", i, st.ModelName)
			continue
		}
		if st.ModelVersion != -1 {
			bad("step %d: model_version %d (want -1, the latest)", i, st.ModelVersion)
		}
		if m.MaxBatchSize != 0 && m.MaxBatchSize < c.MaxBatchSize {
			bad("step %d: %s has max_batch_size %d, below the ensemble's %d", i, m.Name, m.MaxBatchSize, c.MaxBatchSize)
		}
		ins := map[string]bool{}
		for _, in := range m.Input {
			ins[in.Name] = true
			if _, ok := st.InputMap[in.Name]; !ok {
				bad("step %d: input %q of %s is not mapped", i, in.Name, m.Name)
			}
		}
		for _, k := range sortedKeys(st.InputMap) {
			v := st.InputMap[k]
			if !ins[k] {
				bad("step %d: input_map key %q is not an input of %s", i, k, m.Name)
			}
			if !ready[v] {
				bad("step %d: reads %q, which is neither an ensemble input nor an earlier step's output", i, v)
			}
			used[v] = true
		}
		outs := map[string]bool{}
		for _, o := range m.Output {
			outs[o.Name] = true
		}
		for _, k := range sortedKeys(st.OutputMap) {
			v := st.OutputMap[k]
			if !outs[k] {
				bad("step %d: output_map key %q is not an output of %s", i, k, m.Name)
			}
			if _, ok := writer[v]; ok || isEnsembleInput(c, v) {
				bad("step %d: %q already has a writer", i, v)
			}
			writer[v] = m.Name
			ready[v] = true
		}
	}
	for _, in := range c.Input {
		if !used[in.Name] {
			bad("input %q is read by no step", in.Name)
		}
	}
	for _, o := range c.Output {
		if writer[o.Name] == "" {
			bad("output %q is written by no step", o.Name)
		}
	}
	return errs
}

func isEnsembleInput(c *tritonpb.ModelConfig, name string) bool {
	for _, in := range c.Input {
		if in.Name == name {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
