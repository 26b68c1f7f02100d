package passes

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A PlotSink receives the charts passes draw (sensitivity curves, error
// histograms) as PNG files; `nncc compile --report-plots DIR` gives one
// (DirPlots). Passes name their charts after themselves.
type PlotSink interface {
	WritePlot(name string, png []byte) error
}

// DirPlots writes each chart to a file in the directory, creating it.
type DirPlots string

// WritePlot writes png to DIR/name through a temporary file and a rename.
func (d DirPlots) WritePlot(name string, png []byte) error {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return fmt.Errorf("plot name %q is not a file name", name)
	}
	if err := os.MkdirAll(string(d), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(string(d), "."+name+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(png); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(string(d), name))
}

// plot hands a chart to the run's PlotSink, if any; a failure to draw is
// logged, not fatal.
func (c *Context) plot(name string, draw func() ([]byte, error)) {
	if c.Plots == nil {
		return
	}
	b, err := draw()
	if err == nil {
		err = c.Plots.WritePlot(name, b)
	}
	if err != nil {
		c.Logf("  plot %s: %v", name, err)
	}
}
