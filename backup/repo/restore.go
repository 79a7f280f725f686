package repo

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/snapshot/restore"
	"github.com/kopia/kopia/snapshot/snapshotfs"
)

// RestoreFiles writes the files of snapshot id under target (created if missing): contents,
// modes, modification times and symbolic links, and owners when run as root. Files already in
// target are overwritten.
func (r *Repo) RestoreFiles(ctx context.Context, id, target string, progress func(Progress)) error {
	rr, err := r.uncached(ctx)
	if err != nil {
		return err
	}
	defer rr.closeShared(ctx)
	return rr.restoreFiles(ctx, id, target, progress)
}

func (r *Repo) restoreFiles(ctx context.Context, id, target string, progress func(Progress)) error {
	root, err := r.snapshotRoot(ctx, id)
	if err != nil {
		return r.errorf("restore", err)
	}
	out := &restore.FilesystemOutput{
		TargetPath:             target,
		OverwriteDirectories:   true,
		OverwriteFiles:         true,
		OverwriteSymlinks:      true,
		WriteFilesAtomically:   false, // measured: atomic writes slow restores of many files
		SkipOwners:             os.Geteuid() != 0,
		IgnorePermissionErrors: false,
	}
	if err := out.Init(ctx); err != nil {
		return r.errorf("restore into "+target, err)
	}
	opts := restore.Options{
		Parallel:               8,
		RestoreDirEntryAtDepth: math.MaxInt32, // kopia otherwise leaves placeholders below depth 0
	}
	if progress != nil {
		opts.ProgressCallback = func(_ context.Context, s restore.Stats) {
			progress(Progress{
				Files:      int64(s.RestoredFileCount + s.SkippedCount),
				Bytes:      s.RestoredTotalFileSize + s.SkippedTotalFileSize,
				BytesTotal: s.EnqueuedTotalFileSize,
			})
		}
	}
	if _, err := restore.Entry(ctx, r.rep, out, root, opts); err != nil {
		return r.errorf(fmt.Sprintf("restoring snapshot %s into %s", id, target), err)
	}
	return nil
}

func (r *Repo) snapshotRoot(ctx context.Context, id string) (fs.Entry, error) {
	m, err := r.loadSnapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	root, err := snapshotfs.SnapshotRoot(r.rep, m)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", id, err)
	}
	return root, nil
}

// Entries lists the files of snapshot id as slash-separated paths, sorted: the stream names of a
// streams snapshot.
func (r *Repo) Entries(ctx context.Context, id string) ([]string, error) {
	m, err := r.Manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(m))
	for i, e := range m {
		names[i] = e.Name
	}
	return names, nil
}

// EntryInfo is a file (or symbolic link) of a snapshot as the snapshot records it.
type EntryInfo struct {
	Name    string // slash-separated path
	Size    int64
	Mode    os.FileMode
	ModTime time.Time
}

// Manifest lists the files and symbolic links of snapshot id (not its directories) with the
// size, mode and modification time the snapshot records, sorted by name.
func (r *Repo) Manifest(ctx context.Context, id string) ([]EntryInfo, error) {
	root, err := r.snapshotRoot(ctx, id)
	if err != nil {
		return nil, r.errorf("listing entries", err)
	}
	var out []EntryInfo
	var walk func(d fs.Directory, prefix string) error
	walk = func(d fs.Directory, prefix string) error {
		return fs.IterateEntries(ctx, d, func(ctx context.Context, e fs.Entry) error {
			p := path.Join(prefix, e.Name())
			if sub, ok := e.(fs.Directory); ok {
				return walk(sub, p)
			}
			out = append(out, EntryInfo{Name: p, Size: e.Size(), Mode: e.Mode(), ModTime: e.ModTime()})
			return nil
		})
	}
	dir, ok := root.(fs.Directory)
	if !ok {
		return nil, r.errorf("listing entries", fmt.Errorf("snapshot %s: root is not a directory", id))
	}
	if err := walk(dir, ""); err != nil {
		return nil, r.errorf("listing entries of snapshot "+id, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// OpenEntry opens the file name (a path from Entries) of snapshot id for reading.
func (r *Repo) OpenEntry(ctx context.Context, id, name string) (io.ReadCloser, error) {
	rr, err := r.uncached(ctx)
	if err != nil {
		return nil, err
	}
	rc, err := rr.openEntry(ctx, id, name)
	if err != nil {
		rr.closeShared(ctx)
		return nil, err
	}
	return &entryReader{ReadCloser: rc, close: func() { rr.closeShared(context.WithoutCancel(ctx)) }}, nil
}

// entryReader closes the connection it reads from with the entry.
type entryReader struct {
	io.ReadCloser
	close func()
	once  sync.Once
}

func (e *entryReader) Close() error {
	err := e.ReadCloser.Close()
	e.once.Do(e.close)
	return err
}

func (r *Repo) openEntry(ctx context.Context, id, name string) (io.ReadCloser, error) {
	root, err := r.snapshotRoot(ctx, id)
	if err != nil {
		return nil, r.errorf("opening "+name, err)
	}
	e, err := snapshotfs.GetNestedEntry(ctx, root, strings.Split(path.Clean(name), "/"))
	if err != nil {
		return nil, r.errorf("opening "+name, fmt.Errorf("snapshot %s: %w: %w", id, ErrNotFound, err))
	}
	f, ok := e.(fs.File)
	if !ok {
		return nil, r.errorf("opening "+name, fmt.Errorf("snapshot %s: %s is not a file: %w", id, name, ErrNotFound))
	}
	rd, err := f.Open(ctx)
	if err != nil {
		return nil, r.errorf("opening "+name, err)
	}
	return rd, nil
}
