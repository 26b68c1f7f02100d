package passes

import (
	"fmt"
	"io"
	"strings"
)

// WriteList writes a plain-text listing of ps: each pass's name and
// summary with its options, types and defaults. With verbose, each pass's
// full documentation follows its summary.
func WriteList(w io.Writer, ps []*Pass, verbose bool) error {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 && verbose {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%-20s %s\n", p.Name, p.Summary())
		if verbose && p.Details() != "" {
			for _, line := range strings.Split(p.Details(), "\n") {
				fmt.Fprintf(&b, "%s\n", strings.TrimRight("    "+line, " "))
			}
			if len(p.Options) > 0 {
				b.WriteString("\n")
			}
		}
		for _, o := range p.Options {
			fmt.Fprintf(&b, "    %s: %s, default %s — %s\n", o.Name, o.Type, formatValue(o.Default), o.Doc)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the reference documentation of ps (docs/passes.md
// is this output for the built-in passes).
func WriteMarkdown(w io.Writer, ps []*Pass) error {
	var b strings.Builder
	b.WriteString(`<!-- Code generated from the pass registry by "go test ./passes -run TestDocs -update"; DO NOT EDIT. -->

# Passes

A pipeline is a comma-separated list of passes, each optionally followed
by options in braces:

    nncc compile model.onnx -o out.onnx --passes 'remove-dropout,fold-constants{max-bytes=4096},upgrade-opset{to=20},default'

` + "`default`" + ` stands for the default pipeline, expanded when the pipeline
reaches it (so after ` + "`upgrade-opset`" + ` it includes the fusions the new
opset allows); ` + "`none`" + ` runs nothing. Without ` + "`--passes`" + `, ` + "`nncc compile`" + `
runs the default pipeline: remove-dropout, eliminate-identity,
fold-constants, fold-bn, fuse-matmul-add, fuse-layernorm (opset 17 and
newer), fuse-gelu (opset 20 and newer), eliminate-dead.

Every pass leaves the graph unchanged where it meets a case it does not
handle and says why; ` + "`--report FILE.json`" + ` records those reasons with
each pass's time and node and parameter counts, and ` + "`--verify-each`" + `
checks the graph and compares the outputs with the original model's after
every pass that changed something. ` + "`nncc passes`" + ` prints this list.

| pass | summary |
|------|---------|
`)
	for _, p := range ps {
		fmt.Fprintf(&b, "| [%s](#%s) | %s |\n", p.Name, p.Name, mdEscape(p.Summary()))
	}
	for _, p := range ps {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", p.Name, p.Summary())
		if d := p.Details(); d != "" {
			b.WriteString("\n")
			b.WriteString(strings.TrimRight(markdownBody(d), "\n") + "\n")
		}
		if len(p.Options) > 0 {
			b.WriteString("\n| option | type | default | meaning |\n|--------|------|---------|---------|\n")
			for _, o := range p.Options {
				fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", o.Name, o.Type, formatValue(o.Default), mdEscape(o.Doc))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// markdownBody renders a Doc's details: paragraphs stay paragraphs,
// indented "- " items become a list, other indented blocks (formulas,
// tables) become code blocks.
func markdownBody(d string) string {
	var b strings.Builder
	for _, para := range strings.Split(d, "\n\n") {
		lines := strings.Split(para, "\n")
		indented := true
		for _, l := range lines {
			if !strings.HasPrefix(l, "  ") {
				indented = false
			}
		}
		switch {
		case indented && strings.HasPrefix(strings.TrimSpace(lines[0]), "- "):
			var items []string
			for _, l := range lines {
				if t := strings.TrimSpace(l); strings.HasPrefix(t, "- ") || len(items) == 0 {
					items = append(items, t)
				} else {
					items[len(items)-1] += " " + t
				}
			}
			b.WriteString(strings.Join(items, "\n") + "\n\n")
		case indented:
			b.WriteString("```\n")
			for _, l := range lines {
				b.WriteString(strings.TrimPrefix(l, "  ") + "\n")
			}
			b.WriteString("```\n\n")
		default:
			b.WriteString(para + "\n\n")
		}
	}
	return strings.TrimLeft(b.String(), "\n")
}
