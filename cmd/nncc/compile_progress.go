package main

import (
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressBar returns a passes.RunOptions.Progress callback that draws a
// bar on f while f is a terminal (nil otherwise, so that logs and pipes
// stay clean), and a function that finishes the last bar.
func progressBar(f *os.File) (func(label string, done, total int), func()) {
	if !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	var cur string
	finish := func() {
		if bar != nil {
			_ = bar.Finish()
			bar = nil
		}
	}
	return func(label string, done, total int) {
		if bar == nil || label != cur || done == 0 {
			finish()
			cur = label
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription(label),
				progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100_000_000))
		}
		_ = bar.Set(done)
		if done >= total {
			finish()
		}
	}, finish
}
