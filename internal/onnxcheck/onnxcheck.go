// Package onnxcheck runs the reference ONNX checker (Python onnx,
// full_check) over model files, for tests.
package onnxcheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Python is the interpreter that has the onnx package (Debian's
// python3-onnx installs into the system Python).
const Python = "/usr/bin/python3"

// Result is the checker's verdict on one file.
type Result struct {
	Path  string `json:"path"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "tools", "onnxcheck", "check.py")
}

// Available reports whether the checker can run here.
func Available() bool {
	return exec.Command(Python, "-c", "import onnx").Run() == nil
}

// Require skips t when the checker is missing, unless NNCC_REQUIRE_ONNX is
// set (as in CI), where it fails.
func Require(t testing.TB) {
	t.Helper()
	if Available() {
		return
	}
	if os.Getenv("NNCC_REQUIRE_ONNX") != "" {
		t.Fatal("python3 onnx checker not available (apt-get install python3-onnx)")
	}
	t.Skip("python3 onnx checker not available (apt-get install python3-onnx)")
}

// Check runs the checker over paths in one Python process.
func Check(paths []string) ([]Result, error) {
	cmd := exec.Command(Python, script())
	cmd.Stdin = strings.NewReader(strings.Join(paths, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("onnx checker: %v: %s", err, stderr.String())
	}
	var res []Result
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("onnx checker output: %v", err)
		}
		res = append(res, r)
	}
	if len(res) != len(paths) {
		return nil, fmt.Errorf("onnx checker answered %d of %d files: %s", len(res), len(paths), stderr.String())
	}
	return res, nil
}
