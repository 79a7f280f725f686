//go:build !unix

package backup

import "os/exec"

// Without flock only the service's own bookkeeping (one run per job in this process) applies.
func lockFile(string) (func(), error) { return func() {}, nil }

func setProcessGroup(*exec.Cmd) {}
