package runtime

import (
	"errors"
	"fmt"
)

// ErrUnsupported is matched (errors.Is) by every error that reports an
// operator, version, attribute value or dtype the runtime does not
// implement: nncc's limit, not the model's fault.
var ErrUnsupported = errors.New("not supported by nncc's runtime")

type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string        { return e.msg }
func (e *unsupportedError) Is(target error) bool { return target == ErrUnsupported }

// unsupportedf formats an error that matches ErrUnsupported.
func unsupportedf(format string, args ...any) error {
	return &unsupportedError{fmt.Sprintf(format, args...)}
}

// NodeError reports a node that could not be prepared or executed: its
// inputs, attributes or shapes do not fit the operator, or (when Err
// matches ErrUnsupported) the runtime does not implement what it asks.
type NodeError struct {
	Node  string // node name
	Op    string // operator type
	Opset int64  // default-domain opset, when known
	Err   error
}

func (e *NodeError) Error() string {
	if e.Opset > 0 {
		return fmt.Sprintf("runtime: node %q (%s, opset %d): %v", e.Node, e.Op, e.Opset, e.Err)
	}
	return fmt.Sprintf("runtime: node %q (%s): %v", e.Node, e.Op, e.Err)
}

func (e *NodeError) Unwrap() error { return e.Err }
