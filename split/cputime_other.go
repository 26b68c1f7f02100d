//go:build !unix

package split

import "time"

// processCPU is not available here; node times are wall times.
func processCPU() (time.Duration, bool) { return 0, false }
