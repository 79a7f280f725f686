//go:build !unix

package main

// lockDataDir does nothing where flock is not available.
func lockDataDir(string) (func(), error) { return func() {}, nil }

// dataDirInUseError is lockDataDir's error when another process holds the lock.
type dataDirInUseError struct{ dir string }

func (e dataDirInUseError) Error() string { return "data directory " + e.dir + " is in use" }
