package units

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("invalid value")

// ParseSize parses a byte size: a number of bytes ("1048576"), or a
// number with a unit, where KiB, MiB, GiB and TiB are powers of 1024 and
// kB, MB, GB and TB powers of 1000 ("1GiB", "1.5 MiB", "512KB"; case
// does not matter). It refuses negative sizes and sizes over 8 EiB.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" || strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("%w: size %q: want bytes, or a number with KiB, MiB, GiB (or kB, MB, GB)", ErrInvalid, s)
	}
	n, err := humanize.ParseBytes(t)
	if err != nil || n > math.MaxInt64 {
		return 0, fmt.Errorf("%w: size %q: want bytes, or a number with KiB, MiB, GiB (or kB, MB, GB)", ErrInvalid, s)
	}
	return int64(n), nil
}

// FormatSize prints n bytes for people: "64 MiB", "1.5 GiB", "512 B".
func FormatSize(n int64) string {
	if n < 0 {
		return "-" + humanize.IBytes(uint64(-n))
	}
	return humanize.IBytes(uint64(n))
}

// ParseMillicores parses CPU in millicores: "250" or "250m" (a quarter
// of a core).
func ParseMillicores(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "m")
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: cpu %q: want millicores, such as 500 or 500m", ErrInvalid, s)
	}
	return n, nil
}

// ParseDuration parses a Go duration ("2s", "1m30s", "250ms"); a bare
// 0 is zero. It refuses negative durations and bare numbers, whose unit
// would be a guess.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: duration %q: want a number with a unit, such as 2s, 500ms or 1m30s", ErrInvalid, s)
	}
	return d, nil
}

// Size is a pflag.Value of a byte size, parsed by ParseSize.
type Size int64

// String prints the size in bytes.
func (s *Size) String() string { return strconv.FormatInt(int64(*s), 10) }

// Set parses v with ParseSize.
func (s *Size) Set(v string) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	*s = Size(n)
	return nil
}

// Type names the value in help: "size".
func (s *Size) Type() string { return "size" }

// Millicores is a pflag.Value of CPU, parsed by ParseMillicores.
type Millicores int64

// String prints the millicores.
func (m *Millicores) String() string { return strconv.FormatInt(int64(*m), 10) }

// Set parses v with ParseMillicores.
func (m *Millicores) Set(v string) error {
	n, err := ParseMillicores(v)
	if err != nil {
		return err
	}
	*m = Millicores(n)
	return nil
}

// Type names the value in help: "millicores".
func (m *Millicores) Type() string { return "millicores" }

// Duration is a pflag.Value of a duration, parsed by ParseDuration.
type Duration time.Duration

// String prints the duration as Go does ("2s"); zero is "0s".
func (d *Duration) String() string { return time.Duration(*d).String() }

// Set parses v with ParseDuration.
func (d *Duration) Set(v string) error {
	p, err := ParseDuration(v)
	if err != nil {
		return err
	}
	*d = Duration(p)
	return nil
}

// Type names the value in help: "duration".
func (d *Duration) Type() string { return "duration" }
