// Command nncc compresses ONNX models and checks the result against the
// original. See docs/cli.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI with args and returns the exit code.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	fmt.Fprintf(os.Stderr, "nncc: %v\n", err)
	if code == exitUsage {
		fmt.Fprintf(os.Stderr, "Run 'nncc --help' for usage.\n")
	}
	return code
}
