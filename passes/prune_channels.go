package passes

import (
	"strings"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/prune"
)

// PruneChannels removes whole channels (see package prune).
var PruneChannels = &Pass{
	Name: "prune-channels",
	Doc: `Remove whole output channels of Conv, ConvTranspose, Gemm and MatMul, rewriting every tensor and weight that carries them.

Channels are grouped by what ties them: a residual Add, a
squeeze-excitation Mul, element-wise ops, BatchNormalization, activations,
pooling, Resize and depthwise convolutions pass a channel through, so the
same channel is removed from every tensor of its group at once: from the
producers' filters and biases, BatchNormalization parameters, depthwise
filters (and their group count), per-channel constants of element-wise
ops, the next Conv's input channels, and the block of rows a Gemm or
MatMul after Flatten reads. A group reaching a graph input or output, a
Concat along channels, a reshape or an op without a rule keeps all its
channels (listed with the reason in the report's details), so the
model's inputs and outputs keep their shapes.

ratio is the fraction of each group's channels to remove (at least one
stays); criterion ranks channels by the L1 or L2 norm of the producing
filters or by |scale| of the group's BatchNormalization (run it before
fold-bn). With reconstruct=true and --calib, every Conv, Gemm and MatMul
after the first changed one is then re-fitted, in graph order, to
reproduce the original model's activations (its kept channels) on the
calibration data, by ridge-damped least squares from streamed XᵀX and
XᵀY. With an accuracy budget and ratio unset (-1), per-group ratios are
chosen greedily by measured sensitivity, most MACs removed first, while
the budget holds.`,
	Options: []Option{
		{Name: "ratio", Type: Float, Default: -1.0, Doc: "fraction of each group's channels to remove, in [0, 1) (-1: unset; with a budget, searched)"},
		{Name: "criterion", Type: String, Default: "l1", Choices: []string{"l1", "l2", "bn-gamma"}, Doc: "how channels are ranked"},
		{Name: "exclude", Type: String, Default: "", Doc: "producer node names whose channels stay, separated by '+'"},
		{Name: "reconstruct", Type: Bool, Default: false, Doc: "re-fit the following layers to the original model's activations on the calibration data"},
		{Name: "damp", Type: Float, Default: 0.01, Doc: "ridge damping of the re-fit, as a fraction of the Gram matrix's mean diagonal"},
		{Name: "bn-stats", Type: Bool, Default: false, Doc: "re-estimate BatchNormalization statistics on the calibration data after pruning (needs --calib)"},
	},
	Lossy: true,
	Run:   runPruneChannels,
}

// ChannelDetails is prune-channels' record in the report.
type ChannelDetails struct {
	prune.ChannelResult
	Refit       []prune.RefitReport `json:"refit,omitempty"`
	Sensitivity *prune.Sensitivity  `json:"sensitivity,omitempty"`
	// BNStats names the BatchNormalizations whose statistics were
	// re-estimated (bn-stats=true).
	BNStats []string `json:"bn_stats,omitempty"`
}

func runPruneChannels(c *Context) error {
	o := prune.ChannelOptions{Ratio: c.Float("ratio"), Criterion: c.String("criterion")}
	for _, e := range strings.Split(c.String("exclude"), "+") {
		if e = strings.TrimSpace(e); e != "" {
			o.Exclude = append(o.Exclude, e)
		}
	}
	reconstruct := c.Bool("reconstruct")
	if (reconstruct || c.Bool("bn-stats")) && c.Calib == nil {
		return usageErr("prune-channels: reconstruct=true and bn-stats=true need calibration data (--calib)")
	}
	det := &ChannelDetails{}
	if o.Ratio < 0 && c.Budget != nil {
		sens, per, err := prune.SearchChannels(c.Model, o, c.Budget, c.searchOptions(reconstruct))
		if err != nil {
			return err
		}
		det.Sensitivity = sens
		o.Ratio, o.PerGroup = 0, per
		c.plot("prune-channels-layers.png", func() ([]byte, error) {
			return sens.PlotLayers("prune-channels: sensitivity per channel group", "ratio of the group's channels removed")
		})
		c.plot("prune-channels-model.png", func() ([]byte, error) {
			return sens.PlotModel("prune-channels: whole model", "ratio removed from every group")
		})
	} else if o.Ratio < 0 {
		return usageErr("prune-channels: give ratio (a fraction in [0, 1)), or an accuracy budget (--eval, --max-drop) to search one")
	}
	if err := o.Validate(); err != nil {
		return usageErr("prune-channels: %v", err)
	}
	c.inferShapes()
	var teacher *ir.Model
	if reconstruct {
		teacher = c.Model.Clone()
	}
	an := prune.Analyze(c.Model)
	removed, err := an.Plan(o)
	if err != nil {
		return usageErr("prune-channels: %v", err)
	}
	det.ChannelResult = an.Report()
	for _, g := range det.Groups {
		if g.Frozen != "" {
			c.Declinef(nil, "channels of %s stay: %s", strings.Join(g.Producers, ", "), g.Frozen)
		}
	}
	if removed == 0 {
		c.SetDetails(det)
		return nil
	}
	an.Apply(c.Model)
	c.Changed()
	if reconstruct {
		refit, err := prune.Refit(teacher, c.Model, an.RefitLayers(c.Model), c.Calib, c.refitOptions())
		if err != nil {
			return err
		}
		det.Refit = refit
	}
	if c.Bool("bn-stats") {
		bns, err := prune.RecalibrateBN(c.Model, c.Calib, c.refitOptions())
		if err != nil {
			return err
		}
		det.BNStats = bns
	}
	c.SetDetails(det)
	return nil
}
