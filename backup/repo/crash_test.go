package repo_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upkeep-dev/upkeep/backup/repo"
)

// envCrashHelper, when set to "DEST|STATE", makes TestKillDuringSnapshot the helper process that
// snapshots an endless stream into DEST until it is killed.
const envCrashHelper = "UPKEEP_REPO_CRASH_HELPER"

// endless is an incompressible stream that never ends.
type endless struct{ r *rand.ChaCha8 }

func (e endless) Read(p []byte) (int, error) { return e.r.Read(p) }

func crashHelper(t *testing.T, spec string) {
	dest, state, _ := strings.Cut(spec, "|")
	ctx := context.Background()
	r, err := repo.Open(ctx, repo.Destination{Name: "crash", Path: dest}, repo.Options{Password: password, StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	var told bool
	_, err = r.SnapshotStreams(ctx, "db", []repo.Stream{{Name: "databases/big.dump", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(endless{rand.NewChaCha8([32]byte{1})}), nil
	}}}, nil, func(p repo.Progress) {
		if p.Bytes > 64<<20 && !told { // several packs are in the destination by now
			told = true
			os.Stdout.WriteString("written\n")
		}
	})
	t.Fatalf("the endless snapshot ended: %v", err)
}

// kill -9 in the middle of a snapshot leaves a repository that opens, takes new snapshots and
// verifies clean, with no complete snapshot from the killed run.
func TestKillDuringSnapshot(t *testing.T) {
	if spec := os.Getenv(envCrashHelper); spec != "" {
		crashHelper(t, spec)
		return
	}
	ctx := t.Context()
	d := pathDest(t)
	state := filepath.Join(t.TempDir(), "state")

	// One good snapshot first, to check that it survives.
	r := open(t, d, repo.Options{StateDir: state})
	before, err := r.SnapshotStreams(ctx, "db", []repo.Stream{{Name: "databases/small.dump", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("before the crash")), nil
	}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringSnapshot$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashHelper+"="+d.Path+"|"+state)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "written" {
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !strings.Contains(sc.Text(), "written") {
		t.Fatalf("the helper ended before writing: %s", stderr.String())
	}

	// Same state directory as the killed process: its caches and locks are left behind.
	r2 := open(t, d, repo.Options{StateDir: state, ExclusiveMaintenance: true})
	snaps, err := r2.Snapshots(ctx, "db")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		if s.ID != before.ID && s.Incomplete == "" {
			t.Errorf("a complete snapshot from the killed run: %+v", s)
		}
	}
	after, err := r2.SnapshotStreams(ctx, "db", []repo.Stream{{Name: "databases/small.dump", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("after the crash")), nil
	}}}, nil, nil)
	if err != nil {
		t.Fatalf("snapshot after the crash: %v", err)
	}
	if rep, err := r2.Verify(ctx, 1); err != nil {
		t.Fatalf("Verify after the crash: %v (%+v)", err, rep)
	}
	for id, want := range map[string]string{before.ID: "before the crash", after.ID: "after the crash"} {
		rc, err := r2.OpenEntry(ctx, id, "databases/small.dump")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != want {
			t.Errorf("snapshot %s holds %q, want %q", id, got, want)
		}
	}
	// Maintenance cleans up what the killed run left behind.
	if err := r2.Maintenance(ctx, true); err != nil {
		t.Fatalf("maintenance after the crash: %v", err)
	}
	if rep, err := r2.Verify(ctx, 1); err != nil {
		t.Fatalf("Verify after maintenance: %v (%+v)", err, rep)
	}
}
