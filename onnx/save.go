package onnx

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nncc/nncc/ir"
)

// SaveOptions control Save.
type SaveOptions struct {
	// ExternalData moves initializers of at least ExternalThreshold bytes
	// to a data file beside the model. Save does so on its own when the
	// model would not fit protobuf's 2 GiB limit.
	ExternalData bool
	// ExternalFile names the data file, relative to the model's directory
	// (default: the model's file name + ".data").
	ExternalFile string
	// ExternalThreshold is the smallest tensor moved out (default 1024
	// bytes).
	ExternalThreshold int64
	// Sparse writes float initializers as sparse_initializer (values and
	// int64 indices) where that is smaller than the dense form (see
	// sparse.go). Loaders, onnxruntime included, densify them.
	Sparse bool
}

// Save writes m to path atomically: the bytes go to a temporary file in
// the same directory, which is synced and renamed over path, so a reader
// never sees a partial model and a failure leaves no file behind. An
// external data file is written the same way, before the model.
func Save(m *ir.Model, path string, opts SaveOptions) error {
	data, extName, chunks, err := marshalChunks(m, filepath.Base(path), opts)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if chunks != nil {
		// The chunks alias the tensors: streaming them keeps saving at
		// about one copy of the weights in memory.
		if err := writeAtomic(filepath.Join(dir, extName), chunks...); err != nil {
			return err
		}
	}
	return WriteFileAtomic(path, data)
}

// Marshal serialises m as Save would for a model file called base,
// returning the model bytes and, when data goes external, the data file's
// name and contents.
func Marshal(m *ir.Model, base string, opts SaveOptions) (model []byte, extName string, ext []byte, err error) {
	model, extName, chunks, err := marshalChunks(m, base, opts)
	if err != nil || chunks == nil {
		return model, extName, nil, err
	}
	size := 0
	for _, c := range chunks {
		size += len(c)
	}
	ext = make([]byte, 0, size)
	for _, c := range chunks {
		ext = append(ext, c...)
	}
	return model, extName, ext, nil
}

// marshalChunks is Marshal with the external data left as the list of
// byte slices (tensor data and alignment padding) that make up the file.
func marshalChunks(m *ir.Model, base string, opts SaveOptions) (model []byte, extName string, chunks [][]byte, err error) {
	extName = opts.ExternalFile
	if extName == "" {
		extName = base + ".data"
	}
	if opts.ExternalData {
		if err := checkLocation(extName); err != nil {
			return nil, "", nil, err
		}
	}
	threshold := opts.ExternalThreshold
	if threshold <= 0 {
		threshold = 1024
	}
	_, bytes := m.Graph.ParamStats()
	if !opts.ExternalData && bytes < protoLimit {
		b, err := encodeWith(&encoder{sparse: opts.Sparse}, m)
		return b, "", nil, err
	}
	e := &encoder{ext: &externalSink{location: filepath.ToSlash(extName), threshold: threshold}, sparse: opts.Sparse}
	mp, err := e.model(m)
	if err != nil {
		return nil, "", nil, err
	}
	if model, err = marshal(mp); err != nil {
		return nil, "", nil, err
	}
	if len(e.ext.chunks) == 0 {
		return model, "", nil, nil
	}
	return model, extName, e.ext.chunks, nil
}

// WriteFileAtomic writes data to path through a temporary file in the
// same directory and a rename. It refuses to replace a directory.
func WriteFileAtomic(path string, data []byte) error {
	return writeAtomic(path, data)
}

// writeAtomic writes the concatenation of parts to path atomically.
func writeAtomic(path string, parts ...[]byte) (err error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := pending.create(dir, "."+strings.TrimPrefix(base, ".")+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
		pending.remove(tmp)
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	for _, p := range parts {
		if _, err = w.Write(p); err != nil {
			return err
		}
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if BeforeRename != nil {
		BeforeRename(path)
	}
	return pending.rename(tmp, path)
}

// BeforeRename, when set, is called just before a finished temporary file
// is renamed into place. Tests use it to interrupt a write at its most
// delicate moment.
var BeforeRename func(path string)

// pendingTemps tracks the temporary files of writes in progress, so that
// an interrupted process can remove them (RemovePendingTemps). Creating a
// temporary file, renaming it into place and removing the pending ones
// all hold mu, so an interrupt never falls between a file's creation and
// its registration, nor in the middle of a rename.
type pendingTemps struct {
	mu      sync.Mutex
	files   map[string]bool
	stopped bool // set by RemovePendingTemps: no further writes
}

var pending = &pendingTemps{files: map[string]bool{}}

var errStopped = errors.New("output writes stopped: the process is being interrupted")

func (p *pendingTemps) create(dir, pattern string) (*os.File, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return nil, errStopped
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	p.files[f.Name()] = true
	return f, nil
}

// rename moves a finished temporary file into place unless writes have
// been stopped, in which case the file is already gone.
func (p *pendingTemps) rename(tmp, path string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return errStopped
	}
	return os.Rename(tmp, path)
}

func (p *pendingTemps) remove(name string) {
	p.mu.Lock()
	delete(p.files, name)
	p.mu.Unlock()
}

// RemovePendingTemps deletes the temporary files of writes still in
// progress and makes further atomic writes fail. Call it when the process
// is interrupted, before exiting, so no partial output remains.
func RemovePendingTemps() {
	pending.mu.Lock()
	defer pending.mu.Unlock()
	for name := range pending.files {
		os.Remove(name)
	}
	pending.files = map[string]bool{}
	pending.stopped = true
}

// SameFile reports whether a and b name the same existing file, also
// through links.
func SameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return os.SameFile(sa, sb)
}

var errNotTensor = errors.New("not a TensorProto")
