//go:build unix

package tool

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup starts the program in a process group of its own, which cancellation kills
// whole: a shell's children (sh -c 'pg_dump ... | gzip') die with it instead of writing on.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
