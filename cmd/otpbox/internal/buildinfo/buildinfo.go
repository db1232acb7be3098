package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Version is the release version, set at link time:
//
//	go build -ldflags "-X github.com/otpbox/otpbox/cmd/otpbox/internal/buildinfo.Version=v1.2.3" ./cmd/otpbox
//
// It is "dev" otherwise.
var Version = "dev"

// Info is what `otpbox version` prints and otpbox_build_info carries.
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	GoVersion string `json:"go_version"`
}

// Get returns the binary's build information. Revision is the VCS commit
// recorded by the Go toolchain ("unknown" without one; "-dirty" marks a
// modified tree).
func Get() Info {
	info := Info{Version: Version, Revision: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && info.Revision != "unknown" {
		info.Revision += "-dirty"
	}
	return info
}
