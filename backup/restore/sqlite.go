package restore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/upkeep-dev/upkeep/backup/internal/tool"
)

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// SQLite restores the one stream of an SQLite backup (made by source.SQLite) to path. The data
// is written to a temporary file next to path, checked (an SQLite file that passes PRAGMA
// integrity_check), synced and renamed over path, so path is either the old database or the
// whole restored one, never half of it. An existing non-empty file is refused unless
// Options.Force; its -wal and -shm files are removed with it (they belong to the old database).
// Nothing may have the database open while it is replaced. Only one restore of a path may run at
// a time: a restore removes the temporary files a killed one left.
func SQLite(ctx context.Context, path string, names []string, open Opener, o Options) (err error) {
	if len(names) != 1 {
		return fmt.Errorf("restore: an SQLite backup has one stream, this one has %d: %v", len(names), names)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("restore: %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("restore: %w", err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("restore: %s is not a regular file", abs)
	case fi.Size() > 0 && !o.Force:
		return fmt.Errorf("restore: SQLite database %s: %w", abs, ErrNotEmpty)
	}

	dir := filepath.Dir(abs)
	pattern := "." + filepath.Base(abs) + ".restore-*"
	if old, _ := filepath.Glob(filepath.Join(dir, pattern)); len(old) > 0 { // left by a killed restore
		for _, f := range old {
			_ = os.Remove(f)
		}
	}
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if fi != nil { // replacing a file: keep its permissions (a new one is private to this user)
		if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	err = feed(ctx, open, names[0], func(stdin io.Reader) error {
		_, err := io.Copy(tmp, stdin)
		return err
	})
	err = errors.Join(err, tmp.Sync(), tmp.Close())
	if err != nil {
		return fmt.Errorf("restore: writing %s: %w", tmp.Name(), err)
	}
	if err := sqliteCheck(ctx, tmp.Name()); err != nil {
		return fmt.Errorf("restore: the backup of %s is not a sound SQLite database: %w", names[0], err)
	}

	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(abs + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore: removing the old database's %s: %w", suffix, err)
		}
	}
	if err := os.Rename(tmp.Name(), abs); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable
		err = d.Sync()
		_ = d.Close()
		if err != nil {
			return fmt.Errorf("restore: syncing %s: %w", dir, err)
		}
	}
	return nil
}

// sqliteCheck reports whether the file is an SQLite database that passes integrity_check.
func sqliteCheck(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	head := make([]byte, len(sqliteHeader))
	_, err = io.ReadFull(f, head)
	_ = f.Close()
	if err != nil || !bytes.Equal(head, sqliteHeader) {
		return errors.New("no SQLite header")
	}
	db, err := sql.Open("sqlite", tool.SQLiteDSN(path, "mode=ro"))
	if err != nil {
		return err
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check(1)").Scan(&result); err != nil {
		return err
	}
	if result != "ok" {
		return fmt.Errorf("integrity_check: %s", result)
	}
	return nil
}
