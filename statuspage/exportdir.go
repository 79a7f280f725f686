package statuspage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// WriteDir writes an export to dir atomically: into a new directory next to it, then swapped
// in by renaming a symbolic link over dir, so a reader (a web server serving dir) sees either
// the previous export or the new one, never a part of one. dir is that link: it must not exist,
// be an empty directory or be a link a previous WriteDir made. The previous export's directory
// and those of exports interrupted by a crash are removed after the swap.
func WriteDir(dir string, files []File) error {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	prefix := "." + base + ".export-"
	var prev string // the export the link points at now
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("status export: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		old, err := os.Readlink(dir)
		if err != nil || !strings.HasPrefix(old, prefix) {
			return fmt.Errorf("status export: %s is a link Upkeep did not make (to %q); give another path", dir, old)
		}
		prev = old
	case fi.IsDir():
		if err := os.Remove(dir); err != nil { // only an empty directory goes
			return fmt.Errorf("status export: %s is a directory with files in it: give a new or empty path (the export replaces it with a link to a new directory on each run)", dir)
		}
	default:
		return fmt.Errorf("status export: %s is a file, not a directory", dir)
	}
	tmp, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return fmt.Errorf("status export: %w", err)
	}
	if err := writeFiles(tmp, files); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	link := tmp + ".link"
	if err := os.Symlink(filepath.Base(tmp), link); err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("status export: %w", err)
	}
	if err := os.Rename(link, dir); err != nil {
		_ = os.Remove(link)
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("status export: swapping in the new export: %w", err)
	}
	// Exports older than the previous one, and any left by a crash, are no longer linked. The
	// previous one stays until the next export: a reader that resolved the link just before the
	// swap is still reading in it.
	old, _ := filepath.Glob(filepath.Join(parent, prefix+"*"))
	for _, o := range old {
		if b := filepath.Base(o); b != filepath.Base(tmp) && b != prev {
			_ = os.RemoveAll(o)
		}
	}
	return nil
}

// writeFiles writes files under root, refusing paths that would leave it.
func writeFiles(root string, files []File) error {
	if err := os.Chmod(root, 0o755); err != nil { // MkdirTemp makes it private; a web server reads it
		return fmt.Errorf("status export: %w", err)
	}
	for _, f := range files {
		p := path.Clean(f.Path)
		if !validExportPath(p) {
			return fmt.Errorf("status export: invalid file path %q", f.Path)
		}
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("status export: %w", err)
		}
		if err := os.WriteFile(full, f.Body, 0o644); err != nil {
			return fmt.Errorf("status export: %w", err)
		}
	}
	return nil
}

// Dir is an export destination on the local file system (status_page.export.to.path).
type Dir string

// Publish writes files to the directory with WriteDir.
func (d Dir) Publish(_ context.Context, files []File) error { return WriteDir(string(d), files) }

// validExportPath reports whether p, cleaned, names a file inside the export's root.
func validExportPath(p string) bool { return fs.ValidPath(p) && p != "." }
