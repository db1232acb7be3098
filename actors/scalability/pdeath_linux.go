package scalability

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel send the node SIGTERM (a graceful leave)
// when this process dies, even by SIGKILL, so no node outlives the
// provider that started it. (Linux sends it when the thread that started
// the node exits; Go's runtime keeps its threads.)
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
