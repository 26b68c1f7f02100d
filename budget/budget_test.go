package budget_test

import (
	"math"
	"testing"

	"github.com/nncc/nncc/budget"
	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/npy"
	"github.com/nncc/nncc/onnx"
)

func digits(t *testing.T) (*ir.Model, *calib.Tensors, []int64) {
	t.Helper()
	m, err := onnx.Load("../testmodels/digits_cnn.onnx")
	if err != nil {
		t.Fatal(err)
	}
	d, err := calib.Load(m, []string{"../testmodels/data/digits_test_x.npy"})
	if err != nil {
		t.Fatal(err)
	}
	y, err := npy.Read("../testmodels/data/digits_test_y.npy")
	if err != nil {
		t.Fatal(err)
	}
	return m, d, y.Int64s()
}

// The trained CNN's accuracy is 99.11% on the 450 held-out digits
// (testmodels/README.md); the budget must measure the same whatever the
// batch size.
func TestAccuracyOfTrainedCNN(t *testing.T) {
	m, d, y := digits(t)
	for _, batch := range []int{1, 7, 64} {
		e, err := budget.NewEvaluator(d, y)
		if err != nil {
			t.Fatal(err)
		}
		e.Batch = batch
		b, err := budget.New(m, e, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(b.Base.Accuracy-446.0/450) > 1e-12 || b.Base.Agreement != 1 || b.Base.N != 450 {
			t.Errorf("batch %d: base %+v, want accuracy 446/450 and agreement 1", batch, b.Base)
		}
	}
}

// A model that predicts worse must show the drop and break a tight
// budget: zeroing the final layer's bias and scaling its weights moves
// predictions.
func TestBudgetSeesDamage(t *testing.T) {
	m, d, y := digits(t)
	e, _ := budget.NewEvaluator(d, y)
	b, err := budget.New(m, e, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	damaged := m.Clone()
	for _, c := range damaged.Graph.Consts {
		if t := c.Const; t.DType == ir.Float32 && len(t.Dims) == 4 {
			w := t.Float32s()
			for i := range w {
				if i%3 == 0 {
					w[i] = -w[i]
				}
			}
			c.Const = ir.FromFloat32(t.Dims, w)
			break
		}
	}
	s, ok, err := b.Measure(damaged)
	if err != nil {
		t.Fatal(err)
	}
	if ok || b.Drop(s) <= 0.5 || s.Agreement >= 1 {
		t.Errorf("damaged model: score %+v drop %.2f within budget %v; want it outside", s, b.Drop(s), ok)
	}
}

func TestAgreementWithoutLabels(t *testing.T) {
	m, d, _ := digits(t)
	e, _ := budget.NewEvaluator(d, nil)
	b, err := budget.New(m, e, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, ok, err := b.Measure(m)
	if err != nil || !ok || s.Agreement != 1 || s.Accuracy != -1 || b.Drop(s) != 0 {
		t.Errorf("the original against itself: %+v ok=%v err=%v", s, ok, err)
	}
}
