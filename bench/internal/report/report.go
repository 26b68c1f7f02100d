// Package report holds what nncc's benchmark programs share: a description
// of the machine a figure was measured on, and the regeneration of a
// marked block of a Markdown file, so that re-running a benchmark
// rewrites its own table and nothing else.
//
// A block is delimited by two HTML comments on lines of their own:
//
//	<!-- NAME:begin -->
//	... generated ...
//	<!-- NAME:end -->
//
// ReplaceBlock refuses a file without exactly one such pair rather than
// append or guess, so a hand-edited document is never clobbered.
package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Machine describes where figures were measured.
type Machine struct {
	CPU       string `json:"cpu"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date"`
	LoadAvg   string `json:"load_avg,omitempty"` // 1, 5 and 15 minute load when measuring began
}

// DescribeMachine reads the CPU model from /proc/cpuinfo, the load from
// /proc/loadavg and the checkout's commit from git; what cannot be read is
// left empty.
func DescribeMachine() Machine {
	m := Machine{
		CPU:       cpuModel(),
		CPUs:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS + "/" + runtime.GOARCH,
		Date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		LoadAvg:   LoadAvg(),
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			m.Commit += " (with uncommitted changes)"
		}
	}
	return m
}

// Markdown renders m as a short list.
func (m Machine) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "- CPU: %s, %d logical CPUs (%s)\n", orUnknown(m.CPU), m.CPUs, m.OS)
	fmt.Fprintf(&b, "- Go: %s\n", m.GoVersion)
	if m.Commit != "" {
		fmt.Fprintf(&b, "- commit: %s\n", m.Commit)
	}
	fmt.Fprintf(&b, "- measured: %s", m.Date)
	if m.LoadAvg != "" {
		fmt.Fprintf(&b, ", load average %s at the start", m.LoadAvg)
	}
	b.WriteString("\n")
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown CPU"
	}
	return s
}

// cpuModel describes the first CPU of /proc/cpuinfo: its model name,
// family and model numbers (virtual machines often report a bare "AMD
// EPYC") and the vector extensions the kernels care about.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	return describeCPU(string(b))
}

func describeCPU(cpuinfo string) string {
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	sc.Buffer(nil, 1<<20) // the flags line is long
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" && len(fields) > 0 {
			break // the first processor's block is enough
		}
		key, val, ok := strings.Cut(sc.Text(), ":")
		if ok {
			fields[strings.TrimSpace(key)] = strings.TrimSpace(val)
		}
	}
	desc := fields["model name"]
	if desc == "" {
		return ""
	}
	if fam, model := fields["cpu family"], fields["model"]; fam != "" && model != "" {
		desc += fmt.Sprintf(" (family %s, model %s)", fam, model)
	}
	have := map[string]bool{}
	for _, f := range strings.Fields(fields["flags"]) {
		have[f] = true
	}
	var isa []string
	for _, f := range []struct{ flag, name string }{{"avx512f", "AVX-512F"}, {"avx512_vnni", "AVX-512 VNNI"}, {"avx2", "AVX2"}, {"fma", "FMA"}} {
		if have[f.flag] {
			isa = append(isa, f.name)
		}
	}
	if len(isa) > 0 {
		desc += ", " + strings.Join(isa, ", ")
	}
	return desc
}

// LoadAvg returns the 1, 5 and 15 minute load averages from /proc/loadavg
// ("" where there is none).
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// ErrNoBlock is returned by ReplaceBlock when the file lacks the markers.
var ErrNoBlock = errors.New("report: markers not found")

// ReplaceBlock replaces what lies between the lines <!-- name:begin -->
// and <!-- name:end --> of the Markdown file at path with content, keeping
// the marker lines, and writes the file back through a temporary file and
// a rename.
func ReplaceBlock(path, name, content string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := replaceBlock(old, name, content)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil {
		if err := os.Chmod(tmp.Name(), st.Mode().Perm()); err != nil {
			return err
		}
	}
	return os.Rename(tmp.Name(), path)
}

func replaceBlock(doc []byte, name, content string) ([]byte, error) {
	begin := []byte("<!-- " + name + ":begin -->")
	end := []byte("<!-- " + name + ":end -->")
	lines := bytes.SplitAfter(doc, []byte("\n"))
	bi, ei := -1, -1
	for i, l := range lines {
		switch t := bytes.TrimSpace(l); {
		case bytes.Equal(t, begin):
			if bi >= 0 {
				return nil, fmt.Errorf("%w: %s appears twice", ErrNoBlock, begin)
			}
			bi = i
		case bytes.Equal(t, end):
			if ei >= 0 {
				return nil, fmt.Errorf("%w: %s appears twice", ErrNoBlock, end)
			}
			ei = i
		}
	}
	if bi < 0 || ei < 0 || ei < bi {
		return nil, fmt.Errorf("%w: want a line %s and, after it, a line %s", ErrNoBlock, begin, end)
	}
	var out bytes.Buffer
	for _, l := range lines[:bi+1] {
		out.Write(l)
	}
	out.WriteString(content)
	if content != "" && !strings.HasSuffix(content, "\n") {
		out.WriteByte('\n')
	}
	for _, l := range lines[ei:] {
		out.Write(l)
	}
	return out.Bytes(), nil
}
