// Package testtree makes a directory tree with every kind of entry a backup must keep (files of
// several sizes and modes, empty and nested directories, symbolic links) and compares trees after
// a restore. For tests.
package testtree

import (
	"bytes"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Make fills dir with regular files of several sizes and modes, nested and empty
// directories, and symbolic links (relative, absolute, dangling).
func Make(t testing.TB, dir string, big int) {
	t.Helper()
	old := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	WriteFile(t, filepath.Join(dir, "hello.txt"), []byte("hello, world\n"), 0o644, old)
	WriteFile(t, filepath.Join(dir, "empty"), nil, 0o600, old.Add(time.Hour))
	WriteFile(t, filepath.Join(dir, "bin", "tool.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755, old.Add(2*time.Hour))
	WriteFile(t, filepath.Join(dir, "data", "random.bin"), RandomBytes(t, big), 0o640, old.Add(3*time.Hour))
	WriteFile(t, filepath.Join(dir, "data", "text.log"), bytes.Repeat([]byte("a compressible line of log text\n"), 20000), 0o644, old.Add(4*time.Hour))
	WriteFile(t, filepath.Join(dir, "deep", "a", "b", "c", "leaf"), []byte("leaf"), 0o400, old.Add(5*time.Hour))
	for _, d := range []string{"empty-dir", "deep/empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"link-rel": "hello.txt", "bin/link-up": "../data/text.log", "dangling": "no/such/file", "link-abs": "/etc/hostname"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "deep", "a"), 0o700); err != nil {
		t.Fatal(err)
	}
}

// Compare fails the test unless got holds exactly want's entries with the same types,
// permissions, contents, symlink targets and (for files) modification times.
func Compare(t testing.TB, want, got string) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		seen[rel] = true
		wi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		gi, err := os.Lstat(filepath.Join(got, rel))
		if err != nil {
			t.Errorf("%s: missing after restore: %v", rel, err)
			return nil
		}
		if wi.Mode() != gi.Mode() && rel != "." {
			t.Errorf("%s: mode %v, want %v", rel, gi.Mode(), wi.Mode())
		}
		switch {
		case wi.Mode()&os.ModeSymlink != 0:
			wt, _ := os.Readlink(p)
			gt, _ := os.Readlink(filepath.Join(got, rel))
			if wt != gt {
				t.Errorf("%s: symlink to %q, want %q", rel, gt, wt)
			}
		case wi.Mode().IsRegular():
			if !wi.ModTime().Equal(gi.ModTime()) {
				t.Errorf("%s: mtime %v, want %v", rel, gi.ModTime(), wi.ModTime())
			}
			wb, _ := os.ReadFile(p)
			gb, err := os.ReadFile(filepath.Join(got, rel))
			if err != nil || !bytes.Equal(wb, gb) {
				t.Errorf("%s: contents differ after restore (%d bytes, want %d; %v)", rel, len(gb), len(wb), err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = filepath.WalkDir(got, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(got, p)
		if !seen[rel] {
			t.Errorf("%s: restored but not in the source", rel)
		}
		return nil
	})
}

// WriteFile writes data to path (creating its directory) with mode and modification time mtime.
func WriteFile(t testing.TB, path string, data []byte, mode os.FileMode, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// RandomBytes returns n random bytes (incompressible, never deduplicated).
func RandomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
