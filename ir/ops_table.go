package ir

import (
	"fmt"
	"strconv"
	"strings"
)

// opTable lists the default-domain operators nncc knows: name, input
// arity, output arity and attribute kinds. Arity is "n", "lo-hi" or "lo+"
// (no upper bound); an omitted optional input in the middle of the list
// still counts. Each row is the union over the operator's versions in
// opsets 7 to 21, so a model valid at any of those opsets passes; the
// schemas are not Strict, so attributes not listed (from older or newer
// versions) are accepted. Attribute kinds are named as AttrType.String
// prints them.
const opTable = `
Abs                       1     1
Acos                      1     1
Acosh                     1     1
Add                       2     1
AffineGrid                2     1    align_corners:int
And                       2     1
ArgMax                    1     1    axis:int keepdims:int select_last_index:int
ArgMin                    1     1    axis:int keepdims:int select_last_index:int
Asin                      1     1
Asinh                     1     1
Atan                      1     1
Atanh                     1     1
AveragePool               1     1    auto_pad:string ceil_mode:int count_include_pad:int dilations:ints kernel_shape:ints pads:ints strides:ints
BatchNormalization        5     1-5  epsilon:float momentum:float spatial:int training_mode:int
Bernoulli                 1     1    dtype:int seed:float
BitShift                  2     1    direction:string
BitwiseAnd                2     1
BitwiseNot                1     1
BitwiseOr                 2     1
BitwiseXor                2     1
BlackmanWindow            1     1    output_datatype:int periodic:int
Cast                      1     1    saturate:int to:int
CastLike                  2     1    saturate:int
Ceil                      1     1
Celu                      1     1    alpha:float
CenterCropPad             2     1    axes:ints
Clip                      1-3   1    max:float min:float
Col2Im                    3     1    dilations:ints pads:ints strides:ints
Compress                  2     1    axis:int
Concat                    1+    1    axis:int
ConcatFromSequence        1     1    axis:int new_axis:int
Constant                  0     1    sparse_value:sparse_tensor value:tensor value_float:float value_floats:floats value_int:int value_ints:ints value_string:string value_strings:strings
ConstantOfShape           1     1    value:tensor
Conv                      2-3   1    auto_pad:string dilations:ints group:int kernel_shape:ints pads:ints strides:ints
ConvInteger               2-4   1    auto_pad:string dilations:ints group:int kernel_shape:ints pads:ints strides:ints
ConvTranspose             2-3   1    auto_pad:string dilations:ints group:int kernel_shape:ints output_padding:ints output_shape:ints pads:ints strides:ints
Cos                       1     1
Cosh                      1     1
CumSum                    2     1    exclusive:int reverse:int
DFT                       1-3   1    axis:int inverse:int onesided:int
DeformConv                3-5   1    dilations:ints group:int kernel_shape:ints offset_group:int pads:ints strides:ints
DepthToSpace              1     1    blocksize:int mode:string
DequantizeLinear          2-3   1    axis:int block_size:int
Det                       1     1
Div                       2     1
Dropout                   1-3   1-2  ratio:float seed:int
DynamicQuantizeLinear     1     3
Einsum                    1+    1    equation:string
Elu                       1     1    alpha:float
Equal                     2     1
Erf                       1     1
Exp                       1     1
Expand                    2     1
EyeLike                   1     1    dtype:int k:int
Flatten                   1     1    axis:int
Floor                     1     1
GRU                       3-6   0-2  activation_alpha:floats activation_beta:floats activations:strings clip:float direction:string hidden_size:int layout:int linear_before_reset:int
Gather                    2     1    axis:int
GatherElements            2     1    axis:int
GatherND                  2     1    batch_dims:int
Gelu                      1     1    approximate:string
Gemm                      2-3   1    alpha:float beta:float transA:int transB:int
GlobalAveragePool         1     1
GlobalLpPool              1     1    p:int
GlobalMaxPool             1     1
Greater                   2     1
GreaterOrEqual            2     1
GridSample                2     1    align_corners:int mode:string padding_mode:string
GroupNormalization        3     1    epsilon:float num_groups:int stash_type:int
HammingWindow             1     1    output_datatype:int periodic:int
HannWindow                1     1    output_datatype:int periodic:int
HardSigmoid               1     1    alpha:float beta:float
HardSwish                 1     1
Hardmax                   1     1    axis:int
Identity                  1     1
If                        1     1+   else_branch:graph then_branch:graph
ImageDecoder              1     1    pixel_format:string
InstanceNormalization     3     1    epsilon:float
IsInf                     1     1    detect_negative:int detect_positive:int
IsNaN                     1     1
LRN                       1     1    alpha:float beta:float bias:float size:int
LSTM                      3-8   0-3  activation_alpha:floats activation_beta:floats activations:strings clip:float direction:string hidden_size:int input_forget:int layout:int
LayerNormalization        2-3   1-3  axis:int epsilon:float stash_type:int
LeakyRelu                 1     1    alpha:float
Less                      2     1
LessOrEqual               2     1
Log                       1     1
LogSoftmax                1     1    axis:int
Loop                      2+    1+   body:graph
LpNormalization           1     1    axis:int p:int
LpPool                    1     1    auto_pad:string ceil_mode:int dilations:ints kernel_shape:ints p:int pads:ints strides:ints
MatMul                    2     1
MatMulInteger             2-4   1
Max                       1+    1
MaxPool                   1     1-2  auto_pad:string ceil_mode:int dilations:ints kernel_shape:ints pads:ints storage_order:int strides:ints
MaxRoiPool                2     1    pooled_shape:ints spatial_scale:float
MaxUnpool                 2-3   1    kernel_shape:ints pads:ints strides:ints
Mean                      1+    1
MeanVarianceNormalization 1     1    axes:ints
MelWeightMatrix           5     1    output_datatype:int
Min                       1+    1
Mish                      1     1
Mod                       2     1    fmod:int
Mul                       2     1
Multinomial               1     1    dtype:int sample_size:int seed:float
Neg                       1     1
NegativeLogLikelihoodLoss 2-3   1    ignore_index:int reduction:string
NonMaxSuppression         2-5   1    center_point_box:int
NonZero                   1     1
Not                       1     1
OneHot                    3     1    axis:int
Optional                  0-1   1    type:type_proto
OptionalGetElement        1     1
OptionalHasElement        0-1   1
Or                        2     1
PRelu                     2     1
Pad                       1-4   1    mode:string pads:ints value:float
Pow                       2     1
QLinearConv               8-9   1    auto_pad:string dilations:ints group:int kernel_shape:ints pads:ints strides:ints
QLinearMatMul             8     1
QuantizeLinear            2-3   1    axis:int block_size:int output_dtype:int saturate:int
RNN                       3-6   0-2  activation_alpha:floats activation_beta:floats activations:strings clip:float direction:string hidden_size:int layout:int
RandomNormal              0     1    dtype:int mean:float scale:float seed:float shape:ints
RandomNormalLike          1     1    dtype:int mean:float scale:float seed:float
RandomUniform             0     1    dtype:int high:float low:float seed:float shape:ints
RandomUniformLike         1     1    dtype:int high:float low:float seed:float
Range                     3     1
Reciprocal                1     1
ReduceL1                  1-2   1    axes:ints keepdims:int noop_with_empty_axes:int
ReduceL2                  1-2   1    axes:ints keepdims:int noop_with_empty_axes:int
ReduceLogSum              1-2   1    axes:ints keepdims:int noop_with_empty_axes:int
ReduceLogSumExp           1-2   1    axes:ints keepdims:int noop_with_empty_axes:int
ReduceMax                 1-2   1    axes:ints keepdims:int noop_with_empty_axes:int
ReduceMean                1-2   1    axes:ints keepdims:int noop_with_empty_axes:int
ReduceMin                 1-2   1    axes:ints keepdims:int noop_with_empty_axes:int
ReduceProd                1-2   1    axes:ints keepdims:int noop_with_empty_axes:int
ReduceSum                 1-2   1    axes:ints keepdims:int noop_with_empty_axes:int
ReduceSumSquare           1-2   1    axes:ints keepdims:int noop_with_empty_axes:int
RegexFullMatch            1     1    pattern:string
Relu                      1     1
Reshape                   2     1    allowzero:int
Resize                    1-4   1    antialias:int axes:ints coordinate_transformation_mode:string cubic_coeff_a:float exclude_outside:int extrapolation_value:float keep_aspect_ratio_policy:string mode:string nearest_mode:string
ReverseSequence           2     1    batch_axis:int time_axis:int
RoiAlign                  3     1    coordinate_transformation_mode:string mode:string output_height:int output_width:int sampling_ratio:int spatial_scale:float
Round                     1     1
STFT                      2-4   1    onesided:int
Scan                      1+    1+   body:graph directions:ints num_scan_inputs:int scan_input_axes:ints scan_input_directions:ints scan_output_axes:ints scan_output_directions:ints
Scatter                   3     1    axis:int
ScatterElements           3     1    axis:int reduction:string
ScatterND                 3     1    reduction:string
Selu                      1     1    alpha:float gamma:float
SequenceAt                2     1
SequenceConstruct         1+    1
SequenceEmpty             0     1    dtype:int
SequenceErase             1-2   1
SequenceInsert            2-3   1
SequenceLength            1     1
SequenceMap               1+    1+   body:graph
Shape                     1     1    end:int start:int
Shrink                    1     1    bias:float lambd:float
Sigmoid                   1     1
Sign                      1     1
Sin                       1     1
Sinh                      1     1
Size                      1     1
Slice                     1-5   1    axes:ints ends:ints starts:ints
Softmax                   1     1    axis:int
SoftmaxCrossEntropyLoss   2-3   1-2  ignore_index:int reduction:string
Softplus                  1     1
Softsign                  1     1
SpaceToDepth              1     1    blocksize:int
Split                     1-2   1+   axis:int num_outputs:int split:ints
SplitToSequence           1-2   1    axis:int keepdims:int
Sqrt                      1     1
Squeeze                   1-2   1    axes:ints
StringConcat              2     1
StringNormalizer          1     1    case_change_action:string is_case_sensitive:int locale:string stopwords:strings
StringSplit               1     2    delimiter:string maxsplit:int
Sub                       2     1
Sum                       1+    1
Tan                       1     1
Tanh                      1     1
TfIdfVectorizer           1     1    max_gram_length:int max_skip_count:int min_gram_length:int mode:string ngram_counts:ints ngram_indexes:ints pool_int64s:ints pool_strings:strings weights:floats
ThresholdedRelu           1     1    alpha:float
Tile                      2     1
TopK                      1-2   2    axis:int k:int largest:int sorted:int
Transpose                 1     1    perm:ints
Trilu                     1-2   1    upper:int
Unique                    1     1-4  axis:int sorted:int
Unsqueeze                 1-2   1    axes:ints
Upsample                  1-2   1    mode:string scales:floats
Where                     3     1
Xor                       2     1
`

// The table is registered during package variable initialisation, before
// the init functions of the ops_*.go files attach inference functions.
var _ = registerTable(opTable)

func registerTable(table string) bool {
	kinds := map[string]AttrType{}
	for k := AttrFloat; k <= AttrTypeProtos; k++ {
		kinds[k.String()] = k
	}
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			panic("ir: bad op table row: " + line)
		}
		s := &Schema{Attrs: map[string]AttrType{}}
		s.MinIn, s.MaxIn = parseArity(f[1])
		s.MinOut, s.MaxOut = parseArity(f[2])
		for _, a := range f[3:] {
			name, kind, ok := strings.Cut(a, ":")
			k, known := kinds[kind]
			if !ok || !known {
				panic("ir: bad attribute in op table: " + a)
			}
			s.Attrs[name] = k
		}
		registerSchema(f[0], s)
	}
	return true
}

func parseArity(s string) (lo, hi int) {
	var err error
	switch {
	case strings.HasSuffix(s, "+"):
		lo, err = strconv.Atoi(strings.TrimSuffix(s, "+"))
		hi = -1
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		lo, err = strconv.Atoi(a)
		if err == nil {
			hi, err = strconv.Atoi(b)
		}
	default:
		lo, err = strconv.Atoi(s)
		hi = lo
	}
	if err != nil {
		panic(fmt.Sprintf("ir: bad arity %q in op table", s))
	}
	return lo, hi
}

// setInfer attaches an inference function to a registered operator.
func setInfer(fn func(*inferCtx) ([]*Type, error), names ...string) {
	for _, name := range names {
		s := schemas[name]
		if s == nil {
			panic("ir: inference for unregistered operator " + name)
		}
		inferFns[name] = fn
		s.Infer = func(n *Node, ins []*Type, opset int64) ([]*Type, error) {
			return fn(&inferCtx{n: n, ins: ins, opset: opset})
		}
	}
}
