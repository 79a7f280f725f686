package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/fs/localfs"
	"github.com/kopia/kopia/fs/virtualfs"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/manifest"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/policy"
	"github.com/kopia/kopia/snapshot/upload"
)

// Snapshot describes one snapshot of a source.
type Snapshot struct {
	ID      string
	Source  string
	Time    time.Time // start
	EndTime time.Time
	Tags    map[string]string
	Files   int64
	Dirs    int64
	// Bytes is the total size of the snapshot's files.
	Bytes int64
	// BytesAdded is what this snapshot added to the destination after deduplication and
	// compression (0 when read back with Snapshots).
	BytesAdded int64
	// Incomplete is non-empty for a snapshot that did not finish (kopia's checkpoints).
	Incomplete string
}

// Stream is one named stream of a streams snapshot, such as a database dump. Open is called once,
// when the stream's turn comes; the reader's Read or Close returns an error if the producer
// failed, which fails the whole snapshot.
type Stream struct {
	// Name is a slash-separated relative path, e.g. "databases/app.dump".
	Name string
	Open func(context.Context) (io.ReadCloser, error)
}

// Progress reports a running snapshot or restore.
type Progress struct {
	Files, Bytes, BytesTotal int64 // BytesTotal is 0 when unknown (streams)
	Current                  string
}

// FilesSpec says what a files snapshot contains.
type FilesSpec struct {
	// Paths are the directories or files to back up. With one directory, the snapshot's root is
	// that directory; with several paths (or a file), the root holds each path under its absolute
	// name (/etc and /srv/www become etc/ and srv/www/).
	Paths []string
	// Exclude are gitignore-style patterns ("*.tmp", "/cache/", "**/node_modules").
	Exclude []string
	// OneFileSystem stays on the file system of each path (mount points are not crossed).
	OneFileSystem bool
}

// The compression of file data and metadata. s2-default was picked over zstd-fastest by
// measurement with bench/backup (docs/benchmarks.md): with kopia v0.23.1 it compresses about five
// times faster and restores about twice as fast, for a repository about 20% larger on a data set
// that is half text.
const compressor = "s2-default"

// The content-defined chunking: chunks of 1 MiB on average instead of kopia's default 4 MiB, so
// that a small change in a file of a few MiB (a database page, a log append) stores about 1 MiB
// again rather than the whole file (measured with bench/backup, docs/benchmarks.md).
const splitter = "DYNAMIC-1M-BUZHASH"

// neverCompress lists extensions of data that is already compressed.
var neverCompress = []string{
	".gz", ".tgz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".7z", ".rar",
	".jpg", ".jpeg", ".png", ".gif", ".webp", ".mp3", ".mp4", ".mkv", ".mov", ".avi", ".pdf",
}

// policyTree is the fixed kopia policy of every Upkeep snapshot. Retention is not kopia's: the
// backup package decides what to Forget.
func policyTree(spec FilesSpec) *policy.Tree {
	p := *policy.DefaultPolicy
	p.FilesPolicy = policy.FilesPolicy{
		IgnoreRules:            spec.Exclude,
		IgnoreCacheDirectories: policy.NewOptionalBool(false),
		OneFileSystem:          policy.NewOptionalBool(policy.OptionalBool(spec.OneFileSystem)),
	}
	p.ErrorHandlingPolicy = policy.ErrorHandlingPolicy{
		IgnoreFileErrors:      policy.NewOptionalBool(false),
		IgnoreDirectoryErrors: policy.NewOptionalBool(false),
		IgnoreUnknownTypes:    policy.NewOptionalBool(true), // sockets, fifos
	}
	p.CompressionPolicy = policy.CompressionPolicy{CompressorName: compressor, NeverCompress: neverCompress}
	p.MetadataCompressionPolicy = policy.MetadataCompressionPolicy{CompressorName: compressor}
	p.SplitterPolicy = policy.SplitterPolicy{Algorithm: splitter}
	return policy.BuildTree(map[string]*policy.Policy{".": &p}, policy.DefaultPolicy)
}

func sourceInfo(source string) snapshot.SourceInfo {
	return snapshot.SourceInfo{Host: clientHost, UserName: clientUser, Path: source}
}

// SnapshotFiles snapshots the files spec describes as a new snapshot of source. Files that cannot
// be read fail the snapshot. Files unchanged since the previous snapshot of source (same size and
// modification time) are not read again.
func (r *Repo) SnapshotFiles(ctx context.Context, source string, spec FilesSpec, tags map[string]string, progress func(Progress)) (Snapshot, error) {
	root, err := filesRoot(spec.Paths)
	if err != nil {
		return Snapshot{}, r.errorf("snapshot of "+source, err)
	}
	return r.snapshot(ctx, source, root, policyTree(spec), tags, progress)
}

// filesRoot returns the directory to snapshot for paths.
func filesRoot(paths []string) (fs.Directory, error) {
	if len(paths) == 0 {
		return nil, errors.New("no paths to back up")
	}
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		abs[i] = a
	}
	if len(abs) == 1 {
		if fi, err := os.Stat(abs[0]); err == nil && fi.IsDir() {
			d, err := localfs.Directory(abs[0])
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", abs[0], err)
			}
			return d, nil
		}
	}
	t := newVTree()
	for _, a := range abs {
		e, err := localfs.NewEntry(a)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", a, err)
		}
		rel := strings.TrimPrefix(filepath.ToSlash(a), "/")
		if rel == "" {
			return nil, errors.New("backing up / together with other paths is not supported")
		}
		if err := t.add(rel, kept(e)); err != nil {
			return nil, err
		}
	}
	return t.dir("/"), nil
}

// kept wraps a localfs entry so that the uploader's Close does not recycle it: localfs pools its
// entries and Close empties them, but an entry of a virtual directory is handed out by every
// iteration, and a recycled one opens "" ("unable to open local file: open : no such file").
func kept(e fs.Entry) fs.Entry {
	switch e := e.(type) {
	case fs.File:
		return keptFile{e}
	case fs.Directory:
		return keptDir{e}
	case fs.Symlink:
		return keptSymlink{e}
	}
	return e
}

type (
	keptFile    struct{ fs.File }
	keptDir     struct{ fs.Directory }
	keptSymlink struct{ fs.Symlink }
)

func (keptFile) Close()    {}
func (keptDir) Close()     {}
func (keptSymlink) Close() {}

// SnapshotStreams stores streams as the files of one new snapshot of source. Each stream is
// opened and read once, in order, and written straight into the repository. If any stream fails
// (Open, Read or Close returns an error) no snapshot is recorded and the error says which stream.
func (r *Repo) SnapshotStreams(ctx context.Context, source string, streams []Stream, tags map[string]string, progress func(Progress)) (Snapshot, error) {
	if len(streams) == 0 {
		return Snapshot{}, r.errorf("snapshot of "+source, errors.New("no streams"))
	}
	t := newVTree()
	now := time.Now()
	for _, s := range streams {
		name := path.Clean(s.Name)
		if s.Name == "" || s.Open == nil || name != s.Name || path.IsAbs(name) || strings.HasPrefix(name, "../") || name == ".." || name == "." {
			return Snapshot{}, r.errorf("snapshot of "+source, fmt.Errorf("invalid stream name %q (want a clean relative path)", s.Name))
		}
		if err := t.add(name, &streamFile{name: path.Base(name), path: name, modTime: now, open: s.Open}); err != nil {
			return Snapshot{}, r.errorf("snapshot of "+source, err)
		}
	}
	return r.snapshot(ctx, source, t.dir("/"), policyTree(FilesSpec{}), tags, progress)
}

func (r *Repo) snapshot(ctx context.Context, source string, root fs.Directory, pol *policy.Tree, tags map[string]string, progress func(Progress)) (Snapshot, error) {
	if source == "" {
		return Snapshot{}, r.errorf("snapshot", errors.New("no source name"))
	}
	si := sourceInfo(source)
	var added atomic.Int64
	var man *snapshot.Manifest
	err := repo.WriteSession(ctx, r.rep, repo.WriteSessionOptions{
		Purpose:  "upkeep: snapshot " + source,
		OnUpload: func(n int64) { added.Add(n) },
	}, func(ctx context.Context, w repo.RepositoryWriter) error {
		previous, err := snapshot.FindPreviousManifests(ctx, w, si, nil)
		if err != nil {
			return fmt.Errorf("finding the previous snapshot: %w", err)
		}
		u := upload.NewUploader(w)
		u.FailFast = true
		u.EnableActions = false
		if progress != nil {
			u.Progress = newUploadProgress(progress)
		}
		m, err := u.Upload(ctx, root, pol, si, previous...)
		if err != nil {
			return err
		}
		if s := m.RootEntry.DirSummary; s != nil && s.FatalErrorCount > 0 {
			return fmt.Errorf("%s", failedEntries(s))
		}
		if m.IncompleteReason != "" {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fmt.Errorf("snapshot incomplete: %s", m.IncompleteReason)
		}
		m.Tags = tags
		if _, err := snapshot.SaveSnapshot(ctx, w, m); err != nil {
			return fmt.Errorf("saving the snapshot: %w", err)
		}
		man = m
		return nil
	})
	if err != nil {
		return Snapshot{}, r.errorf("snapshot of "+source, err)
	}
	s := toSnapshot(man)
	s.BytesAdded = added.Load()
	return s, nil
}

func failedEntries(s *fs.DirectorySummary) string {
	var b []string
	for _, e := range s.FailedEntries {
		b = append(b, e.EntryPath+": "+e.Error)
	}
	return strings.Join(b, "; ")
}

func toSnapshot(m *snapshot.Manifest) Snapshot {
	s := Snapshot{
		ID:         string(m.ID),
		Source:     m.Source.Path,
		Time:       m.StartTime.ToTime(),
		EndTime:    m.EndTime.ToTime(),
		Tags:       m.Tags,
		Files:      int64(m.Stats.TotalFileCount),
		Dirs:       int64(m.Stats.TotalDirectoryCount),
		Bytes:      m.Stats.TotalFileSize,
		Incomplete: m.IncompleteReason,
	}
	if m.RootEntry != nil && m.RootEntry.DirSummary != nil {
		ds := m.RootEntry.DirSummary
		s.Files, s.Dirs, s.Bytes = ds.TotalFileCount, ds.TotalDirCount, ds.TotalFileSize
	}
	return s
}

// Snapshots lists the snapshots of source, oldest first, including incomplete ones (Incomplete
// set).
func (r *Repo) Snapshots(ctx context.Context, source string) ([]Snapshot, error) {
	mans, err := snapshot.ListSnapshots(ctx, r.rep, sourceInfo(source))
	if err != nil {
		return nil, r.errorf("listing snapshots of "+source, err)
	}
	sort.Slice(mans, func(i, j int) bool { return mans[i].StartTime.Before(mans[j].StartTime) })
	out := make([]Snapshot, len(mans))
	for i, m := range mans {
		out[i] = toSnapshot(m)
	}
	return out, nil
}

// Forget deletes the snapshots with the given ids from the repository's list. Their data stays
// until Maintenance removes what no remaining snapshot uses.
func (r *Repo) Forget(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := repo.WriteSession(ctx, r.rep, repo.WriteSessionOptions{Purpose: "upkeep: forget"}, func(ctx context.Context, w repo.RepositoryWriter) error {
		for _, id := range ids {
			if _, err := r.loadSnapshot(ctx, id); err != nil {
				return err
			}
			if err := w.DeleteManifest(ctx, manifest.ID(id)); err != nil {
				return fmt.Errorf("snapshot %s: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return r.errorf("forgetting snapshots", err)
	}
	return nil
}

// loadSnapshot returns the manifest of snapshot id, or an error matching ErrNotFound.
func (r *Repo) loadSnapshot(ctx context.Context, id string) (*snapshot.Manifest, error) {
	m, err := snapshot.LoadSnapshot(ctx, r.rep, manifest.ID(id))
	if err != nil {
		if errors.Is(err, snapshot.ErrSnapshotNotFound) || errors.Is(err, manifest.ErrNotFound) {
			return nil, fmt.Errorf("snapshot %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("snapshot %s: %w", id, err)
	}
	return m, nil
}

// uploadProgress turns kopia's upload events into Progress reports, at most one per
// progressEvery and always a last one.
type uploadProgress struct {
	upload.NullUploadProgress
	report func(Progress)

	mu   sync.Mutex
	p    Progress
	last time.Time
}

const progressEvery = 200 * time.Millisecond

func newUploadProgress(report func(Progress)) *uploadProgress {
	return &uploadProgress{report: report}
}

func (u *uploadProgress) Enabled() bool { return true }

func (u *uploadProgress) update(force bool, f func(p *Progress)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f(&u.p)
	if now := time.Now(); force || now.Sub(u.last) >= progressEvery {
		u.last = now
		u.report(u.p)
	}
}

func (u *uploadProgress) EstimatedDataSize(_, bytes int64) {
	u.update(false, func(p *Progress) { p.BytesTotal = bytes })
}
func (u *uploadProgress) HashingFile(name string) {
	u.update(false, func(p *Progress) { p.Current = name })
}
func (u *uploadProgress) HashedBytes(n int64) {
	u.update(false, func(p *Progress) { p.Bytes += n })
}
func (u *uploadProgress) CachedFile(name string, size int64) {
	u.update(false, func(p *Progress) { p.Files++; p.Bytes += size; p.Current = name })
}
func (u *uploadProgress) FinishedHashingFile(string, int64) {
	u.update(false, func(p *Progress) { p.Files++ })
}
func (u *uploadProgress) UploadFinished() {
	u.update(true, func(p *Progress) { p.Current = "" })
}

// streamFile is a kopia streaming file that opens its Stream when the uploader reaches it.
type streamFile struct {
	name, path string
	modTime    time.Time
	open       func(context.Context) (io.ReadCloser, error)
}

var _ fs.StreamingFile = (*streamFile)(nil)

func (f *streamFile) Name() string                { return f.name }
func (f *streamFile) IsDir() bool                 { return false }
func (f *streamFile) Mode() os.FileMode           { return 0o600 }
func (f *streamFile) ModTime() time.Time          { return f.modTime }
func (f *streamFile) Size() int64                 { return 0 }
func (f *streamFile) Sys() any                    { return nil }
func (f *streamFile) Owner() fs.OwnerInfo         { return fs.OwnerInfo{} }
func (f *streamFile) Device() fs.DeviceInfo       { return fs.DeviceInfo{} }
func (f *streamFile) LocalFilesystemPath() string { return "" }
func (f *streamFile) Close()                      {}

func (f *streamFile) GetReader(ctx context.Context) (io.ReadCloser, error) {
	rc, err := f.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", f.path, err)
	}
	return &checkedReader{path: f.path, rc: rc}, nil
}

// checkedReader closes the stream when it ends and turns a Close error (a failed producer) into
// the read error: kopia ignores the error of Close.
type checkedReader struct {
	path   string
	rc     io.ReadCloser
	closed bool
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.closed {
		return 0, io.EOF
	}
	n, err := c.rc.Read(p)
	if err == io.EOF {
		c.closed = true
		if cerr := c.rc.Close(); cerr != nil {
			return n, fmt.Errorf("stream %s: %w", c.path, cerr)
		}
		return n, io.EOF
	}
	if err != nil {
		return n, fmt.Errorf("stream %s: %w", c.path, err)
	}
	return n, nil
}

func (c *checkedReader) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.rc.Close()
}

// vtree builds a virtual directory tree from slash-separated paths.
type vtree struct {
	entries  map[string]fs.Entry
	children map[string]*vtree
	order    []string
}

func newVTree() *vtree {
	return &vtree{entries: map[string]fs.Entry{}, children: map[string]*vtree{}}
}

func (t *vtree) add(rel string, e fs.Entry) error {
	head, rest, nested := strings.Cut(rel, "/")
	if !nested {
		if _, dup := t.entries[head]; dup {
			return fmt.Errorf("%q given twice", rel)
		}
		if _, dup := t.children[head]; dup {
			return fmt.Errorf("%q is also a directory of another entry", rel)
		}
		t.entries[head] = e
		t.order = append(t.order, head)
		return nil
	}
	if _, clash := t.entries[head]; clash {
		return fmt.Errorf("%q is inside another entry", rel)
	}
	c, ok := t.children[head]
	if !ok {
		c = newVTree()
		t.children[head] = c
		t.order = append(t.order, head)
	}
	return c.add(rest, e)
}

func (t *vtree) dir(name string) fs.Directory {
	var list []fs.Entry
	for _, n := range t.order {
		if e, ok := t.entries[n]; ok {
			list = append(list, e)
		} else {
			list = append(list, t.children[n].dir(n))
		}
	}
	return virtualfs.NewStaticDirectory(name, list)
}
