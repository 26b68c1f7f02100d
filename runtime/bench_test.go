package runtime

import (
	"math/rand"
	"testing"

	"github.com/nncc/nncc/ir"
)

// Micro-benchmarks of element-wise kernels on float32 (1M elements).

func benchOp(b *testing.B, op string, ins []*ir.Tensor, attrs ...*ir.Attribute) {
	defer func(p bool) { poisonFreed = p }(poisonFreed)
	poisonFreed = false
	m, feeds := singleModel(17, op, 1, ins, attrs...)
	s, err := NewSession(m, Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(4 * numel(ins[0].Dims)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Run(feeds); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddSame(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	benchOp(b, "Add", []*ir.Tensor{randF32(rng, 16, 64, 32, 32), randF32(rng, 16, 64, 32, 32)})
}

func BenchmarkAddChannelBias(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	benchOp(b, "Add", []*ir.Tensor{randF32(rng, 16, 64, 32, 32), randF32(rng, 64, 1, 1)})
}

func BenchmarkMulRowVector(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	benchOp(b, "Mul", []*ir.Tensor{randF32(rng, 1024, 1024), randF32(rng, 1024)})
}

func BenchmarkRelu(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	benchOp(b, "Relu", []*ir.Tensor{randF32(rng, 16, 64, 32, 32)})
}

func BenchmarkSoftmaxLastAxis(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	benchOp(b, "Softmax", []*ir.Tensor{randF32(rng, 1024, 1024)})
}

func BenchmarkTranspose0213(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	benchOp(b, "Transpose", []*ir.Tensor{randF32(rng, 8, 128, 16, 64)}, ir.IntsAttr("perm", 0, 2, 1, 3))
}

func BenchmarkLayerNorm(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	benchOp(b, "LayerNormalization", []*ir.Tensor{randF32(rng, 1024, 1024), randF32(rng, 1024), randF32(rng, 1024)})
}

func BenchmarkReduceMeanLast(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	benchOp(b, "ReduceMean", []*ir.Tensor{randF32(rng, 1024, 1024)}, ir.IntsAttr("axes", -1))
}
