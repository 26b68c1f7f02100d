package prune

import (
	"errors"
	"math"
	"testing"

	"github.com/nncc/nncc/ir"
)

func weightsOf(m *ir.Model) map[string][]float32 {
	out := map[string][]float32{}
	for _, l := range Layers(m.Graph, nil) {
		out[l.Name()] = l.Node.Inputs[1].Const.Float32View()
	}
	return out
}

func TestMagnitudeOptions(t *testing.T) {
	base := blocks()
	orig := weightsOf(base)
	t.Run("threshold", func(t *testing.T) {
		m := base.Clone()
		if _, _, err := Magnitude(m, MagnitudeOptions{Sparsity: -1, Threshold: 0.3, Global: true}, nil); err != nil {
			t.Fatal(err)
		}
		for name, w := range weightsOf(m) {
			for i, x := range w {
				o := orig[name][i]
				if want := o; math.Abs(float64(o)) < 0.3 {
					want = 0
					if x != want {
						t.Fatalf("%s[%d] = %v, want 0 (|%v| < 0.3)", name, i, x, o)
					}
				} else if x != want {
					t.Fatalf("%s[%d] = %v, want %v unchanged", name, i, x, o)
				}
			}
		}
	})
	t.Run("layer", func(t *testing.T) {
		m := base.Clone()
		_, rep, err := Magnitude(m, MagnitudeOptions{Sparsity: 0.5, Threshold: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range rep {
			if want := math.Round(0.5*float64(l.Weights)) / float64(l.Weights); math.Abs(l.Sparsity-want) > 1e-9 {
				t.Errorf("%s: sparsity %v, want %v", l.Layer, l.Sparsity, want)
			}
		}
	})
	t.Run("global", func(t *testing.T) {
		m := base.Clone()
		_, rep, err := Magnitude(m, MagnitudeOptions{Sparsity: 0.6, Threshold: -1, Global: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var z, n int64
		min, max := 1.0, 0.0
		for _, l := range rep {
			z += l.Zeros
			n += l.Weights
			min, max = math.Min(min, l.Sparsity), math.Max(max, l.Sparsity)
		}
		if math.Abs(float64(z)/float64(n)-0.6) > 1e-3 || min == max {
			t.Errorf("global sparsity %v (per layer %v … %v)", float64(z)/float64(n), min, max)
		}
	})
	t.Run("exclude-first-last", func(t *testing.T) {
		m := base.Clone()
		ls := Layers(m.Graph, nil)
		_, rep, err := Magnitude(m, MagnitudeOptions{Sparsity: 0.5, Threshold: -1, KeepFirstLast: true, Exclude: []string{ls[2].Name()}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep) != len(ls)-3 {
			t.Fatalf("%d layers pruned of %d, want all but three", len(rep), len(ls))
		}
		got := weightsOf(m)
		for _, l := range []Layer{ls[0], ls[2], ls[len(ls)-1]} {
			for i, x := range got[l.Name()] {
				if x != orig[l.Name()][i] {
					t.Fatalf("%s changed", l.Name())
				}
			}
		}
	})
	for _, o := range []MagnitudeOptions{
		{Sparsity: 1, Threshold: -1}, {Sparsity: -1, Threshold: -1}, {Sparsity: 0.5, Threshold: 0.1},
		{Sparsity: math.NaN(), Threshold: -1},
	} {
		if _, _, err := Magnitude(base.Clone(), o, nil); !errors.Is(err, ErrOption) {
			t.Errorf("%+v: err %v, want ErrOption", o, err)
		}
	}
}
