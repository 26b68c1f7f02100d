package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "nncc",
		Short: "nncc compiles ONNX models into smaller, faster models that provably compute the same thing",
		Long: `nncc is an ONNX model compression compiler. It loads a model into its IR,
runs optimisation and compression passes, writes ONNX (or Go source), and
checks every result against the original with its own CPU runtime.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(
		newVersionCmd(),
		newInspectCmd(),
		newCompileCmd(),
		newPassesCmd(),
		newRunCmd(),
		newEvalCmd(),
		newVerifyCmd(),
		newBenchCmd(),
		newSplitCmd(),
	)
	for _, c := range root.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	}
	return root
}

// exactArgs is cobra.ExactArgs with a usage exit code.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError(err)
		}
		return nil
	}
}
