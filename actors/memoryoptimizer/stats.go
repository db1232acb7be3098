package memoryoptimizer

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
)

// Default host file paths.
const (
	DefaultMemInfoPath  = "/proc/meminfo"
	DefaultCgroupV2Path = "/sys/fs/cgroup/memory.max"
	DefaultCgroupV1Path = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
)

// unlimitedV1 is the smallest value cgroup v1 uses for "no limit".
const unlimitedV1 = 1 << 62

var sampleNames = []string{
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/goal:bytes",
	"/gc/gomemlimit:bytes",
	"/sched/goroutines:goroutines",
}

// readRuntime fills the Go runtime's figures from runtime/metrics.
func readRuntime(s *MemoryStats) {
	samples := make([]metrics.Sample, len(sampleNames))
	for i, n := range sampleNames {
		samples[i].Name = n
	}
	metrics.Read(samples)
	v := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return samples[i].Value.Uint64()
	}
	s.Total, s.Heap, s.Stacks = v(0), v(2), v(3)
	s.Used = s.Total - min(v(1), s.Total)
	s.GCCycles, s.HeapGoal, s.GoLimit, s.Goroutines = v(4), v(5), v(6), v(7)
}

// meminfo returns MemAvailable and MemTotal in bytes from a /proc/meminfo
// style file; zeros when absent.
func meminfo(path string) (avail, total uint64) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 2 && strings.EqualFold(f[2], "kB") {
			n *= 1024
		}
		switch f[0] {
		case "MemAvailable:":
			avail = n
		case "MemTotal:":
			total = n
		}
	}
	return avail, total
}

// cgroupLimit returns the first finite limit among paths (cgroup v2
// memory.max, v1 memory.limit_in_bytes); 0 when none.
func cgroupLimit(paths []string) uint64 {
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(data))
		if s == "max" {
			continue
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 || n >= unlimitedV1 {
			continue
		}
		return n
	}
	return 0
}

// collect reads the runtime and the host. goLimit is the soft limit in
// force before the optimizer changed it (math.MaxInt64: none).
func collect(cfg *Config, goLimit int64) MemoryStats {
	var s MemoryStats
	readRuntime(&s)
	avail, hostTotal := meminfo(cfg.MemInfoPath)
	s.Available = avail
	switch cg := cgroupLimit(cfg.CgroupPaths); {
	case cfg.Limit > 0:
		s.Limit, s.LimitSource = cfg.Limit, "config"
	case cg > 0:
		s.Limit, s.LimitSource = cg, "cgroup"
	case goLimit > 0 && goLimit < math.MaxInt64:
		s.Limit, s.LimitSource = uint64(goLimit), "go"
	case hostTotal > 0:
		s.Limit, s.LimitSource = hostTotal, "host"
	}
	if s.Limit > 0 {
		s.Utilization = float64(s.Used) / float64(s.Limit)
	}
	return s
}
