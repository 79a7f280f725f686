package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"time"

	"github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/maintenance"
	"github.com/kopia/kopia/repo/object"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/snapshotfs"
	"github.com/kopia/kopia/snapshot/snapshotmaintenance"
)

// Maintenance compacts the repository and deletes the data no snapshot uses any more: the step
// that frees the space of forgotten snapshots. A quick run (full false) compacts indexes and
// rewrites mostly-empty packs; a full run also finds and deletes unreferenced data. Unless
// Options.ExclusiveMaintenance is set, kopia's safety margins delay deletion (see Options).
func (r *Repo) Maintenance(ctx context.Context, full bool) error {
	mode := maintenance.ModeQuick
	if full {
		mode = maintenance.ModeFull
	}
	safety := maintenance.SafetyFull
	if r.opts.ExclusiveMaintenance {
		safety = maintenance.SafetyNone
		// Kopia rewrites the contents of part-empty packs, deleted ones included, and that renews
		// their timestamps: with no minimum age, deleted contents would be rewritten on every run
		// and never dropped.
		safety.RewriteMinAge = time.Hour
	}
	runs := 1
	if full && r.opts.ExclusiveMaintenance {
		// The first run marks unused contents deleted, the second drops them from the indexes
		// and deletes the packs no index refers to any more.
		runs = 2
	}
	var err error
	for i := range runs {
		if i > 0 {
			// Kopia stamps deletions in whole seconds, up to one second ahead, and drops only those
			// strictly older than the run's start: let two seconds pass.
			select {
			case <-ctx.Done():
				return r.errorf("maintenance", ctx.Err())
			case <-time.After(2 * time.Second):
			}
		}
		err = repo.DirectWriteSession(ctx, r.rep, repo.WriteSessionOptions{Purpose: "upkeep: maintenance"}, func(ctx context.Context, w repo.DirectRepositoryWriter) error {
			// force: Upkeep is the only maintenance owner; an older repository may name another.
			return snapshotmaintenance.Run(ctx, w, mode, true, safety)
		})
		if err != nil {
			break
		}
	}
	if err != nil {
		return r.errorf(fmt.Sprintf("maintenance (%s)", mode), err)
	}
	return nil
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Snapshots int   // snapshots checked
	Objects   int64 // files and directories whose contents were checked against the index
	ReadFiles int64 // files read back in full
	ReadBytes int64
	// Errors names each problem found with the snapshot (source@time) and path it affects.
	Errors []string
}

// ErrCorrupt is returned by Verify when it found problems; the report lists them.
var ErrCorrupt = errors.New("repository damaged")

// Verify checks that every snapshot's directories and files are intact: each piece of content is
// indexed and its pack is present in the destination, and directories can be read. It also reads
// back, decrypts and checks a random sample of the given fraction (0 to 1) of the files, which
// detects altered bytes. Problems are listed in the report, each naming the snapshot and path
// (an object shared by several snapshots is checked, and named, once); the error then matches
// ErrCorrupt.
func (r *Repo) Verify(ctx context.Context, readDataFraction float64) (VerifyReport, error) {
	if readDataFraction < 0 || readDataFraction > 1 {
		return VerifyReport{}, r.errorf("verify", fmt.Errorf("read fraction %v is not between 0 and 1", readDataFraction))
	}
	// Read from the destination, not from a local cache that could hide damage there.
	rr, err := r.uncached(ctx)
	if err != nil {
		return VerifyReport{}, err
	}
	defer rr.closeShared(ctx)
	return rr.verify(ctx, readDataFraction)
}

func (r *Repo) verify(ctx context.Context, readDataFraction float64) (VerifyReport, error) {
	var rep VerifyReport
	blobs, err := blob.ReadBlobMap(ctx, r.rep.BlobReader())
	if err != nil {
		return rep, r.errorf("verify: listing the destination", err)
	}
	ids, err := snapshot.ListSnapshotManifests(ctx, r.rep, nil, nil)
	if err != nil {
		return rep, r.errorf("verify: listing snapshots", err)
	}
	mans, err := snapshot.LoadSnapshots(ctx, r.rep, ids)
	if err != nil {
		return rep, r.errorf("verify: loading snapshots", err)
	}
	sort.Slice(mans, func(i, j int) bool { return mans[i].StartTime.After(mans[j].StartTime) }) // newest first

	var objects, readFiles, readBytes atomic.Int64
	check := func(ctx context.Context, e fs.Entry, oid object.ID, entryPath string) error {
		objects.Add(1)
		cids, err := r.rep.VerifyObject(ctx, oid)
		if err != nil {
			return fmt.Errorf("%s: %w", entryPath, err)
		}
		for _, cid := range cids {
			ci, err := r.rep.ContentInfo(ctx, cid)
			if err != nil {
				return fmt.Errorf("%s: content %v: %w", entryPath, cid, err)
			}
			if _, ok := blobs[ci.PackBlobID]; !ok {
				return fmt.Errorf("%s: content %v is in pack %v, which is missing", entryPath, cid, ci.PackBlobID)
			}
		}
		if !e.IsDir() && rand.Float64() >= readDataFraction { //nolint:gosec // sampling, not security
			return nil
		}
		rd, err := r.rep.OpenObject(ctx, oid)
		if err != nil {
			return fmt.Errorf("%s: %w", entryPath, err)
		}
		defer rd.Close() //nolint:errcheck
		n, err := io.Copy(io.Discard, rd)
		if err != nil {
			return fmt.Errorf("%s: reading object %v: %w", entryPath, oid, err)
		}
		if !e.IsDir() {
			readFiles.Add(1)
			readBytes.Add(n)
		}
		return nil
	}
	tw, err := snapshotfs.NewTreeWalker(ctx, snapshotfs.TreeWalkerOptions{EntryCallback: check, MaxErrors: 100})
	if err != nil {
		return rep, r.errorf("verify", err)
	}
	defer tw.Close(ctx)
	for _, m := range mans {
		if m.RootEntry == nil {
			continue
		}
		name := fmt.Sprintf("snapshot %s of %s at %s", m.ID, m.Source.Path, m.StartTime.ToTime().UTC().Format(time.RFC3339))
		root, err := snapshotfs.SnapshotRoot(r.rep, m)
		if err != nil {
			tw.ReportError(ctx, name, fmt.Errorf("%s: %w", name, err))
			continue
		}
		rep.Snapshots++
		_ = tw.Process(ctx, root, name) // errors are collected by the walker
	}
	errs, count := tw.GetErrors()
	for _, e := range errs {
		rep.Errors = append(rep.Errors, e.Error())
	}
	if count > len(errs) {
		rep.Errors = append(rep.Errors, fmt.Sprintf("... and %d more problems", count-len(errs)))
	}
	rep.Objects, rep.ReadFiles, rep.ReadBytes = objects.Load(), readFiles.Load(), readBytes.Load()
	if len(rep.Errors) > 0 {
		return rep, r.errorf("verify", fmt.Errorf("%w: %d problems, first: %s", ErrCorrupt, count, rep.Errors[0]))
	}
	return rep, nil
}
