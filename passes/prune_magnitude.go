package passes

import (
	"strings"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/prune"
)

// PruneMagnitude zeroes the smallest weights (see package prune).
var PruneMagnitude = &Pass{
	Name: "prune-magnitude",
	Doc: `Zero the smallest-magnitude weights of Conv, ConvTranspose, Gemm and MatMul, optionally re-fitting the rest to the original model.

Give sparsity (the fraction of weights to zero, in [0, 1)) or threshold
(every weight with |w| below it is zeroed). scope=global ranks all
selected weights together, so layers with small weights lose more;
scope=layer takes the same fraction from every layer. exclude names nodes
(separated by '+') to leave dense; keep-first-last leaves the first and
the last prunable layer dense.

With reconstruct=true and calibration data (--calib), every pruned layer
is then re-fitted, in graph order, so that its output reproduces the
original model's activations on the calibration data: for each output
row, a ridge-damped least-squares solve over the weights that remain
(and the bias), from the streamed statistics XᵀX and XᵀY of the pruned
model's layer input X and the original's layer output Y. Zeros stay zero.

With an accuracy budget (--eval, --labels, --max-drop) and no sparsity or
threshold, the pass measures each layer's sensitivity (accuracy against
sparsity) and raises per-layer sparsities greedily, the layer with the
most multiply-accumulates removed per point of accuracy first, while the
budget holds. The report's details list each layer's sparsity (and the
sensitivity curves).`,
	Options: []Option{
		{Name: "sparsity", Type: Float, Default: -1.0, Doc: "fraction of weights to zero, in [0, 1) (-1: unset)"},
		{Name: "threshold", Type: Float, Default: -1.0, Doc: "zero weights with |w| below this (-1: unset)"},
		{Name: "scope", Type: String, Default: "global", Choices: []string{"global", "layer"}, Doc: "rank weights over the whole model or within each layer"},
		{Name: "exclude", Type: String, Default: "", Doc: "node names to leave dense, separated by '+'"},
		{Name: "keep-first-last", Type: Bool, Default: false, Doc: "leave the first and the last prunable layer dense"},
		{Name: "reconstruct", Type: Bool, Default: false, Doc: "re-fit the remaining weights to the original model's activations on the calibration data"},
		{Name: "damp", Type: Float, Default: 0.01, Doc: "ridge damping of the re-fit, as a fraction of the Gram matrix's mean diagonal"},
		{Name: "bn-stats", Type: Bool, Default: false, Doc: "re-estimate BatchNormalization statistics on the calibration data after pruning (needs --calib)"},
	},
	Lossy: true,
	Run:   runPruneMagnitude,
}

// MagnitudeDetails is prune-magnitude's record in the report.
type MagnitudeDetails struct {
	Layers      []prune.LayerSparsity `json:"layers"`
	Sparsity    float64               `json:"sparsity"`
	Refit       []prune.RefitReport   `json:"refit,omitempty"`
	Sensitivity *prune.Sensitivity    `json:"sensitivity,omitempty"`
	BNStats     []string              `json:"bn_stats,omitempty"`
}

func runPruneMagnitude(c *Context) error {
	o := prune.MagnitudeOptions{
		Sparsity:      c.Float("sparsity"),
		Threshold:     c.Float("threshold"),
		Global:        c.String("scope") == "global",
		KeepFirstLast: c.Bool("keep-first-last"),
	}
	for _, e := range strings.Split(c.String("exclude"), "+") {
		if e = strings.TrimSpace(e); e != "" {
			o.Exclude = append(o.Exclude, e)
		}
	}
	reconstruct := c.Bool("reconstruct")
	if (reconstruct || c.Bool("bn-stats")) && c.Calib == nil {
		return usageErr("prune-magnitude: reconstruct=true and bn-stats=true need calibration data (--calib)")
	}
	skip := func(n *ir.Node, why string) { c.Declinef(n, "%s", why) }
	det := &MagnitudeDetails{}
	auto := o.Sparsity < 0 && o.Threshold < 0 && c.Budget != nil
	if auto {
		sens, per, err := prune.SearchMagnitude(c.Model, o, c.Budget, c.searchOptions(reconstruct))
		if err != nil {
			return err
		}
		det.Sensitivity = sens
		o.PerLayer = per
		c.plot("prune-magnitude-layers.png", func() ([]byte, error) {
			return sens.PlotLayers("prune-magnitude: sensitivity per layer", "sparsity of the layer alone")
		})
		c.plot("prune-magnitude-model.png", func() ([]byte, error) {
			return sens.PlotModel("prune-magnitude: whole model", "global sparsity")
		})
	} else if err := o.Validate(); err != nil {
		return usageErr("prune-magnitude: %v", err)
	}
	var teacher *ir.Model
	if reconstruct {
		teacher = c.Model.Clone()
	}
	mask, rep, err := prune.Magnitude(c.Model, o, skip)
	if err != nil {
		return usageErr("prune-magnitude: %v", err)
	}
	det.Layers = rep
	var z, n int64
	for _, l := range rep {
		z += l.Zeros
		n += l.Weights
	}
	if n > 0 {
		det.Sparsity = float64(z) / float64(n)
	}
	if reconstruct && len(mask) > 0 {
		refit, err := prune.RefitMagnitude(teacher, c.Model, mask, c.Calib, c.refitOptions())
		if err != nil {
			return err
		}
		det.Refit = refit
	}
	if c.Bool("bn-stats") && z > 0 {
		bns, err := prune.RecalibrateBN(c.Model, c.Calib, c.refitOptions())
		if err != nil {
			return err
		}
		det.BNStats = bns
	}
	c.SetDetails(det)
	if z > 0 {
		c.Changed()
	}
	return nil
}

func (c *Context) refitOptions() prune.RefitOptions {
	return prune.RefitOptions{Damp: c.floatOr("damp", 0.01), Threads: c.Threads, Progress: c.Progress}
}

func (c *Context) searchOptions(reconstruct bool) prune.SearchOptions {
	so := prune.SearchOptions{Refit: c.refitOptions(), Progress: c.Progress}
	if reconstruct {
		so.Calib = c.Calib
	}
	return so
}

// floatOr returns the Float option name, or def when the pass has none.
func (c *Context) floatOr(name string, def float64) float64 {
	if o := c.Pass.option(name); o == nil || o.Type != Float {
		return def
	}
	return c.Float(name)
}
