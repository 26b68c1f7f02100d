package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nncc/nncc/cost"
	"github.com/nncc/nncc/ir"
	"github.com/nncc/nncc/onnx"
	"github.com/nncc/nncc/prune"
)

// InspectOptions are the flags of `nncc inspect`.
type InspectOptions struct {
	Model  string
	JSON   bool
	Shapes []string
}

func newInspectCmd() *cobra.Command {
	opts := &InspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect MODEL",
		Short: "Summarise a model: inputs, outputs, operators and parameters",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			return runInspect(opts, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON object instead of text")
	cmd.Flags().StringArrayVar(&opts.Shapes, "shape", nil, "input shape NAME=d0xd1x... or symbolic dim DIM=n for the MAC counts (repeatable)")
	return cmd
}

// ModelSummary is the JSON form of `nncc inspect`.
type ModelSummary struct {
	IRVersion       int64            `json:"ir_version"`
	Producer        string           `json:"producer"`
	ProducerVersion string           `json:"producer_version"`
	Opsets          map[string]int64 `json:"opsets"`
	Inputs          []ValueSummary   `json:"inputs"`
	Outputs         []ValueSummary   `json:"outputs"`
	NodeCount       int              `json:"node_count"`
	OpCounts        map[string]int   `json:"op_counts"`
	ParamCount      int64            `json:"param_count"`
	ParamBytes      int64            `json:"param_bytes"`
	// ParamBytesByDType splits ParamBytes by element type.
	ParamBytesByDType map[string]int64 `json:"param_bytes_by_dtype"`
	// MACs is the multiply-accumulates of one run at the bound shapes
	// (dense: pruned zeros count); MACsByOp splits them by op type.
	MACs     int64          `json:"macs"`
	MACsByOp []cost.OpTotal `json:"macs_by_op"`
	// UnknownCost names nodes whose cost needs a shape that is not
	// known (bind it with --shape).
	UnknownCost []string `json:"unknown_cost,omitempty"`
	// Weights lists the weights of Conv, ConvTranspose, Gemm and MatMul
	// with the fraction of exact zeros.
	Weights []WeightSummary `json:"weights"`
	// Sparsity is the fraction of zeros over all of Weights.
	Sparsity float64 `json:"sparsity"`
}

// WeightSummary is one layer weight in `nncc inspect`.
type WeightSummary struct {
	Name     string  `json:"name"`
	Node     string  `json:"node"`
	DType    string  `json:"dtype"`
	Dims     []int64 `json:"dims"`
	Sparsity float64 `json:"sparsity"`
}

// addCosts fills the MAC counts, weight sparsities and bytes by dtype.
func addCosts(m *ir.Model, s *ModelSummary, shapes map[string][]int64, dims map[string]int64) error {
	s.ParamBytesByDType = map[string]int64{}
	m.Graph.Walk(func(g *ir.Graph) {
		for _, v := range g.Consts {
			s.ParamBytesByDType[v.Const.DType.String()] += v.Const.Bytes()
		}
	})
	r, err := cost.Analyze(m, shapes, dims)
	if err != nil {
		return err
	}
	s.MACs, s.MACsByOp, s.UnknownCost = r.MACs(), []cost.OpTotal{}, r.Unknown
	for _, t := range r.ByOpType() {
		if t.MACs > 0 {
			s.MACsByOp = append(s.MACsByOp, t)
		}
	}
	s.Weights = []WeightSummary{}
	seen := map[*ir.Value]bool{}
	var zeros, total float64
	for _, n := range m.Graph.Nodes {
		switch n.OpType {
		case "Conv", "ConvTranspose", "Gemm", "MatMul", "ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul":
		default:
			continue
		}
		for _, v := range n.Inputs {
			if v == nil || v.Const == nil || seen[v] || len(v.Const.Dims) < 2 {
				continue
			}
			seen[v] = true
			sp := prune.Sparsity(v.Const)
			nel := float64(v.Const.NumElements())
			zeros += sp * nel
			total += nel
			label := n.Name
			if label == "" && len(n.Outputs) > 0 && n.Outputs[0] != nil {
				label = n.Outputs[0].Name
			}
			s.Weights = append(s.Weights, WeightSummary{Name: v.Name, Node: label, DType: v.Const.DType.String(), Dims: v.Const.Dims, Sparsity: sp})
		}
	}
	if total > 0 {
		s.Sparsity = zeros / total
	}
	return nil
}

// ValueSummary describes a graph input or output. Shape entries are
// numbers for known dims, strings for symbolic dims and null for unknown
// ones; Shape is null when the rank is unknown.
type ValueSummary struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []any  `json:"shape"`
}

func summarize(m *ir.Model) *ModelSummary {
	s := &ModelSummary{
		IRVersion:       m.IRVersion,
		Producer:        m.ProducerName,
		ProducerVersion: m.ProducerVersion,
		Opsets:          map[string]int64{},
		OpCounts:        map[string]int{},
		Inputs:          []ValueSummary{},
		Outputs:         []ValueSummary{},
	}
	for _, o := range m.Opsets {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		s.Opsets[d] = o.Version
	}
	for _, v := range m.Graph.Inputs {
		if v.Const == nil {
			s.Inputs = append(s.Inputs, valueSummary(v))
		}
	}
	for _, v := range m.Graph.Outputs {
		s.Outputs = append(s.Outputs, valueSummary(v))
	}
	for _, n := range m.Graph.Nodes {
		op := n.OpType
		if n.Domain != "" {
			op = n.Domain + "." + op
		}
		s.OpCounts[op]++
	}
	s.NodeCount = len(m.Graph.Nodes)
	s.ParamCount, s.ParamBytes = m.Graph.ParamStats()
	return s
}

func valueSummary(v *ir.Value) ValueSummary {
	vs := ValueSummary{Name: v.Name, DType: "unknown"}
	t := v.Type
	if t == nil {
		return vs
	}
	if t.Kind != ir.KindTensor {
		vs.DType = t.String()
		return vs
	}
	vs.DType = t.DType.String()
	if t.HasShape {
		vs.Shape = make([]any, len(t.Shape))
		for i, d := range t.Shape {
			switch {
			case d.Param != "":
				vs.Shape[i] = d.Param
			case d.Value >= 0:
				vs.Shape[i] = d.Value
			}
		}
	}
	return vs
}

func runInspect(opts *InspectOptions, w io.Writer) error {
	m, err := onnx.Load(opts.Model)
	if err != nil {
		return err
	}
	s := summarize(m)
	shapes, syms, err := parseShapes(opts.Shapes)
	if err != nil {
		return err
	}
	inShapes := map[string][]int64{}
	for _, v := range m.Graph.Inputs {
		if d, ok := shapes[v.Name]; ok {
			inShapes[v.Name] = d
			delete(syms, v.Name)
		}
	}
	if err := addCosts(m, s, inShapes, syms); err != nil {
		return usageError(fmt.Errorf("%s: --shape: %w", opts.Model, err))
	}
	if opts.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	return writeSummary(w, opts.Model, s)
}

func writeSummary(w io.Writer, name string, s *ModelSummary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", name)
	producer := strings.TrimSpace(s.Producer + " " + s.ProducerVersion)
	if producer == "" {
		producer = "(unknown)"
	}
	fmt.Fprintf(&b, "  producer:   %s\n", producer)
	fmt.Fprintf(&b, "  ir version: %d\n", s.IRVersion)
	domains := make([]string, 0, len(s.Opsets))
	for d := range s.Opsets {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	var ops []string
	for _, d := range domains {
		ops = append(ops, fmt.Sprintf("%s %d", d, s.Opsets[d]))
	}
	fmt.Fprintf(&b, "  opsets:     %s\n", strings.Join(ops, ", "))
	for _, part := range []struct {
		title string
		vs    []ValueSummary
	}{{"inputs", s.Inputs}, {"outputs", s.Outputs}} {
		fmt.Fprintf(&b, "  %s:\n", part.title)
		for _, v := range part.vs {
			fmt.Fprintf(&b, "    %-24s %s%s\n", v.Name, v.DType, shapeText(v.Shape))
		}
	}
	fmt.Fprintf(&b, "  nodes:      %d\n", s.NodeCount)
	names := make([]string, 0, len(s.OpCounts))
	for op := range s.OpCounts {
		names = append(names, op)
	}
	sort.Slice(names, func(i, j int) bool {
		if s.OpCounts[names[i]] != s.OpCounts[names[j]] {
			return s.OpCounts[names[i]] > s.OpCounts[names[j]]
		}
		return names[i] < names[j]
	})
	for _, op := range names {
		fmt.Fprintf(&b, "    %-24s %d\n", op, s.OpCounts[op])
	}
	fmt.Fprintf(&b, "  parameters: %d (%s)\n", s.ParamCount, humanBytes(s.ParamBytes))
	var dts []string
	for dt := range s.ParamBytesByDType {
		dts = append(dts, dt)
	}
	sort.Strings(dts)
	for _, dt := range dts {
		fmt.Fprintf(&b, "    %-24s %s\n", dt, humanBytes(s.ParamBytesByDType[dt]))
	}
	fmt.Fprintf(&b, "  MACs:       %d", s.MACs)
	if len(s.UnknownCost) > 0 {
		fmt.Fprintf(&b, " (+ %d nodes of unknown cost: bind the input shapes with --shape)", len(s.UnknownCost))
	}
	fmt.Fprintf(&b, "\n")
	for _, t := range s.MACsByOp {
		fmt.Fprintf(&b, "    %-24s %d\n", t.OpType, t.MACs)
	}
	if len(s.Weights) > 0 {
		fmt.Fprintf(&b, "  weights:    %d, %.1f%% zeros\n", len(s.Weights), 100*s.Sparsity)
		for _, w := range s.Weights {
			fmt.Fprintf(&b, "    %-32s %-8s %-16s %5.1f%% zeros\n", w.Name, w.DType, fmt.Sprint(w.Dims), 100*w.Sparsity)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func shapeText(shape []any) string {
	if shape == nil {
		return "[?]"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		if d == nil {
			parts[i] = "?"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
