package ortref_test

import (
	"fmt"
	"log"
	"os"

	"github.com/nncc/nncc/internal/ortref"
	"github.com/nncc/nncc/onnx"
)

// Run a model on a test data set and compare with the stored output.
func Example() {
	if !ortref.Available() {
		return
	}
	out, err := os.MkdirTemp("", "ortref-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(out)
	res, err := ortref.Run([]ortref.Job{{
		Model:      "../../testmodels/digits_cnn.onnx",
		InputFiles: []string{"../../testmodels/data/digits_cnn/test_data_set_1/input_0.pb"},
		Out:        out,
	}})
	if err != nil {
		log.Fatal(err)
	}
	got, err := res[0].Tensors()
	if err != nil {
		log.Fatal(err)
	}
	want, _, err := onnx.ReadTensorFile("../../testmodels/data/digits_cnn/test_data_set_1/output_0.pb")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ortref.Compare(got[0], want, ortref.Tolerance{Abs: 1e-4, Rel: 1e-4}))
}
