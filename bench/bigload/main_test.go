package main

import (
	"path/filepath"
	"testing"

	"github.com/nncc/nncc/onnx"
)

func TestSynthRoundTripAndCheck(t *testing.T) {
	m, total := synth(1, 4) // four 256×256 weights
	if total != 1<<20 {
		t.Fatalf("synth made %d weight bytes, want 1 MiB", total)
	}
	for _, ext := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "m.onnx")
		if err := onnx.Save(m, path, onnx.SaveOptions{ExternalData: ext}); err != nil {
			t.Fatal(err)
		}
		loaded, err := onnx.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		n, bytes, err := check(loaded, 4)
		if err != nil || n != 4*4096 || bytes != total {
			t.Errorf("external=%v: check = %d, %d, %v; want %d samples of %d bytes", ext, n, bytes, err, 4*4096, total)
		}
	}
	// A loader that mixed up two weights, or corrupted one, is caught.
	g := m.Graph
	g.Consts[0].Const, g.Consts[1].Const = g.Consts[1].Const, g.Consts[0].Const
	if _, _, err := check(m, 4); err == nil {
		t.Error("check accepted swapped weights")
	}
	g.Consts[0].Const, g.Consts[1].Const = g.Consts[1].Const, g.Consts[0].Const
	g.Consts[2].Const.Data[0] ^= 1
	if _, _, err := check(m, 4); err == nil {
		t.Error("check accepted a flipped bit")
	}
	if _, _, err := check(m, 5); err == nil {
		t.Error("check accepted a missing weight")
	}
}

func TestProcStatus(t *testing.T) {
	if rss, hwm := procStatus("VmRSS"), procStatus("VmHWM"); rss <= 0 || hwm < rss {
		t.Errorf("VmRSS %d, VmHWM %d: want 0 < RSS <= HWM", rss, hwm)
	}
	if got := procStatus("NoSuchField"); got != -1 {
		t.Errorf("missing field = %d, want -1", got)
	}
}
