package prune

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// PlotLayers draws each layer's sensitivity curve (score against the
// level it alone is pruned at) as a PNG.
func (s *Sensitivity) PlotLayers(title, xlabel string) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = s.Metric + " (%)"
	var args []any
	for _, l := range s.Layers {
		args = append(args, l.Layer, curve(s.Base, l.Points))
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return nil, err
	}
	p.Legend.Top = false
	p.Legend.Left = true
	return png(p, 8, 5)
}

// PlotModel draws the whole model's score against uniform pruning, and
// the budget's floor.
func (s *Sensitivity) PlotModel(title, xlabel string) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = s.Metric + " (%)"
	floor := plotter.XYs{{X: 0, Y: 100*s.Base - s.MaxDrop}, {X: 1, Y: 100*s.Base - s.MaxDrop}}
	if err := plotutil.AddLinePoints(p, "whole model", curve(s.Base, s.Model)); err != nil {
		return nil, err
	}
	if err := plotutil.AddLines(p, fmt.Sprintf("budget (−%g points)", s.MaxDrop), floor); err != nil {
		return nil, err
	}
	return png(p, 6, 4)
}

func curve(base float64, pts []Point) plotter.XYs {
	xy := plotter.XYs{{X: 0, Y: 100 * base}}
	for _, q := range pts {
		xy = append(xy, plotter.XY{X: q.Level, Y: 100 * q.Score})
	}
	return xy
}

func png(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(w*vg.Inch, h*vg.Inch, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
