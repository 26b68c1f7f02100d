package split_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/split"
	"github.com/nncc/nncc/split/tritonpb"
	"github.com/nncc/nncc/testmodels"
)

// writeSkip writes the 3-stage split of skipModel and returns its
// directory.
func writeSkip(t *testing.T, to split.TritonOptions) string {
	t.Helper()
	p, err := split.Split(skipModel(), split.Options{Stages: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if to.Name == "" {
		to.Name = "skip"
	}
	if err := p.Write(dir, split.WriteOptions{Source: "skip.onnx", Triton: to}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTritonConfigsParse(t *testing.T) {
	dir := writeSkip(t, split.TritonOptions{Replicas: 5, GPUs: true})
	root := filepath.Join(dir, "triton")
	if err := split.CheckRepository(root); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "skip", "config.pbtxt"))
	if err != nil {
		t.Fatal(err)
	}
	ens, err := split.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if ens.Platform != "ensemble" || len(ens.GetEnsembleScheduling().GetStep()) != 3 || len(ens.InstanceGroup) != 0 {
		t.Errorf("ensemble config: %v", ens)
	}
	if st, err := os.Stat(filepath.Join(root, "skip", "1")); err != nil || !st.IsDir() {
		t.Error("the ensemble has no empty version directory 1/")
	}
	total := 0
	for i := 0; i < 3; i++ {
		b, err := os.ReadFile(filepath.Join(root, split.StageName("skip", i), "config.pbtxt"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := split.ParseConfig(b)
		if err != nil {
			t.Fatal(err)
		}
		if c.Platform != "onnxruntime_onnx" || c.MaxBatchSize != 0 || len(c.InstanceGroup) != 1 || c.InstanceGroup[0].Kind != tritonpb.ModelInstanceGroup_KIND_GPU {
			t.Errorf("stage %d config: %v", i, c)
		}
		for _, in := range c.Input {
			if in.DataType != tritonpb.DataType_TYPE_FP32 || len(in.Dims) != 2 || in.Dims[0] != 2 || in.Dims[1] != 8 {
				t.Errorf("stage %d input %s: %v %v, want TYPE_FP32 [2 8]", i, in.Name, in.DataType, in.Dims)
			}
		}
		total += int(c.InstanceGroup[0].Count)
		// The model file is the stage file.
		m1, _ := os.ReadFile(filepath.Join(root, split.StageName("skip", i), "1", "model.onnx"))
		m2, _ := os.ReadFile(filepath.Join(dir, split.StageFile(i)))
		if len(m1) == 0 || string(m1) != string(m2) {
			t.Errorf("stage %d: triton model.onnx differs from %s", i, split.StageFile(i))
		}
	}
	if total != 5 {
		t.Errorf("instances add to %d, want --replicas 5", total)
	}
}

func TestReplicas(t *testing.T) {
	got, err := split.Replicas([]float64{1, 3, 1, 1}, 8)
	if err != nil {
		t.Fatal(err)
	}
	// One each, then the 4 left one at a time to the highest cost per
	// instance: stage 1 twice (3 -> 1.5 -> 1), then all tie at 1 and the
	// earliest, stage 0, takes one (-> 0.5), then stage 1 again.
	want := []int{2, 4, 1, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Replicas = %v, want %v", got, want)
		}
	}
	if _, err := split.Replicas([]float64{1, 1, 1}, 2); err == nil {
		t.Error("2 replicas over 3 stages: no error")
	}
}

// TestCheckRepositoryCatches breaks a good repository in each way the
// ensemble rules forbid and expects CheckRepository to say so.
func TestCheckRepositoryCatches(t *testing.T) {
	cases := []struct {
		name, file, old, new, want string
	}{
		{"unknown field", "skip/config.pbtxt", `platform: "ensemble"`, `platform: "ensemble"` + "\nbogus_field: 1", "does not parse"},
		{"version 0", "skip/config.pbtxt", "model_version: -1", "model_version: 0", "model_version 0"},
		{"read before written", "skip/config.pbtxt", `input_map: {
      key: "x"
      value: "x"`, `input_map: {
      key: "x"
      value: "n3_Neg_out0"`, "neither an ensemble input"},
		{"instance group on the ensemble", "skip/config.pbtxt", `platform: "ensemble"`, `platform: "ensemble"` + "\ninstance_group: { count: 1 kind: KIND_CPU }", "instance_group"},
		{"output unwritten", "skip/config.pbtxt", `output: {
  name: "n5_Mul_out0"`, `output: {
  name: "nobody"`, "written by no step"},
		{"wrong model name", "skip_stage_1/config.pbtxt", `name: "skip_stage_1"`, `name: "other"`, "not the directory's"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeSkip(t, split.TritonOptions{})
			path := filepath.Join(dir, "triton", filepath.FromSlash(tc.file))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.old) {
				t.Fatalf("%s does not contain %q:\n%s", tc.file, tc.old, b)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(b), tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			err = split.CheckRepository(filepath.Join(dir, "triton"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
	// Two writers of one tensor: stage 2 also claims stage 1's output.
	dir := writeSkip(t, split.TritonOptions{})
	path := filepath.Join(dir, "triton", "skip", "config.pbtxt")
	b, _ := os.ReadFile(path)
	c, err := split.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	steps := c.GetEnsembleScheduling().Step
	for k := range steps[1].OutputMap {
		steps[2].OutputMap[k] = steps[1].OutputMap[k]
		break
	}
	out, _ := split.FormatConfig(c)
	os.WriteFile(path, out, 0o644)
	if err := split.CheckRepository(filepath.Join(dir, "triton")); err == nil || !strings.Contains(err.Error(), "already has a writer") {
		t.Errorf("two writers: got %v", err)
	}
}

func TestMaxBatchSize(t *testing.T) {
	// skipModel has fixed dims: batching cannot be declared.
	p, err := split.Split(skipModel(), split.Options{Stages: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Triton(split.TritonOptions{Name: "skip", MaxBatchSize: 8}); err == nil {
		t.Error("max_batch_size on a model without a symbolic batch dim: no error")
	}
}

func TestMaxBatchSizeDeclared(t *testing.T) {
	b := testmodels.NewBuilder("batched", 17)
	x := b.InputShape("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(8)})
	w := b.F32("w", []int64{8}, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	b.Output(b.Node("Mul", []*ir.Value{b.Node("Relu", []*ir.Value{x}), w}))
	p, err := split.Split(b.Model(), split.Options{Stages: 2, Dims: map[string]int64{"N": 4}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := p.Write(dir, split.WriteOptions{Source: "batched.onnx", Triton: split.TritonOptions{Name: "batched", MaxBatchSize: 4}}); err != nil {
		t.Fatal(err)
	}
	if err := split.CheckRepository(filepath.Join(dir, "triton")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"batched", "batched_stage_0", "batched_stage_1"} {
		raw, err := os.ReadFile(filepath.Join(dir, "triton", name, "config.pbtxt"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := split.ParseConfig(raw)
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxBatchSize != 4 {
			t.Errorf("%s: max_batch_size %d", name, c.MaxBatchSize)
		}
		for _, in := range c.Input {
			if len(in.Dims) != 1 || in.Dims[0] != 8 {
				t.Errorf("%s input %s dims %v, want [8] (the batch dim left out)", name, in.Name, in.Dims)
			}
		}
	}
}
