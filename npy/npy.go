// Package npy reads and writes NumPy .npy files (format versions 1–3) as
// ir.Tensors.
//
// Only C-ordered arrays of fixed-size little-endian numeric or bool
// element types are accepted. Headers are parsed without evaluating
// Python, and the data size is checked against the declared shape before
// anything is allocated.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nncc/nncc/ir"
)

var magic = []byte("\x93NUMPY")

var descrs = map[string]ir.DType{
	"<f4": ir.Float32, "<f8": ir.Float64, "<f2": ir.Float16,
	"|i1": ir.Int8, "|u1": ir.Uint8, "<i2": ir.Int16, "<u2": ir.Uint16,
	"<i4": ir.Int32, "<u4": ir.Uint32, "<i8": ir.Int64, "<u8": ir.Uint64,
	"|b1": ir.Bool, "i1": ir.Int8, "u1": ir.Uint8, "b1": ir.Bool,
}

// maxHeader bounds the header length accepted.
const maxHeader = 1 << 20

// Decode parses the contents of a .npy file.
func Decode(data []byte) (*ir.Tensor, error) {
	if len(data) < 10 || !bytes.Equal(data[:6], magic) {
		return nil, errors.New("not a .npy file (bad magic)")
	}
	major := data[6]
	var hlen, start int
	switch major {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(data[8:10])), 10
	case 2, 3:
		if len(data) < 12 {
			return nil, errors.New("truncated .npy header")
		}
		h := binary.LittleEndian.Uint32(data[8:12])
		if h > maxHeader {
			return nil, fmt.Errorf(".npy header of %d bytes is too long", h)
		}
		hlen, start = int(h), 12
	default:
		return nil, fmt.Errorf("unsupported .npy format version %d", major)
	}
	if start+hlen > len(data) {
		return nil, errors.New("truncated .npy header")
	}
	descr, fortran, shape, err := parseHeader(string(data[start : start+hlen]))
	if err != nil {
		return nil, err
	}
	if fortran {
		return nil, errors.New("Fortran-ordered .npy arrays are not supported")
	}
	dt, ok := descrs[descr]
	if !ok {
		return nil, fmt.Errorf("unsupported .npy dtype %q", descr)
	}
	n := ir.NumElements(shape)
	size, ok := dt.ByteSize(n)
	if n < 0 || !ok {
		return nil, fmt.Errorf(".npy shape %v overflows", shape)
	}
	body := data[start+hlen:]
	if int64(len(body)) != size {
		return nil, fmt.Errorf(".npy data has %d bytes, shape %v of %s needs %d", len(body), shape, dt, size)
	}
	return &ir.Tensor{DType: dt, Dims: shape, Data: append([]byte(nil), body...)}, nil
}

// parseHeader reads the Python dict literal of a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
func parseHeader(h string) (descr string, fortran bool, shape []int64, err error) {
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "{") || !strings.HasSuffix(h, "}") {
		return "", false, nil, errors.New("malformed .npy header")
	}
	body := h[1 : len(h)-1]
	seen := map[string]bool{}
	for len(strings.TrimSpace(body)) > 0 {
		body = strings.TrimSpace(body)
		key, rest, ok := quoted(body)
		if !ok {
			return "", false, nil, errors.New("malformed .npy header key")
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return "", false, nil, errors.New("malformed .npy header")
		}
		rest = strings.TrimSpace(rest[1:])
		seen[key] = true
		switch key {
		case "descr":
			descr, rest, ok = quoted(rest)
			if !ok {
				return "", false, nil, errors.New("malformed .npy descr")
			}
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "False"):
				rest = rest[5:]
			case strings.HasPrefix(rest, "True"):
				fortran, rest = true, rest[4:]
			default:
				return "", false, nil, errors.New("malformed .npy fortran_order")
			}
		case "shape":
			if !strings.HasPrefix(rest, "(") {
				return "", false, nil, errors.New("malformed .npy shape")
			}
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return "", false, nil, errors.New("malformed .npy shape")
			}
			shape = []int64{}
			for _, p := range strings.Split(rest[1:end], ",") {
				p = strings.TrimSpace(p)
				if p == "" {
					continue
				}
				d, err := strconv.ParseInt(strings.TrimSuffix(p, "L"), 10, 64)
				if err != nil || d < 0 {
					return "", false, nil, fmt.Errorf("bad .npy dimension %q", p)
				}
				shape = append(shape, d)
			}
			rest = rest[end+1:]
		default:
			return "", false, nil, fmt.Errorf("unknown .npy header key %q", key)
		}
		rest = strings.TrimSpace(rest)
		rest = strings.TrimPrefix(rest, ",")
		body = rest
	}
	if !seen["descr"] || !seen["shape"] {
		return "", false, nil, errors.New(".npy header lacks descr or shape")
	}
	return descr, fortran, shape, nil
}

// quoted reads a '...' or "..." string at the start of s.
func quoted(s string) (string, string, bool) {
	if len(s) == 0 || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, false
	}
	return s[1 : 1+end], s[2+end:], true
}

// Read reads a .npy file.
func Read(path string) (*ir.Tensor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Encode writes t in .npy format version 1.
func Encode(w io.Writer, t *ir.Tensor) error {
	var descr string
	for d, dt := range descrs {
		if dt == t.DType && len(d) == 3 {
			descr = d
			break
		}
	}
	if descr == "" {
		return fmt.Errorf("cannot write %s tensors as .npy", t.DType)
	}
	dims := make([]string, len(t.Dims))
	for i, d := range t.Dims {
		dims[i] = strconv.FormatInt(d, 10)
	}
	shape := strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape)
	// Pad so the data starts on a 64-byte boundary, ending with '\n'.
	total := len(magic) + 4 + len(h) + 1
	pad := (64 - total%64) % 64
	h += strings.Repeat(" ", pad) + "\n"
	if len(h) > 65535 {
		return errors.New(".npy header too long")
	}
	var buf bytes.Buffer
	buf.Write(magic)
	buf.Write([]byte{1, 0})
	binary.Write(&buf, binary.LittleEndian, uint16(len(h)))
	buf.WriteString(h)
	buf.Write(t.Data)
	_, err := w.Write(buf.Bytes())
	return err
}
