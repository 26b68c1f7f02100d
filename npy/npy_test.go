package npy

import (
	"bytes"
	"testing"

	"github.com/nncc/nncc/ir"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []*ir.Tensor{
		ir.FromFloat32([]int64{2, 3}, []float32{1, 2, 3, 4, 5, -6}),
		ir.FromInt64([]int64{4}, []int64{1, -2, 3, 1 << 40}),
		ir.FromFloat32(nil, []float32{7}),
		ir.NewTensor(ir.Uint8, 0, 5),
	} {
		var buf bytes.Buffer
		if err := Encode(&buf, tc); err != nil {
			t.Fatal(err)
		}
		if buf.Len()%64 != len(tc.Data)%64 {
			t.Errorf("data of %v not 64-byte aligned", tc.Dims)
		}
		got, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("%v: %v", tc.Dims, err)
		}
		if got.DType != tc.DType || !bytes.Equal(got.Data, tc.Data) || len(got.Dims) != len(tc.Dims) {
			t.Errorf("round trip of %s%v gave %s%v", tc.DType, tc.Dims, got.DType, got.Dims)
		}
		for i := range got.Dims {
			if got.Dims[i] != tc.Dims[i] {
				t.Errorf("dims %v became %v", tc.Dims, got.Dims)
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good := func(h string, body int) []byte {
		b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
		b = append(b, h...)
		return append(b, make([]byte, body)...)
	}
	for name, data := range map[string][]byte{
		"empty":       nil,
		"magic":       []byte("NUMPY\x01\x00\x00\x00"),
		"short data":  good("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20),
		"long data":   good("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12),
		"fortran":     good("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8),
		"dtype":       good("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8),
		"object":      good("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16),
		"negative":    good("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 0),
		"overflow":    good("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", 0),
		"header len":  []byte("\x93NUMPY\x01\x00\xff\xff{}"),
		"no shape":    good("{'descr': '<f4', 'fortran_order': False, }", 0),
		"garbage key": good("{'descr': '<f4', 'evil': __import__('os'), 'shape': (1,), }", 4),
	} {
		if _, err := Decode(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	Encode(&buf, ir.FromFloat32([]int64{2, 2}, []float32{1, 2, 3, 4}))
	f.Add(buf.Bytes())
	f.Add([]byte("\x93NUMPY\x02\x00\x10\x00\x00\x00{'shape': (1,)}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tn, err := Decode(data)
		if err == nil {
			if err := tn.Check(); err != nil {
				t.Fatalf("decoded tensor is inconsistent: %v", err)
			}
		}
	})
}
