package main

import (
	"math"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	tm := &Timing{RoundsMS: []float64{12, 10, 30, 11, 13}, roundMins: []float64{11, 9.5, 20, 10, 12}}
	tm.summarize()
	if tm.MedianMS != 12 {
		t.Errorf("median of round medians = %v, want 12", tm.MedianMS)
	}
	if tm.MinMS != 9.5 {
		t.Errorf("min = %v, want 9.5", tm.MinMS)
	}
	if want := 100 * (30.0 - 10) / 12; math.Abs(tm.SpreadPct-want) > 1e-9 {
		t.Errorf("spread = %v%%, want %v%%", tm.SpreadPct, want)
	}

	failed := &Timing{Error: "operator X is not supported", RoundsMS: []float64{1}}
	failed.summarize()
	if failed.MedianMS != 0 || failed.RoundsMS != nil {
		t.Errorf("a failed timing kept figures: %+v", failed)
	}
}

func TestMarkdown(t *testing.T) {
	unsupported := "runtime: operator Conv is not supported"
	res := &Results{
		Settings: Settings{Rounds: 5, RoundMS: 500, ORTOpt: "all"},
		Rows: []Row{
			{Model: "a", Variant: "original", Input: "1x8", Threads: 1, Nodes: 3, NNCC: &Timing{MedianMS: 2, SpreadPct: 10}, ORT: &Timing{MedianMS: 1}, Ratio: 2, MinRat: 1.5},
			{Model: "b", Variant: "original", Input: "1x8", Threads: 1, Nodes: 4, NNCC: &Timing{Error: unsupported}, ORT: &Timing{MedianMS: 1}},
			{Model: "c", Variant: "original", Input: "1x8", Threads: 2, Nodes: 5, NNCC: &Timing{Error: unsupported}, ORT: &Timing{Error: "a | b"}},
		},
		Compiles: []Compile{{Model: "a", Seconds: 0.25}, {Model: "b", Error: "boom"}},
	}
	md := res.markdown()
	for _, want := range []string{
		"| a | original | 1x8 | 1 | 3 | 2.00 ±5% | 1.00 ±0% | 2.00× | 1.50× |",
		"| b | original | 1x8 | 1 | 4 | —[^1] | 1.00 ±0% | — | — |",
		"| c | original | 1x8 | 2 | 5 | —[^1] | —[^2] | — | — |", // the same error shares its footnote
		"[^1]: not measured: " + unsupported,
		`[^2]: not measured: a \| b`, // pipes cannot break the table
		"a 0.25 s, b failed (no optimized rows): boom.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "[^1]:") != 1 {
		t.Errorf("footnote 1 defined %d times", strings.Count(md, "[^1]:"))
	}
}

// With -before, each row gains the older build's time and its ratio, and
// the profile of the slowest model follows the table.
func TestMarkdownBeforeAndProfile(t *testing.T) {
	res := &Results{
		Settings: Settings{Rounds: 3, RoundMS: 100, ORTOpt: "all", Before: "/tmp/old-nncc"},
		Rows: []Row{
			{Model: "a", Variant: "original", Input: "1x8", Threads: 2, Nodes: 3, NNCC: &Timing{MedianMS: 2}, ORT: &Timing{MedianMS: 4}, Ratio: 0.5, MinRat: 0.5,
				Before: &Timing{MedianMS: 8}, BeforeRatio: 2},
		},
		Profile: &Profile{Model: "a", Input: "1x8", Text: "per operator type\n  Conv 1.0\n"},
	}
	md := res.markdown()
	for _, want := range []string{
		"| a | original | 1x8 | 2 | 3 | 2.00 ±0% | 4.00 ±0% | 0.50× | 0.50× | 8.00 ±0% | 2.00× |",
		"`/tmp/old-nncc`",
		"slowest model, a (1x8, 1 thread)",
		"```\nper operator type\n  Conv 1.0\n```",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// Rows at more than one thread get a speed-up table from the one-thread
// figures of the same rounds; an engine without figures shows a dash.
func TestSpeedupTable(t *testing.T) {
	one := &Timing{MedianMS: 120}
	if got := speedup(one, &Timing{MedianMS: 75}); got != 1.6 {
		t.Errorf("speedup(120 ms, 75 ms) = %v, want 1.6", got)
	}
	if got := speedup(&Timing{Error: "x"}, &Timing{MedianMS: 75}); got != 0 {
		t.Errorf("speedup without a one-thread figure = %v, want 0", got)
	}
	res := &Results{
		Settings: Settings{Rounds: 3, RoundMS: 100, ORTOpt: "all"},
		Rows: []Row{
			{Model: "det", Variant: "original", Input: "1x3", Threads: 1, NNCC: &Timing{MedianMS: 120}, ORT: &Timing{MedianMS: 130}},
			{Model: "det", Variant: "original", Input: "1x3", Threads: 2, NNCC: &Timing{MedianMS: 75}, ORT: &Timing{Error: "boom"}, NNCCSpeedup: 1.6},
		},
	}
	md := res.markdown()
	for _, want := range []string{
		"Speed-up over one thread",
		"| det | original | 1x3 | 2 | 1.60× | — |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "| det | original | 1x3 | 1 | 1.") {
		t.Errorf("the one-thread row has a speed-up:\n%s", md)
	}
	res.Rows = res.Rows[:1]
	if md := res.markdown(); strings.Contains(md, "Speed-up over one thread") {
		t.Errorf("a speed-up table without rows at more threads:\n%s", md)
	}
}
