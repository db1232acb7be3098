package units

import (
	"errors"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"512", 512}, {"1KiB", 1 << 10}, {"64MiB", 64 << 20}, {"1GiB", 1 << 30}, {"1gib", 1 << 30},
		{"1.5 MiB", 3 << 19}, {"2TiB", 2 << 40}, {"1kB", 1000}, {"1MB", 1e6}, {"1GB", 1e9}, {" 7 ", 7}, {"10B", 10},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "-1", "-1KiB", "1QiB", "MiB", "lots", "99999EiB"} {
		if _, err := ParseSize(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseSize(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestParseMillicoresAndDuration(t *testing.T) {
	for in, want := range map[string]int64{"250": 250, "250m": 250, "0": 0} {
		if got, err := ParseMillicores(in); err != nil || got != want {
			t.Errorf("ParseMillicores(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-5", "0.5", "1cpu"} {
		if _, err := ParseMillicores(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseMillicores(%q) = %v", bad, err)
		}
	}
	for in, want := range map[string]time.Duration{"2s": 2 * time.Second, "1m30s": 90 * time.Second, "0": 0, "250ms": 250 * time.Millisecond} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "5", "-1s", "soon"} {
		if _, err := ParseDuration(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseDuration(%q) = %v", bad, err)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 512: "512 B", 64 << 20: "64 MiB", 3 << 29: "1.5 GiB", -1024: "-1.0 KiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1GiB", "512", "1.5 MB", "-1", "1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Errorf("ParseSize(%q) = %d", s, n)
		}
	})
}
