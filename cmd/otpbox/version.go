package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/buildinfo"
)

// versionCommand is `otpbox version`.
func (m *Main) versionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the version of otpbox",
		Long:    `Version prints the version, the VCS revision and the Go version otpbox was built with.`,
		Example: "  otpbox version\n  otpbox version --json",
		Args:    args(0, 0, ""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildinfo.Get()
			o := clientOpts{json: asJSON}
			return o.print(cmd, info, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "otpbox %s (revision %s, %s)\n", info.Version, info.Revision, info.GoVersion)
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
