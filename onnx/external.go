package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/nncc/nncc/onnx/onnxpb"
)

// externalFiles opens external data files inside one directory, each at
// most once per load.
type externalFiles struct {
	root  *os.Root
	files map[string]*os.File
	sizes map[string]int64
}

func (e *externalFiles) close() {
	for _, f := range e.files {
		f.Close()
	}
	if e.root != nil {
		e.root.Close()
	}
}

// checkLocation refuses locations that are absolute or climb out of the
// model directory, before any file is touched.
func checkLocation(loc string) error {
	if loc == "" {
		return errors.New("external data without a location")
	}
	if strings.ContainsRune(loc, 0) {
		return fmt.Errorf("external data location %q contains a NUL byte", loc)
	}
	if filepath.IsAbs(loc) || strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`) || filepath.VolumeName(loc) != "" {
		return fmt.Errorf("external data location %q is absolute; it must be relative to the model's directory", loc)
	}
	for _, part := range strings.FieldsFunc(loc, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return fmt.Errorf("external data location %q contains \"..\"; it must stay inside the model's directory", loc)
		}
	}
	return nil
}

func (e *externalFiles) open(dir, loc string) (*os.File, int64, error) {
	if f, ok := e.files[loc]; ok {
		return f, e.sizes[loc], nil
	}
	if e.root == nil {
		r, err := os.OpenRoot(dir)
		if err != nil {
			return nil, 0, err
		}
		e.root = r
		e.files = map[string]*os.File{}
		e.sizes = map[string]int64{}
	}
	// os.Root refuses paths that leave dir, through ".." or symlinks.
	f, err := e.root.Open(filepath.FromSlash(loc))
	if err != nil {
		return nil, 0, fmt.Errorf("external data %q: %v", loc, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("external data %q is not a regular file (%s)", loc, st.Mode().Type())
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink > 1 {
		f.Close()
		return nil, 0, fmt.Errorf("external data %q has %d hard links; refusing a file that may alias one outside the model's directory", loc, sys.Nlink)
	}
	e.files[loc] = f
	e.sizes[loc] = st.Size()
	return f, st.Size(), nil
}

// external reads the bytes of an external tensor, which must be exactly
// size long.
func (d *decoder) external(tp *onnxpb.TensorProto, size int64) ([]byte, error) {
	var loc string
	offset, length := int64(0), int64(-1)
	for _, kv := range tp.ExternalData {
		var err error
		switch kv.GetKey() {
		case "location":
			loc = kv.GetValue()
		case "offset":
			offset, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "length":
			length, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "checksum":
		default:
			return nil, fmt.Errorf("unknown external data key %q", kv.GetKey())
		}
		if err != nil || offset < 0 {
			return nil, fmt.Errorf("external data %s %q is not a valid byte count", kv.GetKey(), kv.GetValue())
		}
	}
	if err := checkLocation(loc); err != nil {
		return nil, err
	}
	if length < 0 {
		length = size
	}
	if length != size {
		return nil, fmt.Errorf("external data length %d does not match the %d bytes its dims need", length, size)
	}
	if d.opts.Dir == "" {
		return nil, fmt.Errorf("external data %q cannot be read: model not loaded from a file", loc)
	}
	if d.files == nil {
		d.files = &externalFiles{}
	}
	f, fsize, err := d.files.open(d.opts.Dir, loc)
	if err != nil {
		return nil, err
	}
	if offset > fsize || length > fsize-offset {
		return nil, fmt.Errorf("external data %q: bytes %d..%d lie past the end of the file (%d bytes)", loc, offset, offset+length, fsize)
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, offset); err != nil && !(err == io.EOF && length == 0) {
		return nil, fmt.Errorf("external data %q: %v", loc, err)
	}
	return buf, nil
}
