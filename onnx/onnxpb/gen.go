// Package onnxpb holds the Go bindings of the ONNX protobuf schema.
//
// The bindings are generated from the schema that Debian's libonnx-dev
// installs (ONNX 1.12, IR version 8) and are committed, so building nncc
// needs neither protoc nor the schema. Fields added by later ONNX releases
// survive a round trip as unknown fields; see package onnx.
package onnxpb

//go:generate protoc --proto_path=/usr/include/onnx --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/nncc/nncc/onnx/onnxpb onnx.proto
