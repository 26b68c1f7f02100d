package passes

import (
	"errors"
	"fmt"
)

// ErrBadOption marks a pass option whose value is out of range (for
// example a sparsity outside [0, 1)): the caller's mistake, a usage
// error, detected when the pass runs.
var ErrBadOption = errors.New("bad pass option")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadOption, fmt.Sprintf(format, args...))
}
