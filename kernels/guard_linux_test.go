//go:build linux

package kernels

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns a slice of n float32s that starts right after an
// inaccessible page (atEnd false) or ends right before one (atEnd true),
// so a kernel reading or writing outside it faults. free unmaps it.
func guarded(t *testing.T, n int, atEnd bool) (s []float32, free func()) {
	t.Helper()
	page := syscall.Getpagesize()
	size := (4*n+page-1)/page*page + 2*page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	if err := syscall.Mprotect(mem[:page], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mprotect(mem[size-page:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	off := page
	if atEnd {
		off = size - page - 4*n
	}
	s = unsafe.Slice((*float32)(unsafe.Pointer(&mem[off])), n)
	return s, func() { syscall.Munmap(mem) }
}

// TestDepthwiseGuarded runs the depthwise kernels on planes that touch
// inaccessible pages on either side: masked loads and stores must stay
// inside the tensors.
func TestDepthwiseGuarded(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for W := 1; W <= 40; W++ {
		for s := 1; s <= 2; s++ {
			for pads := 0; pads < 36; pads++ {
				p := Conv2DParams{N: 1, C: 2, H: 3 + r.IntN(3), W: W, M: 2, KH: 3, KW: 3, StrideH: s, StrideW: s,
					DilH: 1, DilW: 1, PadT: pads % 2, PadB: pads / 2 % 2, PadL: pads / 4 % 3, PadR: pads / 12, Group: 2}
				p.OH, p.OW = p.OutSize()
				if p.Check() != nil {
					continue
				}
				w, bias := randSlice(r, 18), randSlice(r, 2)
				for _, atEnd := range []bool{false, true} {
					x, freeX := guarded(t, p.N*p.C*p.H*p.W, atEnd)
					y, freeY := guarded(t, p.N*p.M*p.OH*p.OW, atEnd)
					copy(x, randSlice(r, len(x)))
					Conv2DFused(&p, x, w, bias, y, Fused{})
					checkConv(t, &p, x, w, bias, Fused{}, y)
					freeX()
					freeY()
				}
			}
		}
	}
}

// TestPoolGuarded runs pooling on small planes (the gather programs)
// that touch inaccessible pages on either side.
func TestPoolGuarded(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for it := 0; it < 400; it++ {
		p := Pool2DParams{N: 1, C: 1 + r.IntN(3), H: 1 + r.IntN(8), W: 1 + r.IntN(15) + 30*r.IntN(2),
			KH: 1 + r.IntN(3), KW: 1 + r.IntN(3), StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(2), DilH: 1, DilW: 1,
			PadT: r.IntN(2), PadL: r.IntN(2), PadB: r.IntN(2), PadR: r.IntN(2)}
		p.OH, p.OW = p.OutSize(false)
		if p.Check() != nil {
			continue
		}
		for _, atEnd := range []bool{false, true} {
			x, freeX := guarded(t, p.N*p.C*p.H*p.W, atEnd)
			y, freeY := guarded(t, p.N*p.C*p.OH*p.OW, atEnd)
			copy(x, randSlice(r, len(x)))
			for _, isMax := range []bool{true, false} {
				if isMax {
					MaxPool2D(&p, x, y)
				} else {
					AvgPool2D(&p, x, y)
				}
				want := poolRef(&p, x, isMax)
				for i := range want {
					if d := y[i] - want[i]; d > 1e-5 || d < -1e-5 {
						t.Fatalf("%+v max=%v: y[%d] = %g, want %g", p, isMax, i, y[i], want[i])
					}
				}
			}
			freeX()
			freeY()
		}
	}
}

// TestConvGuarded runs convolutions (batched ones with im2col by gather
// programs, implicit GEMMs, im2col) on inputs and outputs that touch
// inaccessible pages on either side.
func TestConvGuarded(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	for it := 0; it < 300; it++ {
		p := Conv2DParams{N: 1 + r.IntN(4), C: 1 + r.IntN(3), H: 1 + r.IntN(10), W: 1 + r.IntN(10), M: 1 + r.IntN(8) + 48*r.IntN(2),
			KH: 1 + r.IntN(3), KW: 1 + r.IntN(3), StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(2), DilH: 1, DilW: 1,
			PadT: r.IntN(2), PadL: r.IntN(2), PadB: r.IntN(2), PadR: r.IntN(2), Group: 1}
		p.OH, p.OW = p.OutSize()
		if p.Check() != nil {
			continue
		}
		w, bias := randSlice(r, p.M*p.C*p.KH*p.KW), randSlice(r, p.M)
		for _, atEnd := range []bool{false, true} {
			x, freeX := guarded(t, p.N*p.C*p.H*p.W, atEnd)
			y, freeY := guarded(t, p.N*p.M*p.OH*p.OW, atEnd)
			copy(x, randSlice(r, len(x)))
			Conv2DFused(&p, x, w, bias, y, Fused{})
			checkConv(t, &p, x, w, bias, Fused{}, y)
			PackConv2D(&p, w).Run(x, bias, y, Fused{})
			checkConv(t, &p, x, w, bias, Fused{}, y)
			freeX()
			freeY()
		}
	}
}
