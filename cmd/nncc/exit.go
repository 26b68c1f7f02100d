package main

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/nncc/nncc/calib"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/runtime"
)

// Exit codes, documented in docs/cli.md.
const (
	exitOK       = 0 // success
	exitFailed   = 1 // the job ran but its check failed (verify outside tolerance, gate not met)
	exitUsage    = 2 // bad flags or arguments
	exitBadInput = 3 // an input file is missing or is not a valid model or tensor
	exitInternal = 4 // anything else: I/O failures, unsupported operations, bugs

	exitInterrupted = 130 // stopped by SIGINT or SIGTERM; nothing written
)

// codeError carries an exit code with an error.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

func usageError(err error) error    { return &codeError{exitUsage, err} }
func failedError(err error) error   { return &codeError{exitFailed, err} }
func badInputError(err error) error { return &codeError{exitBadInput, err} }

// exitCode maps an error to its exit code.
func exitCode(err error) int {
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	if strings.HasPrefix(err.Error(), "unknown command") {
		return exitUsage
	}
	if errors.Is(err, onnx.ErrBadModel) || errors.Is(err, calib.ErrBadData) || errors.Is(err, fs.ErrNotExist) {
		return exitBadInput
	}
	// A node whose inputs, attributes or shapes do not fit its operator is
	// the model's (or the given inputs') fault; an operator the runtime
	// does not implement is nncc's limit.
	var ne *runtime.NodeError
	if errors.As(err, &ne) && !errors.Is(err, runtime.ErrUnsupported) {
		return exitBadInput
	}
	return exitInternal
}
