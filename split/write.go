package split

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nncc/nncc/onnx"
)

// ErrNotEmpty is returned by Write when the directory holds files and
// Force is not set.
var ErrNotEmpty = errors.New("split: output directory exists and is not empty")

// ownFile lists, one relative path a line, the files and directories
// (ending in /) that nncc wrote into a split directory: the only ones a
// later Write with Force may remove.
const ownFile = ".nncc-split"

// WriteOptions say where and how to write a split directory.
type WriteOptions struct {
	// Source is the model file recorded in the manifest.
	Source string
	Triton TritonOptions
	// Force writes into a directory that is not empty. Files nncc wrote
	// there before (listed in its .nncc-split) and does not write again
	// are removed; no other file is touched.
	Force bool
}

// Files returns the directory's contents as relative paths (slash
// separated) and their bytes; directories end in "/" and have nil
// contents. Stage models appear twice (stage_<i>.onnx and the Triton
// copy) with the same bytes.
func (p *Plan) Files(o WriteOptions) ([]string, map[string][]byte, error) {
	models, err := p.Triton(o.Triton)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{}
	var order []string
	add := func(name string, b []byte) {
		order = append(order, name)
		files[name] = b
	}
	man := p.Manifest(o.Triton.Name, o.Source)
	mb, err := man.Marshal()
	if err != nil {
		return nil, nil, err
	}
	add(ManifestFile, mb)
	stageBytes := make([][]byte, len(p.Stages))
	for i := range p.Stages {
		b, _, _, err := onnx.Marshal(p.StageModel(i), StageFile(i), onnx.SaveOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("stage %d: %w", i, err)
		}
		stageBytes[i] = b
		add(StageFile(i), b)
	}
	add("triton/", nil)
	for _, m := range models {
		dir := "triton/" + m.Name + "/"
		cfg, err := FormatConfig(m.Config)
		if err != nil {
			return nil, nil, err
		}
		add(dir, nil)
		add(dir+"config.pbtxt", cfg)
		add(dir+"1/", nil)
		if m.Stage >= 0 {
			add(dir+"1/model.onnx", stageBytes[m.Stage])
		}
	}
	return order, files, nil
}

// Write writes the plan into dir: manifest.json, stage_<i>.onnx and the
// Triton repository under triton/. Everything is first written into a
// new directory beside dir; a missing or empty dir is then replaced by it
// in one rename. A non-empty dir is refused unless o.Force, and then
// each file is renamed into place on its own and only files nncc wrote
// there before are removed.
func (p *Plan) Write(dir string, o WriteOptions) error {
	order, files, err := p.Files(o)
	if err != nil {
		return err
	}
	empty, exists, err := isEmptyDir(dir)
	if err != nil {
		return err
	}
	if exists && !empty && !o.Force {
		return fmt.Errorf("%w: %s (use --force to write into it; nncc removes only files it wrote)", ErrNotEmpty, dir)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(dir))+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // only ever our own temporary directory
	own := append(slices.Clone(order), ownFile)
	files[ownFile] = []byte(strings.Join(own, "\n") + "\n")
	order = append(order, ownFile)
	for _, name := range order {
		full := filepath.Join(tmp, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(full, files[name], 0o644); err != nil {
			return err
		}
	}
	if err := CheckRepository(filepath.Join(tmp, "triton")); err != nil {
		return fmt.Errorf("split: internal error: the Triton repository does not check: %w", err)
	}
	if err := syncTree(tmp, order); err != nil {
		return err
	}
	if !exists || empty {
		if exists {
			if err := os.Remove(dir); err != nil {
				return err
			}
		}
		if err := os.Chmod(tmp, 0o755); err != nil {
			return err
		}
		return os.Rename(tmp, dir)
	}
	return mergeInto(dir, tmp, order, readOwn(dir))
}

// mergeInto moves the files of tmp into the existing dir one by one and
// removes what the previous run listed in old that this one did not
// write.
func mergeInto(dir, tmp string, order []string, old []string) error {
	for _, name := range order {
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if st, err := os.Lstat(dst); err == nil && !st.IsDir() {
				return fmt.Errorf("%s: exists and is not a directory; not replacing it", dst)
			}
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if st, err := os.Lstat(dst); err == nil && !st.Mode().IsRegular() {
			return fmt.Errorf("%s: exists and is not a regular file; not replacing it", dst)
		}
		if err := os.Rename(filepath.Join(tmp, filepath.FromSlash(name)), dst); err != nil {
			return err
		}
	}
	now := map[string]bool{}
	for _, name := range order {
		now[name] = true
	}
	// Stale entries: files first, then directories deepest first, so a
	// directory is empty by the time it goes.
	var staleFiles, staleDirs []string
	for _, name := range old {
		if now[name] {
			continue
		}
		if strings.HasSuffix(name, "/") {
			staleDirs = append(staleDirs, name)
		} else {
			staleFiles = append(staleFiles, name)
		}
	}
	slices.SortFunc(staleDirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, name := range staleFiles {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if st, err := os.Lstat(full); err == nil && st.Mode().IsRegular() {
			if err := os.Remove(full); err != nil {
				return err
			}
		}
	}
	for _, name := range staleDirs {
		full := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(name, "/")))
		if st, err := os.Lstat(full); err == nil && st.IsDir() {
			_ = os.Remove(full) // only if empty: never files nncc did not write
		}
	}
	return nil
}

// readOwn reads the list of what nncc wrote into dir before; entries that
// are not clean relative paths inside dir are ignored.
func readOwn(dir string) []string {
	f, err := os.Open(filepath.Join(dir, ownFile))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		trimmed := strings.TrimSuffix(name, "/")
		if trimmed == "" || path.IsAbs(trimmed) || path.Clean(trimmed) != trimmed || trimmed == ".." || strings.HasPrefix(trimmed, "../") || strings.Contains(trimmed, `\`) {
			continue
		}
		out = append(out, name)
	}
	return out
}

func isEmptyDir(dir string) (empty, exists bool, err error) {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if !st.IsDir() {
		return false, true, fmt.Errorf("%s exists and is not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return false, true, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, true, err
	}
	return len(names) == 0, true, nil
}

// syncTree flushes the written files to disk before they are renamed
// into place.
func syncTree(root string, order []string) error {
	for _, name := range order {
		if strings.HasSuffix(name, "/") {
			continue
		}
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
