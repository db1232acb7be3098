//go:build !linux

package storetest

import (
	"os"
	"time"
)

func datasync(f *os.File) error { return f.Sync() }

// cpuTime is 0 here: the benchmarks report no CPU time.
func cpuTime() time.Duration { return 0 }
