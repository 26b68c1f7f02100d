package onnx

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nncc/nncc/onnx/onnxpb"
)

// tiny returns a valid model: y = Add(x, w) with w an initializer.
func tiny() *onnxpb.ModelProto {
	f32 := int32(onnxpb.TensorProto_FLOAT)
	vi := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(f32),
			Shape:    &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 2}}}},
		}}}}
	}
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("g"),
			Input:       []*onnxpb.ValueInfoProto{vi("x")},
			Output:      []*onnxpb.ValueInfoProto{vi("y")},
			Initializer: []*onnxpb.TensorProto{{Name: proto.String("w"), DataType: proto.Int32(f32), Dims: []int64{2}, RawData: make([]byte, 8)}},
			Node:        []*onnxpb.NodeProto{{Name: proto.String("add"), OpType: proto.String("Add"), Input: []string{"x", "w"}, Output: []string{"y"}}},
		},
	}
}

func writeModel(t *testing.T, dir string, mp *onnxpb.ModelProto) string {
	t.Helper()
	b, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// wantBad loads path and checks that the error names the file, mentions
// want, and is classed as a bad model.
func wantBad(t *testing.T, path, want string) {
	t.Helper()
	_, err := Load(path)
	if err == nil {
		t.Fatalf("loaded a bad model (want error mentioning %q)", want)
	}
	if !errors.Is(err, ErrBadModel) {
		t.Errorf("error %q is not classed as a bad model", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %q", err, want)
	}
}

func TestLoadValidBaseline(t *testing.T) {
	if _, err := Load(writeModel(t, t.TempDir(), tiny())); err != nil {
		t.Fatalf("baseline model rejected: %v", err)
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, _ := proto.Marshal(tiny())
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":     {nil, "empty file"},
		"truncated": {good[:len(good)-7], "not an ONNX model"},
		"random":    {random, "not an ONNX model"},
		"text":      {[]byte("hello, this is not a model\n"), "not an ONNX model"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name+".onnx")
			os.WriteFile(p, tc.data, 0o644)
			wantBad(t, p, tc.want)
		})
	}
}

func TestLoadRejectsBadTensors(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*onnxpb.TensorProto)
		want string
	}{
		"unknown dtype":   {func(tp *onnxpb.TensorProto) { tp.DataType = proto.Int32(99) }, "unknown data type 99"},
		"raw size":        {func(tp *onnxpb.TensorProto) { tp.RawData = make([]byte, 12) }, "raw_data has 12 bytes"},
		"negative dim":    {func(tp *onnxpb.TensorProto) { tp.Dims = []int64{-2} }, "negative"},
		"overflow dims":   {func(tp *onnxpb.TensorProto) { tp.Dims = []int64{1 << 40, 1 << 40} }, "overflow"},
		"huge no data":    {func(tp *onnxpb.TensorProto) { tp.Dims = []int64{1 << 20, 1 << 20}; tp.RawData = nil }, "needs"},
		"raw and typed":   {func(tp *onnxpb.TensorProto) { tp.FloatData = []float32{1, 2} }, "more than one field"},
		"typed count":     {func(tp *onnxpb.TensorProto) { tp.RawData = nil; tp.FloatData = []float32{1} }, "float_data has 1 values"},
		"wrong typed":     {func(tp *onnxpb.TensorProto) { tp.RawData = nil; tp.Int64Data = []int64{1, 2} }, "outside float_data"},
		"string with raw": {func(tp *onnxpb.TensorProto) { tp.DataType = proto.Int32(int32(onnxpb.TensorProto_STRING)) }, "string tensor with raw_data"},
	} {
		t.Run(name, func(t *testing.T) {
			mp := tiny()
			tc.edit(mp.Graph.Initializer[0])
			wantBad(t, writeModel(t, t.TempDir(), mp), tc.want)
		})
	}
}

func TestLoadRejectsBadGraphs(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*onnxpb.GraphProto)
		want string
	}{
		"undefined input": {func(g *onnxpb.GraphProto) { g.Node[0].Input[1] = "nope" }, `input "nope" is not defined`},
		"undefined output": {func(g *onnxpb.GraphProto) {
			g.Output[0].Name = proto.String("zz")
		}, `output "zz" is not defined`},
		"cycle": {func(g *onnxpb.GraphProto) {
			g.Node = []*onnxpb.NodeProto{
				{Name: proto.String("a"), OpType: proto.String("Add"), Input: []string{"x", "c"}, Output: []string{"b"}},
				{Name: proto.String("b"), OpType: proto.String("Relu"), Input: []string{"b"}, Output: []string{"c"}},
				{Name: proto.String("y"), OpType: proto.String("Relu"), Input: []string{"c"}, Output: []string{"y"}},
			}
		}, "cycle"},
		"self loop": {func(g *onnxpb.GraphProto) {
			g.Node = append(g.Node, &onnxpb.NodeProto{Name: proto.String("s"), OpType: proto.String("Relu"), Input: []string{"s_out"}, Output: []string{"s_out"}})
		}, "reads its own output"},
		"duplicate value": {func(g *onnxpb.GraphProto) {
			g.Node = append(g.Node, &onnxpb.NodeProto{Name: proto.String("dup"), OpType: proto.String("Relu"), Input: []string{"x"}, Output: []string{"y"}})
		}, `"y" is defined more than once`},
		"negative shape dim": {func(g *onnxpb.GraphProto) {
			g.Input[0].Type.GetTensorType().Shape.Dim[0].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: -3}
		}, "negative"},
		"unknown elem type": {func(g *onnxpb.GraphProto) {
			g.Input[0].Type.GetTensorType().ElemType = proto.Int32(77)
		}, "unknown element type 77"},
		"attribute type": {func(g *onnxpb.GraphProto) {
			g.Node[0].OpType = proto.String("Softmax")
			g.Node[0].Input = []string{"x"}
			g.Node[0].Attribute = []*onnxpb.AttributeProto{{Name: proto.String("axis"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(1)}}
		}, `"axis" must be int`},
	} {
		t.Run(name, func(t *testing.T) {
			mp := tiny()
			tc.edit(mp.Graph)
			wantBad(t, writeModel(t, t.TempDir(), mp), tc.want)
		})
	}
}

func TestLoadRejectsDeepNesting(t *testing.T) {
	mp := tiny()
	body := &onnxpb.GraphProto{Name: proto.String("leaf")}
	for i := 0; i < 5000; i++ {
		body = &onnxpb.GraphProto{Name: proto.String("b"), Node: []*onnxpb.NodeProto{{
			OpType: proto.String("If"), Input: []string{"x"}, Output: []string{"o"},
			Attribute: []*onnxpb.AttributeProto{{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body}},
		}}}
	}
	mp.Graph.Node = append(mp.Graph.Node, body.Node...)
	b, err := proto.MarshalOptions{}.Marshal(mp)
	if err != nil {
		t.Skipf("cannot even build such a file: %v", err)
	}
	p := filepath.Join(t.TempDir(), "deep.onnx")
	os.WriteFile(p, b, 0o644)
	_, err = Load(p)
	if err == nil || !errors.Is(err, ErrBadModel) {
		t.Fatalf("deeply nested model: got %v", err)
	}
}

// external makes the initializer external with the given location,
// offset and length.
func external(loc, offset, length string) func(*onnxpb.TensorProto) {
	return func(tp *onnxpb.TensorProto) {
		tp.RawData = nil
		tp.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		tp.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(loc)}}
		if offset != "" {
			tp.ExternalData = append(tp.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String("offset"), Value: proto.String(offset)})
		}
		if length != "" {
			tp.ExternalData = append(tp.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String("length"), Value: proto.String(length)})
		}
	}
}

func TestExternalData(t *testing.T) {
	outer := t.TempDir()
	dir := filepath.Join(outer, "model")
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(outer, "secret.bin"), make([]byte, 64), 0o644)
	os.WriteFile(filepath.Join(dir, "w.bin"), []byte("0123456789abcdef"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "w.bin"), []byte("0123456789abcdef"), 0o644)
	os.Symlink(filepath.Join(outer, "secret.bin"), filepath.Join(dir, "link.bin"))
	os.Symlink("w.bin", filepath.Join(dir, "innerlink.bin"))
	if err := os.Link(filepath.Join(outer, "secret.bin"), filepath.Join(dir, "hard.bin")); err != nil {
		t.Logf("no hard links here: %v", err)
	}
	ok := func(loc, offset string) {
		t.Helper()
		mp := tiny()
		external(loc, offset, "8")(mp.Graph.Initializer[0])
		m, err := Load(writeModel(t, dir, mp))
		if err != nil {
			t.Errorf("%s: %v", loc, err)
			return
		}
		got := string(m.Graph.Consts[0].Const.Data)
		if want := "0123456789abcdef"[atoi(offset) : atoi(offset)+8]; got != want {
			t.Errorf("%s@%s: read %q, want %q", loc, offset, got, want)
		}
	}
	ok("w.bin", "")
	ok("w.bin", "8")
	ok("sub/w.bin", "4")
	ok("innerlink.bin", "0")
	for name, tc := range map[string]struct {
		loc, offset, length, want string
	}{
		"dotdot":         {"../secret.bin", "", "", `contains ".."`},
		"inner dotdot":   {"sub/../w.bin", "", "", `contains ".."`},
		"backslash":      {`sub\\..\\..\\secret.bin`, "", "", `contains ".."`},
		"sub dotdot":     {"sub/../../secret.bin", "", "", `contains ".."`},
		"absolute":       {filepath.Join(outer, "secret.bin"), "", "", "absolute"},
		"symlink out":    {"link.bin", "", "", "link.bin"},
		"hardlink":       {"hard.bin", "", "", "hard links"},
		"directory":      {"sub", "", "", "not a regular file"},
		"device":         {"null", "", "", "null"},
		"past end":       {"w.bin", "12", "8", "past the end"},
		"huge offset":    {"w.bin", "9223372036854775800", "8", "past the end"},
		"length differs": {"w.bin", "0", "4", "does not match"},
		"missing":        {"nothere.bin", "", "", "nothere.bin"},
		"bad offset":     {"w.bin", "-1", "", "not a valid byte count"},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "hardlink" {
				if _, err := os.Stat(filepath.Join(dir, "hard.bin")); err != nil {
					t.Skip("no hard link")
				}
			}
			if name == "device" {
				os.Symlink("/dev/null", filepath.Join(dir, "null"))
			}
			mp := tiny()
			external(tc.loc, tc.offset, tc.length)(mp.Graph.Initializer[0])
			wantBad(t, writeModel(t, dir, mp), tc.want)
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestSaveExternalDataRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m, err := Load(writeModel(t, dir, tiny()))
	if err != nil {
		t.Fatal(err)
	}
	copy(m.Graph.Consts[0].Const.Data, "abcdefgh")
	out := filepath.Join(dir, "out.onnx")
	if err := Save(m, out, SaveOptions{ExternalData: true, ExternalThreshold: 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out + ".data"); err != nil {
		t.Fatalf("no external data file: %v", err)
	}
	m2, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m2.Graph.Consts[0].Const.Data); got != "abcdefgh" {
		t.Errorf("external round trip read %q", got)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := proto.Marshal(tiny())
	f.Add(good)
	for _, p := range []string{"../testmodels/digits_cnn.onnx", "../testmodels/digits_mlp.onnx", "../testmodels/digits_cnn_constnodes.onnx"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data, LoadOptions{})
		if err != nil {
			if !errors.Is(err, ErrBadModel) {
				t.Fatalf("error not classed as bad model: %v", err)
			}
			return
		}
		if _, err := Encode(m); err != nil {
			t.Fatalf("a model that loads must encode: %v", err)
		}
	})
}

func FuzzDecodeTensor(f *testing.F) {
	for _, p := range []string{
		"../testmodels/data/digits_cnn/test_data_set_1/input_0.pb",
		"../testmodels/data/digits_cnn/test_data_set_1/output_0.pb",
	} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{0x08, 0x02, 0x10, 0x01, 0x4a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		tn, _, err := DecodeTensor(data)
		if err != nil {
			return
		}
		if err := tn.Check(); err != nil {
			t.Fatalf("decoded tensor is inconsistent: %v", err)
		}
		b, err := EncodeTensor(tn, "x")
		if err != nil {
			t.Fatalf("a tensor that decodes must encode: %v", err)
		}
		back, _, err := DecodeTensor(b)
		if err != nil || !bytes.Equal(back.Data, tn.Data) {
			t.Fatalf("tensor does not survive a round trip: %v", err)
		}
	})
}

// TestSaveGoesExternalPastLimit: a model whose weights would pass
// protobuf's limit is saved with external data without being asked.
func TestSaveGoesExternalPastLimit(t *testing.T) {
	old := protoLimit
	protoLimit = 4 // pretend 8 bytes of weights are too many
	defer func() { protoLimit = old }()
	dir := t.TempDir()
	m, err := Load(writeModel(t, dir, tiny()))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "big.onnx")
	if err := Save(m, out, SaveOptions{ExternalThreshold: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out + ".data"); err != nil {
		t.Fatalf("no external data written: %v", err)
	}
	if _, err := Load(out); err != nil {
		t.Fatal(err)
	}
}
