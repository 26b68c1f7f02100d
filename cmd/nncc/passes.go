package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nncc/nncc/passes"
)

func newPassesCmd() *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "passes [PASS...]",
		Short: "List the passes a pipeline can name, with their options",
		Long: `passes lists every pass with its summary and options. Naming passes
prints their full documentation. --markdown prints the reference that
docs/passes.md holds.

A pipeline (compile --passes) is a comma-separated list of passes, each
optionally with options in braces: 'fold-constants{max-bytes=4096},default'.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listPasses(cmd.OutOrStdout(), args, markdown)
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the Markdown reference (docs/passes.md)")
	return cmd
}

// listPasses writes the listing of the named passes (all when names is
// empty), in full when names are given, as Markdown with markdown.
func listPasses(w io.Writer, names []string, markdown bool) error {
	ps := passes.All()
	verbose := len(names) > 0
	if verbose {
		ps = nil
		for _, n := range names {
			p := passes.Lookup(n)
			if p == nil {
				return usageError(fmt.Errorf("unknown pass %q (run nncc passes for the list)", n))
			}
			ps = append(ps, p)
		}
	}
	if markdown {
		return passes.WriteMarkdown(w, ps)
	}
	return passes.WriteList(w, ps, verbose)
}
