// Command nncc compresses ONNX models and checks the result against the
// original. See docs/cli.md.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI with args and returns the exit code. Results go
// to stdout, errors to stderr.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	fmt.Fprintf(stderr, "nncc: %v\n", err)
	if code == exitUsage {
		fmt.Fprintf(stderr, "Run 'nncc --help' for usage.\n")
	}
	return code
}
