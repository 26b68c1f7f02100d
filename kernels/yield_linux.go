package kernels

import "syscall"

// osYield gives the CPU to another runnable thread of the machine, if
// any (sched_yield): a goroutine that polls must not take a CPU from
// another process's work when the machine has more threads to run than
// CPUs.
func osYield() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
