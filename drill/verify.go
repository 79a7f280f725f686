package drill

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/upkeep-dev/upkeep/backup/repo"
	"github.com/upkeep-dev/upkeep/check"
	"github.com/upkeep-dev/upkeep/policy"
)

// verify runs one verify step; nil means it passed.
func (r *Runner) verify(ctx context.Context, s *policy.VerifyStep, t *target, rep Repository, snap repo.Snapshot, job Job, env []string) error {
	switch s.Kind() {
	case policy.VerifyFiles:
		return verifyFiles(ctx, s.Files.Sample, t.dir, rep, snap, liveRoot(job))
	case policy.VerifySQL:
		v, err := t.queryRow(ctx, s.SQL)
		if err != nil {
			return err
		}
		if msg := check.Falsy(v); msg != "" {
			return fmt.Errorf("%q returned %s", s.SQL, msg)
		}
		return nil
	case policy.VerifyCommand:
		return runShell(ctx, s.Command, env)
	case policy.VerifyHTTP:
		return verifyHTTP(ctx, s.HTTP, env)
	}
	return fmt.Errorf("unknown verify step %q", s.Kind())
}

// liveRoot is the directory the paths of a files snapshot are relative to: the one directory
// backed up, or / for several paths (see backup/repo: SnapshotFiles). "" when the job does not
// back up files.
func liveRoot(job Job) string {
	if job.Source != policy.SourceFiles || len(job.Paths) == 0 {
		return ""
	}
	if len(job.Paths) == 1 {
		if fi, err := os.Stat(job.Paths[0]); err == nil && fi.IsDir() {
			return job.Paths[0]
		}
	}
	return "/"
}

// verifyFiles compares the tree restored in dir with snapshot snap: the same files (count and
// total size), and for a sample the same content as re-read from the destination, and as the
// live file in live when that has not been modified since the snapshot.
func verifyFiles(ctx context.Context, sample policy.Percent, dir string, rep Repository, snap repo.Snapshot, live string) error {
	entries, err := rep.Entries(ctx, snap.ID)
	if err != nil {
		return fmt.Errorf("listing the snapshot: %w", err)
	}
	var files int64
	var size int64
	restored := map[string]os.FileInfo{}
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		restored[filepath.ToSlash(rel)] = fi
		if fi.Mode().IsRegular() {
			files++
			size += fi.Size()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the restored tree: %w", err)
	}
	var missing []string
	var regular []string
	for _, name := range entries {
		fi, ok := restored[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case fi.Mode().IsRegular():
			regular = append(regular, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%d of the snapshot's files are not in the restored tree, e.g. %s", len(missing), missing[0])
	}
	if len(restored) != len(entries) {
		return fmt.Errorf("the restored tree has %d files, the snapshot %d", len(restored), len(entries))
	}
	if err := compareManifest(ctx, rep, snap.ID, restored); err != nil {
		return err
	}
	if snap.Bytes > 0 && size != snap.Bytes {
		return fmt.Errorf("the restored files hold %d bytes, the snapshot %d", size, snap.Bytes)
	}

	for _, name := range sampleOf(regular, sample, snap.ID) {
		if err := compareFile(ctx, rep, snap, dir, live, name, restored[name]); err != nil {
			return err
		}
	}
	return nil
}

// manifestLister is a Repository that also tells what the snapshot records of each file, as
// *repo.Repo does.
type manifestLister interface {
	Manifest(ctx context.Context, id string) ([]repo.EntryInfo, error)
}

// compareManifest checks every restored file against the snapshot's record of it: the same
// kind (file or symbolic link) and, for a file, the same size. A repository that cannot list its
// manifest is checked by the totals only.
func compareManifest(ctx context.Context, rep Repository, id string, restored map[string]os.FileInfo) error {
	ml, ok := rep.(manifestLister)
	if !ok {
		return nil
	}
	manifest, err := ml.Manifest(ctx, id)
	if err != nil {
		return fmt.Errorf("listing the snapshot: %w", err)
	}
	for _, e := range manifest {
		fi := restored[e.Name]
		switch {
		case fi == nil:
			return fmt.Errorf("%s of the snapshot is not in the restored tree", e.Name)
		case fi.Mode().Type() != e.Mode.Type():
			return fmt.Errorf("restored %s is a %s, the snapshot has a %s", e.Name, kindOf(fi.Mode()), kindOf(e.Mode))
		case e.Mode.IsRegular() && fi.Size() != e.Size:
			return fmt.Errorf("restored %s holds %d bytes, the snapshot %d", e.Name, fi.Size(), e.Size)
		}
	}
	return nil
}

func kindOf(m os.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m&os.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}

// sampleOf picks share of names (at least one when there are any), spread by a hash of each name
// and seed so that successive snapshots check different files.
func sampleOf(names []string, share policy.Percent, seed string) []string {
	n := int(math.Ceil(float64(len(names)) * share.Fraction()))
	if n >= len(names) {
		return names
	}
	if n == 0 && len(names) > 0 {
		n = 1
	}
	key := func(s string) uint64 {
		h := fnv.New64a()
		io.WriteString(h, seed+"\x00"+s) //nolint:errcheck // hashes do not fail
		return h.Sum64()
	}
	sorted := append([]string(nil), names...)
	sort.Slice(sorted, func(i, j int) bool { return key(sorted[i]) < key(sorted[j]) })
	return sorted[:n]
}

// compareFile checks one restored file against the destination and the live source.
func compareFile(ctx context.Context, rep Repository, snap repo.Snapshot, dir, live, name string, fi os.FileInfo) error {
	got, err := hashFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return fmt.Errorf("reading restored %s: %w", name, err)
	}
	rc, err := rep.OpenEntry(ctx, snap.ID, name)
	if err != nil {
		return fmt.Errorf("re-reading %s from the destination: %w", name, err)
	}
	want, err := hashReader(rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("re-reading %s from the destination: %w", name, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("restored %s differs from the snapshot", name)
	}
	if live == "" {
		return nil
	}
	livePath := filepath.Join(live, filepath.FromSlash(name))
	lfi, err := os.Stat(livePath)
	// A file deleted or changed since the snapshot is expected: the source lives on.
	if err != nil || !lfi.Mode().IsRegular() || lfi.ModTime().After(snap.Time) || !lfi.ModTime().Equal(fi.ModTime()) {
		return nil
	}
	liveSum, err := hashFile(livePath)
	if err != nil {
		return nil // unreadable now: nothing to compare
	}
	if !bytes.Equal(liveSum, got) {
		return fmt.Errorf("%s differs from the live file %s, which has not been modified since the backup (%s): one of the copies is damaged",
			name, livePath, lfi.ModTime().UTC().Format(time.RFC3339))
	}
	return nil
}

func hashFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return hashReader(f)
}

func hashReader(r io.Reader) ([]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// verifyHTTP starts the application, waits for it to be ready, checks the URL and stops it.
func verifyHTTP(ctx context.Context, h *policy.HTTPVerify, env []string) error {
	cmd := exec.Command("/bin/sh", "-c", h.Start)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %q: %w", h.Start, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()

	client := &http.Client{Timeout: 10 * time.Second}
	get := func(ctx context.Context, u string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	wait := h.ReadyWithin.Duration
	if wait <= 0 {
		wait = time.Minute
	}
	readyCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var lastErr error
	for {
		code, err := get(readyCtx, h.ReadyURL)
		if err == nil && code >= 200 && code < 300 {
			break
		}
		if err == nil {
			err = fmt.Errorf("status %d", code)
		}
		lastErr = err
		select {
		case err := <-exited:
			exited <- err // for the deferred stop
			return fmt.Errorf("%q exited before %s was ready (%v): %s", h.Start, h.ReadyURL, err, out.String())
		case <-readyCtx.Done():
			return fmt.Errorf("%s not ready within %s: %v", h.ReadyURL, policy.Duration{Duration: wait}, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
	code, err := get(ctx, h.CheckURL)
	if err != nil {
		return fmt.Errorf("%s: %w", h.CheckURL, err)
	}
	if code != h.ExpectStatus {
		return fmt.Errorf("%s answered %d, expected %d", h.CheckURL, code, h.ExpectStatus)
	}
	return nil
}

// tail keeps the last 1 KiB written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 1024 {
		t.b = t.b[len(t.b)-1024:]
	}
	return len(p), nil
}

func (t *tail) String() string { return strings.TrimSpace(string(t.b)) }
