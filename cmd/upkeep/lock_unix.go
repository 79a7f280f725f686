//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on the data directory so that two servers never run the
// same policy on the same store (each would send every alert). The kernel drops the lock when
// the process dies, so a kill -9 never leaves it stuck.
func lockDataDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, "serve.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, dataDirInUseError{dir}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// dataDirInUseError is lockDataDir's error when another process holds the lock.
type dataDirInUseError struct{ dir string }

func (e dataDirInUseError) Error() string {
	return fmt.Sprintf("another upkeep serve is already running on data directory %s", e.dir)
}
