package runtime

import (
	"fmt"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/kernels"
)

// ResizeAxisTaps returns the interpolation taps package kernels'
// Resize2D takes for one axis of Resize or Upsample node n (of a model
// of the given opset) resized from in to out elements with scale, as a
// Session computes them: code generators (backend/gosrc) build their
// tables with it so that generated code resamples exactly as the
// runtime does. tf_crop_and_resize, which takes the extrapolation value
// outside its region of interest, is not supported.
func ResizeAxisTaps(n *ir.Node, opset int64, in, out int, scale float64) (*kernels.ResizeTaps, error) {
	b := &buildCtx{n: n, opset: opset}
	var k kernel
	var err error
	if n.OpType == "Upsample" {
		k, err = buildUpsample(b)
	} else {
		k, err = buildResize(b)
	}
	if err != nil {
		return nil, err
	}
	rk := k.(*resizeKernel)
	if rk.coord == "tf_crop_and_resize" {
		return nil, fmt.Errorf("coordinate_transformation_mode tf_crop_and_resize")
	}
	return resizeTaps(rk.axisTaps(in, out, scale, 0, 1)), nil
}
