//go:build !unix

package scalability

import "os/exec"

// killGroup leaves cmd's cancellation as is: it kills the command only.
func killGroup(*exec.Cmd) {}
