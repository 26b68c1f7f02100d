package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/passes"
)

// writeReportPlots writes PNG charts of the quantize passes of rep into
// dir: <pass>-sqnr.png (per-layer SQNR in dB, in graph order) and, when
// an accuracy budget measured the pass, <pass>-accuracy.png (float, all
// layers quantized, and the kept model).
func writeReportPlots(rep *passes.Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, pr := range rep.Passes {
		d, ok := pr.Details.(*passes.QuantizeDetails)
		if !ok {
			continue
		}
		base := fmt.Sprintf("%02d-%s", i, pr.Name)
		var sq plotter.Values
		for _, l := range d.Layers {
			if l.SQNR != nil {
				sq = append(sq, math.Min(*l.SQNR, 100))
			}
		}
		if len(sq) > 0 {
			p := plot.New()
			p.Title.Text = fmt.Sprintf("%s: per-layer output SQNR vs float (%d layers)", pr.Name, len(sq))
			p.X.Label.Text = "quantized layer (graph order)"
			p.Y.Label.Text = "SQNR (dB)"
			bars, err := plotter.NewBarChart(sq, vg.Points(math.Max(1, math.Min(12, 500/float64(len(sq))))))
			if err != nil {
				return err
			}
			p.Add(bars)
			if err := savePNG(p, filepath.Join(dir, base+"-sqnr.png")); err != nil {
				return err
			}
		}
		if b := d.Budget; b != nil {
			p := plot.New()
			p.Title.Text = fmt.Sprintf("%s: top-1 on the evaluation set (budget %.2f points)", pr.Name, b.MaxDrop)
			if b.MaxDrop >= 100 {
				p.Title.Text = pr.Name + ": top-1 on the evaluation set (no budget)"
			}
			p.Y.Label.Text = "top-1 (%)"
			vals := plotter.Values{100 * b.Base.Metric(), 100 * b.First.Metric(), 100 * b.Final.Metric()}
			bars, err := plotter.NewBarChart(vals, vg.Points(40))
			if err != nil {
				return err
			}
			p.Add(bars)
			p.NominalX("float", "all int8", "kept")
			lo := math.Min(vals[0], math.Min(vals[1], vals[2]))
			p.Y.Min, p.Y.Max = math.Max(0, lo-5), 100
			if err := savePNG(p, filepath.Join(dir, base+"-accuracy.png")); err != nil {
				return err
			}
		}
	}
	return nil
}

func savePNG(p *plot.Plot, path string) error {
	w, err := p.WriterTo(8*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return err
	}
	return onnx.WriteFileAtomic(path, buf.Bytes())
}
