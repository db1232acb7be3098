//go:build !linux

package scalability

import "os/exec"

// dieWithParent does nothing here: only Linux can tie a child's life to
// its parent's; Close stops the nodes of a provider that ends cleanly.
func dieWithParent(*exec.Cmd) {}
