// Package backend is the home of nncc's code generators other than ONNX.
//
// ONNX output — the back end every pipeline uses today — is package
// github.com/nncc/nncc/onnx (onnx.Save), which shares its schema code
// with the front end. Generators of other formats go in subpackages here
// (the Go source back end will be backend/gosrc): each takes an
// *ir.Model that passes ir.Verify and writes its files atomically and
// deterministically, and generated Go code depends only on package
// github.com/nncc/nncc/kernels.
package backend
