package source

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/upkeep-dev/upkeep/backup/internal/tool"
)

// SQLite returns the one stream of an SQLite database, named after its file (app.db). Opening
// the stream makes a consistent copy with VACUUM INTO (one read transaction, so writers carry on
// and the copy is the database as of one moment, WAL included) into a private temporary
// directory (under $TMPDIR), which the stream then reads and Close removes (or, after a crash,
// the next SQLite backup). The copy is compact:
// free pages are left out.
func SQLite(ctx context.Context, path string) ([]Stream, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("sqlite: %s is not a database file", abs)
	}
	return []Stream{{
		Name: filepath.Base(abs),
		Open: func(ctx context.Context) (io.ReadCloser, error) { return sqliteCopy(ctx, abs) },
	}}, nil
}

func sqliteCopy(ctx context.Context, abs string) (_ io.ReadCloser, err error) {
	sweepCopies()
	dir, err := os.MkdirTemp("", copyPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("copying SQLite database %s: %w", abs, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	copyPath := filepath.Join(dir, filepath.Base(abs))
	db, err := sql.Open("sqlite", tool.SQLiteDSN(abs, "mode=ro", "_pragma=busy_timeout(60000)"))
	if err != nil {
		return nil, fmt.Errorf("copying SQLite database %s: %w", abs, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", copyPath); err != nil {
		return nil, fmt.Errorf("copying SQLite database %s: %w", abs, err)
	}
	f, err := os.Open(copyPath)
	if err != nil {
		return nil, fmt.Errorf("copying SQLite database %s: %w", abs, err)
	}
	return &tempFile{File: f, dir: dir}, nil
}

// copyPrefix starts the name of the temporary directory of a copy, followed by the process id.
const copyPrefix = "upkeep-sqlite-"

// sweepCopies removes the copies left behind by processes that no longer run (killed during a
// backup): each is a whole database, too big and too private to leave in $TMPDIR.
func sweepCopies() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), copyPrefix+"*-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(filepath.Base(d), copyPrefix), "-", 2)[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil && errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone) {
			_ = os.RemoveAll(d)
		}
	}
}

// tempFile is a file that disappears, with its directory, when closed.
type tempFile struct {
	*os.File
	dir string
}

func (t *tempFile) Close() error {
	return errors.Join(t.File.Close(), os.RemoveAll(t.dir))
}
