package ortref

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/nncc/nncc/ir"
)

var npyTypes = map[string]ir.DType{
	"<f4": ir.Float32, "<f8": ir.Float64, "<f2": ir.Float16,
	"|u1": ir.Uint8, "|i1": ir.Int8, "|b1": ir.Bool,
	"<u2": ir.Uint16, "<i2": ir.Int16, "<u4": ir.Uint32, "<i4": ir.Int32,
	"<u8": ir.Uint64, "<i8": ir.Int64,
}

var (
	npyDescr   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// ReadNPY reads a NumPy .npy file. See DecodeNPY.
func ReadNPY(path string) (*ir.Tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := DecodeNPY(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// DecodeNPY parses a NumPy .npy file (format versions 1 to 3) holding a
// C-ordered array of a little-endian numeric or bool dtype.
func DecodeNPY(b []byte) (*ir.Tensor, error) {
	if len(b) < 10 || !bytes.HasPrefix(b, []byte("\x93NUMPY")) {
		return nil, errors.New("not a .npy file")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, errors.New("truncated .npy header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:])), 12
	default:
		return nil, fmt.Errorf("unsupported .npy version %d", b[6])
	}
	if hlen > len(b)-start {
		return nil, errors.New("truncated .npy header")
	}
	header := string(b[start : start+hlen])
	descr, fortran, shape := npyDescr.FindStringSubmatch(header), npyFortran.FindStringSubmatch(header), npyShape.FindStringSubmatch(header)
	if descr == nil || fortran == nil || shape == nil {
		return nil, fmt.Errorf("bad .npy header %q", header)
	}
	if fortran[1] == "True" {
		return nil, errors.New("fortran-ordered .npy arrays are not supported")
	}
	dt, ok := npyTypes[descr[1]]
	if !ok {
		return nil, fmt.Errorf("unsupported .npy dtype %q", descr[1])
	}
	dims := []int64{}
	for _, s := range strings.Split(shape[1], ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		d, err := strconv.ParseInt(s, 10, 64)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("bad .npy shape (%s)", shape[1])
		}
		dims = append(dims, d)
	}
	data := b[start+hlen:]
	n := ir.NumElements(dims)
	size, ok := dt.ByteSize(n)
	if n < 0 || !ok || int64(len(data)) != size {
		return nil, fmt.Errorf(".npy holds %d data bytes for %v%v", len(data), dt, dims)
	}
	return &ir.Tensor{DType: dt, Dims: dims, Data: bytes.Clone(data)}, nil
}
