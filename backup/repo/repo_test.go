package repo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/backup/repo"
	"github.com/upkeep-dev/upkeep/internal/testenv"
	"github.com/upkeep-dev/upkeep/internal/testtree"
)

const password = "correct horse battery staple"

// pathDest returns a fresh path destination.
func pathDest(t *testing.T) repo.Destination {
	return repo.Destination{Name: "onsite", Path: filepath.Join(t.TempDir(), "repo")}
}

// s3Dest returns a destination in a fresh bucket of the test S3 server.
func s3Dest(t *testing.T) repo.Destination {
	b := testenv.S3(t)
	return repo.Destination{Name: "offsite-s3", S3: &repo.S3{
		Endpoint: b.Endpoint, Bucket: b.Bucket, Prefix: "upkeep/", Region: b.Region,
		AccessKeyID: b.AccessKey, SecretAccessKey: b.SecretKey,
	}}
}

// sftpDest returns a destination in a fresh directory of the test SFTP server.
func sftpDest(t *testing.T) repo.Destination {
	s := testenv.SFTP(t)
	return repo.Destination{Name: "offsite-sftp", SFTP: &repo.SFTP{
		Host: s.Host, Port: s.Port, User: s.User, KeyFile: s.KeyFile, KnownHostsFile: s.KnownHostsFile, Path: s.Path,
	}}
}

// open opens d with a fresh state directory and closes it at cleanup.
func open(t *testing.T, d repo.Destination, o repo.Options) *repo.Repo {
	t.Helper()
	if o.Password == "" {
		o.Password = password
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(t.TempDir(), "state")
	}
	r, err := repo.Open(t.Context(), d, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// testFilesRoundTrip snapshots a tree to d and restores it.
func testFilesRoundTrip(t *testing.T, d repo.Destination) {
	ctx := t.Context()
	src := filepath.Join(t.TempDir(), "src")
	testtree.Make(t, src, 3<<20)
	r := open(t, d, repo.Options{})

	var progressed bool
	snap, err := r.SnapshotFiles(ctx, "files-job", repo.FilesSpec{Paths: []string{src}}, map[string]string{"run": "1"}, func(repo.Progress) { progressed = true })
	if err != nil {
		t.Fatalf("SnapshotFiles: %v", err)
	}
	if snap.ID == "" || snap.Source != "files-job" || snap.Files != 6 || snap.Bytes < 3<<20 || snap.BytesAdded == 0 || snap.Incomplete != "" {
		t.Errorf("snapshot = %+v", snap)
	}
	if !progressed {
		t.Error("no progress reported")
	}

	// A second connection (another process, with its own state) sees the snapshot and restores it.
	r2 := open(t, d, repo.Options{NoCache: true})
	snaps, err := r2.Snapshots(ctx, "files-job")
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || snaps[0].ID != snap.ID || snaps[0].Tags["run"] != "1" || snaps[0].Files != snap.Files {
		t.Fatalf("Snapshots = %+v, want the one snapshot %+v", snaps, snap)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	if err := r2.RestoreFiles(ctx, snap.ID, dst, nil); err != nil {
		t.Fatalf("RestoreFiles: %v", err)
	}
	testtree.Compare(t, src, dst)

	// The manifest records every file and link with the size, mode and mtime of the source.
	manifest, err := r2.Manifest(ctx, snap.ID)
	if err != nil {
		t.Fatal(err)
	}
	names, err := r2.Entries(ctx, snap.ID)
	if err != nil || len(names) != len(manifest) || len(manifest) != 10 {
		t.Fatalf("manifest of %d entries, entries %v (%v); want 10 (6 files, 4 links)", len(manifest), names, err)
	}
	for i, e := range manifest {
		fi, err := os.Lstat(filepath.Join(src, filepath.FromSlash(e.Name)))
		if err != nil || names[i] != e.Name {
			t.Errorf("manifest entry %q: %v (entry %q)", e.Name, err, names[i])
			continue
		}
		if e.Mode != fi.Mode() || fi.Mode().IsRegular() && (e.Size != fi.Size() || !e.ModTime.Equal(fi.ModTime())) {
			t.Errorf("manifest %s: %v %d bytes %v; source %v %d bytes %v", e.Name, e.Mode, e.Size, e.ModTime, fi.Mode(), fi.Size(), fi.ModTime())
		}
	}

	// The same destination with another password: refused, clearly.
	_, err = repo.Open(ctx, d, repo.Options{Password: "not the password", StateDir: t.TempDir()})
	if !errors.Is(err, repo.ErrWrongPassword) || !strings.Contains(err.Error(), d.Name) {
		t.Errorf("Open with a wrong password: %v, want ErrWrongPassword naming %q", err, d.Name)
	}
}

// testStreamsRoundTrip snapshots streams to d and reads them back.
func testStreamsRoundTrip(t *testing.T, d repo.Destination) {
	ctx := t.Context()
	r := open(t, d, repo.Options{})
	contents := map[string][]byte{
		"globals.sql":        []byte("CREATE ROLE app;\n"),
		"databases/app.dump": testtree.RandomBytes(t, 5<<20),
		"databases/log.dump": bytes.Repeat([]byte("row\n"), 100000),
	}
	var streams []repo.Stream
	for _, name := range []string{"globals.sql", "databases/app.dump", "databases/log.dump"} {
		data := contents[name]
		streams = append(streams, repo.Stream{Name: name, Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}})
	}
	snap, err := r.SnapshotStreams(ctx, "db-job", streams, nil, nil)
	if err != nil {
		t.Fatalf("SnapshotStreams: %v", err)
	}
	if snap.Files != 3 || snap.Bytes != int64(len(contents["databases/app.dump"])+len(contents["databases/log.dump"])+len(contents["globals.sql"])) {
		t.Errorf("snapshot = %+v", snap)
	}
	r2 := open(t, d, repo.Options{NoCache: true})
	names, err := r2.Entries(ctx, snap.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, ","); got != "databases/app.dump,databases/log.dump,globals.sql" {
		t.Errorf("Entries = %s", got)
	}
	for name, want := range contents {
		rc, err := r2.OpenEntry(ctx, snap.ID, name)
		if err != nil {
			t.Fatalf("OpenEntry %s: %v", name, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: read %d bytes (%v), want %d identical bytes", name, len(got), err, len(want))
		}
	}
	if _, err := r2.OpenEntry(ctx, snap.ID, "databases/nope.dump"); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("OpenEntry of a missing name: %v, want ErrNotFound", err)
	}
}

func TestFilesRoundTripPath(t *testing.T)   { testFilesRoundTrip(t, pathDest(t)) }
func TestStreamsRoundTripPath(t *testing.T) { testStreamsRoundTrip(t, pathDest(t)) }
func TestFilesRoundTripS3(t *testing.T)     { testFilesRoundTrip(t, s3Dest(t)) }
func TestStreamsRoundTripS3(t *testing.T)   { testStreamsRoundTrip(t, s3Dest(t)) }
func TestFilesRoundTripSFTP(t *testing.T)   { testFilesRoundTrip(t, sftpDest(t)) }
func TestStreamsRoundTripSFTP(t *testing.T) { testStreamsRoundTrip(t, sftpDest(t)) }

// Wrong credentials or host keys on network destinations give clear errors naming them.
func TestNetworkDestinationErrors(t *testing.T) {
	ctx := t.Context()
	t.Run("s3 wrong secret", func(t *testing.T) {
		d := s3Dest(t)
		d.S3.SecretAccessKey = "not-the-secret"
		_, err := repo.Open(ctx, d, repo.Options{Password: password, StateDir: t.TempDir()})
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), `"offsite-s3"`) || strings.Contains(err.Error(), "not-the-secret") {
			t.Errorf("Open with a wrong S3 secret: %v", err)
		}
	})
	t.Run("sftp unknown host key", func(t *testing.T) {
		d := sftpDest(t)
		empty := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		d.SFTP.KnownHostsFile = empty
		_, err := repo.Open(ctx, d, repo.Options{Password: password, StateDir: t.TempDir()})
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), `"offsite-sftp"`) || strings.Contains(err.Error(), "ClientConfig") {
			t.Errorf("Open with an unknown SFTP host key: %v", err)
		}
	})
}

// A producer that fails (pg_dump exiting 1) surfaces from Close: no snapshot may be recorded.
func TestFailedStreamRecordsNoSnapshot(t *testing.T) {
	ctx := t.Context()
	r := open(t, pathDest(t), repo.Options{})
	for _, tc := range []struct {
		name string
		open func(context.Context) (io.ReadCloser, error)
	}{
		{"close fails", func(context.Context) (io.ReadCloser, error) {
			return failingCloser{Reader: strings.NewReader("partial dump"), err: errors.New("pg_dump exited with status 1: out of memory")}, nil
		}},
		{"read fails", func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(io.MultiReader(strings.NewReader("partial"), errReader{errors.New("pg_dump exited with status 1: out of memory")})), nil
		}},
		{"open fails", func(context.Context) (io.ReadCloser, error) {
			return nil, errors.New("pg_dump exited with status 1: out of memory")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.SnapshotStreams(ctx, "db", []repo.Stream{
				{Name: "globals.sql", Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("ok")), nil }},
				{Name: "databases/app.dump", Open: tc.open},
			}, nil, nil)
			if err == nil || !strings.Contains(err.Error(), "out of memory") || !strings.Contains(err.Error(), "databases/app.dump") {
				t.Errorf("SnapshotStreams error = %v, want the producer's error naming the stream", err)
			}
		})
	}
	snaps, err := r.Snapshots(ctx, "db")
	if err != nil || len(snaps) != 0 {
		t.Errorf("Snapshots = %v, %v; want none", snaps, err)
	}
}

type failingCloser struct {
	io.Reader
	err error
}

func (f failingCloser) Close() error { return f.err }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// A second snapshot of unchanged data adds (almost) nothing; changed files are found.
func TestDedup(t *testing.T) {
	ctx := t.Context()
	src := t.TempDir()
	testtree.WriteFile(t, filepath.Join(src, "big.bin"), testtree.RandomBytes(t, 8<<20), 0o644, time.Now())
	r := open(t, pathDest(t), repo.Options{})
	first, err := r.SnapshotFiles(ctx, "job", repo.FilesSpec{Paths: []string{src}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.SnapshotFiles(ctx, "job", repo.FilesSpec{Paths: []string{src}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.BytesAdded < 8<<20 || second.BytesAdded > 64<<10 {
		t.Errorf("added %d then %d bytes; want >= 8 MiB then ~0", first.BytesAdded, second.BytesAdded)
	}
	// The same bytes under another name, in a streams snapshot of another job: deduplicated too.
	data, _ := os.ReadFile(filepath.Join(src, "big.bin"))
	third, err := r.SnapshotStreams(ctx, "other", []repo.Stream{{Name: "copy", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if third.BytesAdded > 64<<10 {
		t.Errorf("the same data as a stream added %d bytes, want ~0", third.BytesAdded)
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Forget alone frees nothing; Forget then Maintenance gives the space back.
func TestForgetAndMaintenanceFreeSpace(t *testing.T) {
	ctx := t.Context()
	d := pathDest(t)
	r := open(t, d, repo.Options{ExclusiveMaintenance: true})
	var ids []string
	for i := range 3 {
		data := testtree.RandomBytes(t, 6<<20)
		s, err := r.SnapshotStreams(ctx, "job", []repo.Stream{{Name: "dump", Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}}}, map[string]string{"i": fmt.Sprint(i)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	full := dirSize(t, d.Path)
	if full < 18<<20 {
		t.Fatalf("repository holds %d bytes after 18 MiB of random data", full)
	}
	if err := r.Forget(ctx, ids[:2]); err != nil {
		t.Fatal(err)
	}
	if after := dirSize(t, d.Path); after < full {
		t.Errorf("Forget alone shrank the repository from %d to %d bytes", full, after)
	}
	if err := r.Maintenance(ctx, true); err != nil {
		t.Fatal(err)
	}
	after := dirSize(t, d.Path)
	t.Logf("repository: %d bytes before, %d after forgetting 2 of 3 snapshots and maintenance", full, after)
	if after > full/2 {
		t.Errorf("after Forget+Maintenance the repository holds %d of %d bytes; want about a third", after, full)
	}
	snaps, err := r.Snapshots(ctx, "job")
	if err != nil || len(snaps) != 1 || snaps[0].ID != ids[2] {
		t.Fatalf("Snapshots = %+v, %v; want only the last", snaps, err)
	}
	if rep, err := r.Verify(ctx, 1); err != nil {
		t.Errorf("Verify after maintenance: %v (%+v)", err, rep)
	}
	if err := r.Forget(ctx, []string{"nonexistent"}); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("Forget of an unknown id: %v, want ErrNotFound", err)
	}
}

func TestWrongPassword(t *testing.T) {
	ctx := t.Context()
	d := pathDest(t)
	state := filepath.Join(t.TempDir(), "state")
	r := open(t, d, repo.Options{StateDir: state})
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{state, filepath.Join(t.TempDir(), "fresh")} { // connected before, and not
		_, err := repo.Open(ctx, d, repo.Options{Password: "wrong password 123", StateDir: st})
		if !errors.Is(err, repo.ErrWrongPassword) {
			t.Fatalf("Open with a wrong password: %v, want ErrWrongPassword", err)
		}
		if !strings.Contains(err.Error(), `"onsite"`) || strings.Contains(err.Error(), "wrong password 123") {
			t.Errorf("error %q should name the destination and not hold the password", err)
		}
	}
	fi, err := os.Stat(state)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir: %v, %v; want mode 0700", fi.Mode(), err)
	}
}

func TestUnreachableDestination(t *testing.T) {
	ctx := t.Context()
	for _, d := range []repo.Destination{
		{Name: "offsite", S3: &repo.S3{Endpoint: "http://127.0.0.1:1", Bucket: "b", AccessKeyID: "k", SecretAccessKey: "s"}},
		{Name: "offsite", SFTP: &repo.SFTP{Host: "127.0.0.1", Port: 1, User: "u", KeyFile: "/nonexistent", KnownHostsFile: "/nonexistent", Path: "/x"}},
		{Name: "offsite", Path: "/proc/upkeep-cannot-create"},
	} {
		_, err := repo.Open(ctx, d, repo.Options{Password: password, StateDir: t.TempDir()})
		if !errors.Is(err, repo.ErrUnreachable) || !strings.Contains(err.Error(), `"offsite"`) {
			t.Errorf("Open(%+v): %v; want ErrUnreachable naming the destination", d, err)
		}
	}
	_, err := repo.Open(ctx, repo.Destination{Name: "x"}, repo.Options{Password: password, StateDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Errorf("Open of an empty destination: %v", err)
	}
}

// A flipped byte in a data pack ('p', file contents) is found by Verify, which names the snapshot
// and file, also through the connection that wrote the data.
func TestVerifyFindsFlippedByte(t *testing.T) {
	testVerifyFindsFlippedByte(t, "p", "databases/app.dump")
}

func testVerifyFindsFlippedByte(t *testing.T, prefix, what string) {
	ctx := t.Context()
	d := pathDest(t)
	r := open(t, d, repo.Options{})
	data := testtree.RandomBytes(t, 2<<20)
	snap, err := r.SnapshotStreams(ctx, "db", []repo.Stream{{Name: "databases/app.dump", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := r.Verify(ctx, 1); err != nil || rep.Snapshots != 1 || rep.ReadBytes != int64(len(data)) {
		t.Fatalf("Verify of an intact repository: %+v, %v", rep, err)
	}

	// Flip one byte in the middle of the largest pack of the kind.
	var biggest string
	var size int64
	_ = filepath.WalkDir(d.Path, func(p string, e fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(d.Path, p)
		if err == nil && e.Type().IsRegular() && strings.HasPrefix(rel, prefix) {
			if fi, _ := e.Info(); fi.Size() > size {
				biggest, size = p, fi.Size()
			}
		}
		return nil
	})
	if biggest == "" {
		t.Fatal("no pack file found")
	}
	b, err := os.ReadFile(biggest)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(biggest, b, 0o600); err != nil {
		t.Fatal(err)
	}

	rep, err := r.Verify(ctx, 1)
	if !errors.Is(err, repo.ErrCorrupt) || len(rep.Errors) == 0 {
		t.Fatalf("Verify after flipping a byte: %+v, %v; want ErrCorrupt", rep, err)
	}
	t.Log(rep.Errors[0])
	if all := strings.Join(rep.Errors, "\n"); !strings.Contains(all, what) || !strings.Contains(all, snap.ID) {
		t.Errorf("Verify errors should name the snapshot and file:\n%s", all)
	}
}

// Several paths: each keeps its absolute path under the root.
func TestSeveralPathsAndExclude(t *testing.T) {
	ctx := t.Context()
	base := t.TempDir()
	now := time.Now()
	testtree.WriteFile(t, filepath.Join(base, "etc", "app.conf"), []byte("a=1"), 0o644, now)
	testtree.WriteFile(t, filepath.Join(base, "srv", "www", "index.html"), []byte("<p>"), 0o644, now)
	testtree.WriteFile(t, filepath.Join(base, "srv", "www", "cache", "x.tmp"), []byte("tmp"), 0o644, now)
	testtree.WriteFile(t, filepath.Join(base, "srv", "www", "y.tmp"), []byte("tmp"), 0o644, now)
	r := open(t, pathDest(t), repo.Options{})
	snap, err := r.SnapshotFiles(ctx, "job", repo.FilesSpec{
		Paths:   []string{filepath.Join(base, "etc"), filepath.Join(base, "srv", "www")},
		Exclude: []string{"*.tmp", "cache/"},
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	names, err := r.Entries(ctx, snap.ID)
	if err != nil {
		t.Fatal(err)
	}
	rel := strings.TrimPrefix(filepath.ToSlash(base), "/")
	want := rel + "/etc/app.conf," + rel + "/srv/www/index.html"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("Entries = %s\nwant %s", got, want)
	}
}

// With object lock, every object written is locked: deleting it before the lock expires fails,
// even with the bucket owner's credentials.
func TestS3ObjectLock(t *testing.T) {
	ctx := t.Context()
	b := testenv.S3ObjectLock(t)
	d := repo.Destination{Name: "immutable", S3: &repo.S3{
		Endpoint: b.Endpoint, Bucket: b.Bucket, Region: b.Region,
		AccessKeyID: b.AccessKey, SecretAccessKey: b.SecretKey, ObjectLockDays: 1,
	}}
	r := open(t, d, repo.Options{})
	if _, err := r.SnapshotStreams(ctx, "db", []repo.Stream{{Name: "dump", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("locked data")), nil
	}}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	locked, err := testenv.S3ObjectsLocked(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if locked == 0 {
		t.Error("no object of the repository is locked")
	}
}

// A files source may name single files: alone, or beside a directory; each restores with its
// content.
func TestSingleFilePaths(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
		want  []string
	}{
		{"one file", []string{"etc/app.conf"}, []string{"etc/app.conf"}},
		{"a file and a directory", []string{"etc/app.conf", "srv/www"}, []string{"etc/app.conf", "srv/www/index.html"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			base := t.TempDir()
			now := time.Now()
			testtree.WriteFile(t, filepath.Join(base, "etc", "app.conf"), []byte("a=1"), 0o644, now)
			testtree.WriteFile(t, filepath.Join(base, "etc", "other.conf"), []byte("not backed up"), 0o644, now)
			testtree.WriteFile(t, filepath.Join(base, "srv", "www", "index.html"), []byte("<p>"), 0o644, now)
			var paths []string
			for _, p := range tc.paths {
				paths = append(paths, filepath.Join(base, p))
			}
			dest, state := pathDest(t), filepath.Join(t.TempDir(), "state")
			var (
				r    *repo.Repo
				snap repo.Snapshot
			)
			for i := range 2 { // the second run builds on the first, with a changed file
				if i == 1 {
					testtree.WriteFile(t, filepath.Join(base, "etc", "app.conf"), []byte("a=2"), 0o644, now.Add(time.Minute))
					testtree.WriteFile(t, filepath.Join(base, "srv", "www", "index.html"), []byte("<p>changed"), 0o644, now.Add(time.Minute))
				}
				r = open(t, dest, repo.Options{StateDir: state}) // as each run of upkeep backup run does
				var err error
				snap, err = r.SnapshotFiles(ctx, "job", repo.FilesSpec{Paths: paths}, map[string]string{"run": "1"}, func(repo.Progress) {})
				if err != nil {
					t.Fatalf("SnapshotFiles: %v", err)
				}
			}
			target := t.TempDir()
			if err := r.RestoreFiles(ctx, snap.ID, target, nil); err != nil {
				t.Fatalf("RestoreFiles: %v", err)
			}
			rel := strings.TrimPrefix(filepath.ToSlash(base), "/")
			for _, w := range tc.want {
				want, err := os.ReadFile(filepath.Join(base, w))
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(filepath.Join(target, rel, w))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("restored %s = %q, %v; want %q", w, got, err, want)
				}
			}
			if _, err := os.Stat(filepath.Join(target, rel, "etc", "other.conf")); err == nil {
				t.Error("a file beside the one named was backed up")
			}
		})
	}
}
