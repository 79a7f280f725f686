package drill

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/backup/repo"
	"github.com/upkeep-dev/upkeep/backup/source"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

const password = "drill-test-password"

// fixture is a backup job with its repositories on directory destinations, a store and a
// runner that reads the job through RepoBackups.
type fixture struct {
	t      *testing.T
	job    RepoJob
	store  *sqlite.DB
	runner *Runner
	clock  *clock
}

func newFixture(t *testing.T, job, sourceKind string, dests ...string) *fixture {
	t.Helper()
	if len(dests) == 0 {
		dests = []string{"onsite"}
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	f := &fixture{t: t, store: db, clock: &clock{}}
	f.job = RepoJob{Job: Job{Name: job, Source: sourceKind, Destinations: dests}, Repos: map[string]RepoDestination{}}
	for _, name := range dests {
		f.job.Repos[name] = RepoDestination{Destination: repo.Destination{Name: name, Path: filepath.Join(t.TempDir(), name)}, Password: password}
	}
	f.runner = &Runner{
		Backups: RepoBackups{Jobs: map[string]RepoJob{job: f.job}},
		Store:   db,
		WorkDir: t.TempDir(),
		Now:     f.clock.now,
	}
	return f
}

// repo opens destination dest the way the backup jobs do (with a cache of their own).
func (f *fixture) repo(dest string) *repo.Repo {
	f.t.Helper()
	d := f.job.Repos[dest]
	r, err := repo.Open(f.t.Context(), d.Destination, repo.Options{Password: password, StateDir: filepath.Join(f.t.TempDir(), "state")})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

// backupFiles snapshots paths to every destination and returns the last snapshot.
func (f *fixture) backupFiles(paths ...string) repo.Snapshot {
	f.t.Helper()
	f.job.Paths = paths
	f.runner.Backups.(RepoBackups).Jobs[f.job.Name] = f.job
	var snap repo.Snapshot
	for _, name := range f.job.Destinations {
		s, err := f.repo(name).SnapshotFiles(f.t.Context(), f.job.Name, repo.FilesSpec{Paths: paths}, nil, nil)
		if err != nil {
			f.t.Fatal(err)
		}
		snap = s
	}
	return snap
}

// backupStreams snapshots database streams to the first destination.
func (f *fixture) backupStreams(streams []source.Stream) repo.Snapshot {
	f.t.Helper()
	rs := make([]repo.Stream, len(streams))
	for i, s := range streams {
		rs[i] = repo.Stream{Name: s.Name, Open: s.Open}
	}
	snap, err := f.repo(f.job.Destinations[0]).SnapshotStreams(f.t.Context(), f.job.Name, rs, nil, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return snap
}

// clock is the runners' clock: the real time shifted by offset, and moved on by step at every
// reading when step is set (to make a drill take long without waiting).
type clock struct {
	mu     sync.Mutex
	offset time.Duration
	step   time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += c.step
	return time.Now().Add(c.offset)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
