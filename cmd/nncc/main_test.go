package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const cnn = "../../testmodels/digits_cnn.onnx"

// nncc runs the CLI in-process and returns its exit code and output.
func nncc(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := nncc(t, "version")
	if code != 0 || !strings.HasPrefix(out, "nncc ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestInspectJSON(t *testing.T) {
	code, out, errs := nncc(t, "inspect", "--json", "../../testmodels/digits_cnn_constnodes.onnx")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var s ModelSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Opsets["ai.onnx"] != 12 || s.IRVersion != 7 {
		t.Errorf("opsets %v ir %d", s.Opsets, s.IRVersion)
	}
	if len(s.Inputs) != 1 || s.Inputs[0].Shape[0] != "batch" || s.Inputs[0].Shape[1] != float64(1) {
		t.Errorf("inputs %+v: want a symbolic batch dim then 1", s.Inputs)
	}
	if s.OpCounts["Constant"] != 0 {
		t.Errorf("Constant nodes holding weights were counted as ops: %v", s.OpCounts)
	}
	if s.OpCounts["Conv"] != 2 || s.OpCounts["BatchNormalization"] != 2 {
		t.Errorf("op counts %v", s.OpCounts)
	}
	if s.ParamCount < 6000 || s.ParamBytes != 4*s.ParamCount+int64(s.ParamBytes-4*s.ParamCount) || s.NodeCount == 0 {
		t.Errorf("params %d (%d bytes), nodes %d", s.ParamCount, s.ParamBytes, s.NodeCount)
	}
}

// TestExitCodes checks the documented exit code of each failure kind and
// that errors name the file.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(garbage, []byte("definitely not protobuf \xff\xff\xff"), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"unknown flag", []string{"inspect", "--nope", cnn}, exitUsage, "unknown flag"},
		{"missing arg", []string{"inspect"}, exitUsage, "arg"},
		{"no output", []string{"compile", cnn}, exitUsage, "-o"},
		{"output is input", []string{"compile", cnn, "-o", cnn, "--passes", "none"}, exitUsage, "refusing to overwrite"},
		{"bad pass", []string{"compile", cnn, "-o", filepath.Join(dir, "x.onnx"), "--passes", "no-such-pass"}, exitUsage, "no-such-pass"},
		{"bad shape flag", []string{"run", cnn, "--shape", "input=1xq"}, exitUsage, "not a dimension"},
		{"missing file", []string{"inspect", filepath.Join(dir, "absent.onnx")}, exitBadInput, "absent.onnx"},
		{"garbage file", []string{"inspect", garbage}, exitBadInput, garbage},
		{"garbage compile", []string{"compile", garbage, "-o", filepath.Join(dir, "y.onnx")}, exitBadInput, garbage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := nncc(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, errs)
			}
			if !strings.Contains(errs, c.want) {
				t.Errorf("stderr %q does not mention %q", errs, c.want)
			}
		})
	}
	for _, f := range []string{"x.onnx", "y.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("a failed compile left %s behind", f)
		}
	}
}

// TestCompileNoneRoundTrip: --passes none writes a model that loads and
// is the same size class, and never touches the input.
func TestCompileNoneRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.onnx")
	orig, _ := os.ReadFile(cnn)
	os.WriteFile(in, orig, 0o444)
	out := filepath.Join(dir, "out.onnx")
	code, stdout, errs := nncc(t, "compile", in, "-o", out, "--passes", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "nodes") {
		t.Errorf("no summary printed: %q", stdout)
	}
	after, _ := os.ReadFile(in)
	if !bytes.Equal(orig, after) {
		t.Error("input file changed")
	}
	if code, _, errs := nncc(t, "inspect", out); code != 0 {
		t.Errorf("output does not load: %s", errs)
	}
}

var nnccBin string

// buildBinary builds the command once for the tests that run it as a
// separate process.
func buildBinary(t *testing.T) string {
	t.Helper()
	if nnccBin != "" {
		return nnccBin
	}
	dir, err := os.MkdirTemp("", "nncc-bin")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "nncc")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	nnccBin = bin
	return bin
}

// TestDeterministicOutput: the same input gives byte-identical output
// across runs, GOMAXPROCS values and working directories.
func TestDeterministicOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	src, _ := filepath.Abs(cnn)
	var outputs [][]byte
	for i, env := range []struct {
		procs string
		cwd   string
	}{{"1", "."}, {"2", ".."}, {"1", os.TempDir()}, {"4", t.TempDir()}} {
		out := filepath.Join(t.TempDir(), "out.onnx")
		cmd := exec.Command(bin, "compile", src, "-o", out)
		cmd.Dir = env.cwd
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+env.procs)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, b)
	}
	for i := 1; i < len(outputs); i++ {
		if !bytes.Equal(outputs[0], outputs[i]) {
			t.Errorf("run %d gave different bytes from run 0", i)
		}
	}

}

// TestInterruptLeavesNoOutput sends SIGINT while the output is complete
// in its temporary file but not yet renamed: nothing may remain.
func TestInterruptLeavesNoOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		dir := t.TempDir()
		out := filepath.Join(dir, "out.onnx")
		cmd := exec.Command(bin, "compile", cnn, "-o", out, "--passes", "none")
		cmd.Env = append(os.Environ(), "NNCC_TEST_PAUSE_BEFORE_RENAME=5s")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for the temporary file to appear, then interrupt.
		deadline := time.Now().Add(20 * time.Second)
		for {
			entries, _ := os.ReadDir(dir)
			if len(entries) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
			t.Errorf("%v: exit %v, want %d (stderr %q)", sig, err, exitInterrupted, stderr.String())
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			t.Errorf("%v: %s left behind", sig, e.Name())
		}
	}
}
