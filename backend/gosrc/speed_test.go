package gosrc

import (
	"os"
	"testing"
)

// TestRunDoesNotAllocate checks with testing.AllocsPerRun, inside the
// generated harness, that Run allocates nothing once its batch size is
// prepared (at batch 1 and at a larger batch).
func TestRunDoesNotAllocate(t *testing.T) {
	m := compileForGo(t, "../../testmodels/digits_cnn.onnx")
	h := buildGenerated(t, m, Options{Package: "digits"})
	for _, batch := range []int{1, 5} {
		x := make([]float32, 64*batch)
		for i := range x {
			x[i] = float32(i%17) / 17
		}
		allocs, err := h.AllocsPerRun([][]float32{x}, 50)
		if err != nil {
			t.Fatal(err)
		}
		if allocs != 0 {
			t.Errorf("batch %d: Run allocates %.1f times per call, want 0", batch, allocs)
		}
	}
	if os.Getenv("NNCC_GOSRC_BENCH") == "" {
		return
	}
}
