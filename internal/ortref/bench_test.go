package ortref_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/internal/ortref"
)

func TestBench(t *testing.T) {
	ortref.Require(t)
	ctx := context.Background()
	model := filepath.Join(modelDir, "digits_cnn.onnx")
	// A batch of 64 random images, and the whole test split from a file.
	for _, o := range []ortref.BenchOptions{
		{Dims: map[string]int64{"batch": 64}, Iters: 15, Warmup: 2},
		{Inputs: map[string]string{"input": filepath.Join(modelDir, "data", "digits_test_x.npy")}, Iters: 5, Warmup: -1, Opt: ortref.OptDisabled},
	} {
		r, err := ortref.Bench(ctx, model, o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Iters != o.Iters || !(r.MinMS > 0 && r.MinMS <= r.MedianMS && r.MedianMS <= r.P90MS && r.MinMS <= r.MeanMS) {
			t.Errorf("implausible result %+v for %d iterations", r, o.Iters)
		}
		t.Logf("%+v: %+v", o, r)
	}
	if _, err := ortref.Bench(ctx, model, ortref.BenchOptions{Inputs: map[string]string{"nope": "x.npy"}}); err == nil {
		t.Error("bench with an unknown input name: no error")
	}
}
