package source

import (
	"context"
	"database/sql"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/upkeep-dev/upkeep/backup/internal/tool"
)

// The copy lives in $TMPDIR only while the stream is open; copies left by a process that was
// killed are removed by the next backup, those of running processes are not.
func TestSQLiteCopyIsTemporary(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", tool.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadDir := filepath.Join(tmp, copyPrefix+strconv.Itoa(dead.Process.Pid)+"-123")
	liveDir := filepath.Join(tmp, copyPrefix+strconv.Itoa(os.Getppid())+"-456")
	for _, d := range []string{deadDir, liveDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}

	streams, err := SQLite(context.Background(), path)
	rc := openOnly(t, streams, err)
	if _, err := os.Stat(deadDir); !os.IsNotExist(err) {
		t.Errorf("the copy of a dead process is still there: %v", err)
	}
	if _, err := os.Stat(liveDir); err != nil {
		t.Errorf("the copy of a running process was removed: %v", err)
	}
	copies, _ := filepath.Glob(filepath.Join(tmp, copyPrefix+strconv.Itoa(os.Getpid())+"-*"))
	if len(copies) != 1 {
		t.Fatalf("copies while open: %v", copies)
	}
	if b, err := io.ReadAll(rc); err != nil || len(b) == 0 {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copies[0]); !os.IsNotExist(err) {
		t.Errorf("the copy is still there after Close: %v", err)
	}
}
