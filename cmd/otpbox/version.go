package main

import (
	"fmt"
	"io"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/buildinfo"
)

// version runs `otpbox version`.
func (m *Main) version(args []string) error {
	c := m.newCommand("version", "")
	c.fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
	if _, err := c.parse(args, 0, 0); err != nil {
		return err
	}
	info := buildinfo.Get()
	return c.output(info, func(w io.Writer) {
		fmt.Fprintf(w, "otpbox %s (revision %s, %s)\n", info.Version, info.Revision, info.GoVersion)
	})
}
