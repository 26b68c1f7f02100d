package prune

import (
	"fmt"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/ir"
)

// RecalibrateBN re-estimates the running mean and variance of every
// inference-mode BatchNormalization of m's main graph, in node order, from
// its input on the calibration data (each after the ones before it were
// updated). It returns the names of the nodes it updated. Statistics are
// summed per channel over batches (memory independent of the sample
// count), in float64.
//
// This is the classic repair after pruning without a re-fit: the pruned
// layer's outputs have a different distribution, and the normalisation
// follows it. After a re-fit (which matches the original's
// pre-normalisation activations, means included) it is not needed.
func RecalibrateBN(m *ir.Model, data calib.Dataset, o RefitOptions) ([]string, error) {
	if data == nil || data.Len() == 0 {
		return nil, fmt.Errorf("prune: re-estimating BatchNormalization needs calibration data")
	}
	if o.Batch <= 0 {
		o.Batch = 16
	}
	g := m.Graph
	var done []string
	for _, n := range g.Nodes {
		if n.OpType != "BatchNormalization" || !isDefault(n) || len(n.Inputs) < 5 || hasNamed(n.Outputs[1:]) {
			continue
		}
		mean, vr := constOf(g, n.Inputs[3]), constOf(g, n.Inputs[4])
		if mean == nil || vr == nil || mean.DType != ir.Float32 || vr.DType != ir.Float32 {
			continue
		}
		C := int(mean.NumElements())
		cp, err := newCapturer(m, []string{n.Inputs[0].Name}, o)
		if err != nil {
			return done, err
		}
		sum := make([]float64, C)
		sq := make([]float64, C)
		var count float64
		for start := 0; start < data.Len(); start += o.Batch {
			end := min(start+o.Batch, data.Len())
			outs, err := cp.run(data, start, end)
			if err != nil {
				return done, fmt.Errorf("prune: re-estimating %s: %w", nodeName(n), err)
			}
			x := outs[n.Inputs[0].Name]
			if x.DType != ir.Float32 || len(x.Dims) < 2 || int(x.Dims[1]) != C {
				return done, fmt.Errorf("prune: %s: input of shape %v for %d channels", nodeName(n), x.Dims, C)
			}
			inner := 1
			for _, d := range x.Dims[2:] {
				inner *= int(d)
			}
			v := x.Float32View()
			for b := 0; b < int(x.Dims[0]); b++ {
				for c := 0; c < C; c++ {
					for _, f := range v[(b*C+c)*inner : (b*C+c+1)*inner] {
						sum[c] += float64(f)
						sq[c] += float64(f) * float64(f)
					}
				}
			}
			count += float64(int(x.Dims[0]) * inner)
		}
		nm, nv := make([]float32, C), make([]float32, C)
		for c := 0; c < C; c++ {
			mu := sum[c] / count
			nm[c] = float32(mu)
			nv[c] = float32(max(sq[c]/count-mu*mu, 0))
		}
		n.Inputs[3] = g.AddConst(g.UniqueName(n.Inputs[3].Name), ir.FromFloat32(mean.Dims, nm))
		n.Inputs[4] = g.AddConst(g.UniqueName(n.Inputs[4].Name), ir.FromFloat32(vr.Dims, nv))
		done = append(done, nodeName(n))
	}
	return done, nil
}
