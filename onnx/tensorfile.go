package onnx

import (
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx/onnxpb"
)

// DecodeTensor parses a serialised TensorProto (the .pb files of ONNX's
// test data). It returns the tensor and its name. External data is
// refused.
func DecodeTensor(data []byte) (*ir.Tensor, string, error) {
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		return nil, "", &Error{Msg: errNotTensor.Error() + ": " + err.Error()}
	}
	if tp.DataType == nil {
		return nil, "", &Error{Msg: errNotTensor.Error() + ": no data_type"}
	}
	t, err := (&decoder{}).tensor(&tp)
	if err != nil {
		return nil, "", &Error{Msg: err.Error()}
	}
	return t, tp.GetName(), nil
}

// ReadTensorFile reads a TensorProto file.
func ReadTensorFile(path string) (*ir.Tensor, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	t, name, err := DecodeTensor(data)
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.File = path
		}
		return nil, "", err
	}
	return t, name, nil
}

// EncodeTensor serialises t as a TensorProto named name.
func EncodeTensor(t *ir.Tensor, name string) ([]byte, error) {
	tp, err := (&encoder{}).tensor(t, name, false)
	if err != nil {
		return nil, err
	}
	return marshal(tp)
}

// WriteTensorFile writes t as a TensorProto file, atomically.
func WriteTensorFile(path string, t *ir.Tensor, name string) error {
	b, err := EncodeTensor(t, name)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, b)
}
