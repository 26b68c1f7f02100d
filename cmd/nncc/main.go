// Command nncc compresses ONNX models and checks the result against the
// original. See docs/cli.md.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nncc/nncc/onnx"
)

func main() {
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-interrupted
		// Outputs are written to temporary files and renamed into place;
		// remove any write still in flight so no partial file remains.
		onnx.RemovePendingTemps()
		fmt.Fprintf(os.Stderr, "nncc: interrupted (%v); no output written\n", sig)
		os.Exit(exitInterrupted)
	}()
	if d, err := time.ParseDuration(os.Getenv("NNCC_TEST_PAUSE_BEFORE_RENAME")); err == nil {
		onnx.BeforeRename = func(string) { time.Sleep(d) }
	}
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
