//go:build unix

package tool

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup starts the program in a process group of its own, which cancellation kills
// whole: a shell's children (sh -c 'pg_dump ... | gzip') die with it instead of writing on.
// On Linux the program is also killed if Upkeep itself dies (kill -9), instead of running on.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
