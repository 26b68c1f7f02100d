package ir

// Schema describes what Verify and shape inference know of an operator in
// the default ONNX domain: its input and output arity and the kinds of the
// attributes it takes. Variadic ends are marked with Max -1.
type Schema struct {
	MinIn, MaxIn   int
	MinOut, MaxOut int
	// Attrs maps attribute names to their kinds. An attribute not listed
	// is reported by Verify only when Strict is set.
	Attrs  map[string]AttrType
	Strict bool
	// Infer, when set, computes output types from input types; see
	// InferShapes.
	Infer InferFunc
}

// schemas is the table of known default-domain operators, filled by the
// files ops_*.go.
var schemas = map[string]*Schema{}

// LookupSchema returns the schema of a default-domain operator, or nil.
func LookupSchema(domain, opType string) *Schema {
	if domain != "" && domain != "ai.onnx" {
		return nil
	}
	return schemas[opType]
}

// registerSchema adds s under name; used by the op tables' init.
func registerSchema(name string, s *Schema) { schemas[name] = s }
