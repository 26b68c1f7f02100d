package runtime_test

import (
	"os"
	"testing"

	"github.com/nncc/nncc/internal/qdqtest"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/runtime"
)

// BenchmarkQDQ times torchvision's MobileNetV2 (BatchNorm folded) in
// float32 and in QDQ int8 form on one thread, batch 1. bench/int8 writes
// the ratios to docs; this is for profiling
// (go test ./runtime -run '^$' -bench QDQ -cpuprofile ...).
func BenchmarkQDQ(b *testing.B) {
	const path = "/tmp/nncc-models/tv/mobilenet_v2.onnx"
	if _, err := os.Stat(path); err != nil {
		b.Skip(path, " not fetched")
	}
	t := &testing.T{}
	c := loadQDQCase(t, "mobilenet_v2", path, seededImages(2, 7), seededImages(1, 9), qdqtest.Options{})
	for _, m := range []struct {
		name  string
		model *ir.Model
	}{{"float32", c.float}, {"int8", c.qdq}} {
		b.Run(m.name, func(b *testing.B) {
			s, err := runtime.NewSession(m.model, runtime.Options{Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			in := map[string]*ir.Tensor{c.input: c.eval}
			for b.Loop() {
				if _, err := s.Run(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
