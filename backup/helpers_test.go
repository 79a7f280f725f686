package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/internal/fakeclock"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// memRepos is an in-memory stand-in for the repositories of every destination: snapshots are
// kept per destination; a destination can be made to fail or to block.
type memRepos struct {
	clock *fakeclock.Clock

	mu       sync.Mutex
	snaps    map[string][]Snapshot // by destination
	data     map[string][]byte     // snapshot id -> what its streams held
	fail     map[string]error      // destination -> error of Open
	block    chan struct{}         // when set, snapshots wait for it to close (or their ctx)
	started  chan string           // receives the destination of every snapshot that starts
	forgot   map[string][]string   // destination -> ids forgotten
	maint    map[string]int        // destination -> maintenance runs
	verified map[string]int        // destination -> verifications
	corrupt  map[string]error      // destination -> what Verify finds
	seq      int
	openedBy []string
}

func newMemRepos(c *fakeclock.Clock) *memRepos {
	return &memRepos{clock: c, snaps: map[string][]Snapshot{}, data: map[string][]byte{}, fail: map[string]error{},
		forgot: map[string][]string{}, maint: map[string]int{}, verified: map[string]int{}, corrupt: map[string]error{}, started: make(chan string, 100)}
}

func (m *memRepos) open(_ context.Context, name string, _ policy.Destination) (Repository, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.openedBy = append(m.openedBy, name)
	if err := m.fail[name]; err != nil {
		return nil, err
	}
	return &memRepo{m: m, dest: name}, nil
}

type memRepo struct {
	m    *memRepos
	dest string
}

func (r *memRepo) wait(ctx context.Context) error {
	r.m.started <- r.dest
	r.m.mu.Lock()
	block := r.m.block
	r.m.mu.Unlock()
	if block == nil {
		return nil
	}
	select {
	case <-block:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *memRepo) add(source string, data []byte, files int64) Snapshot {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	r.m.seq++
	now := r.m.clock.Now()
	s := Snapshot{ID: fmt.Sprintf("k%d", r.m.seq), Source: source, Time: now, EndTime: now, Files: files, Bytes: int64(len(data)), BytesAdded: int64(len(data)) / 2}
	r.m.snaps[r.dest] = append(r.m.snaps[r.dest], s)
	r.m.data[s.ID] = data
	return s
}

func (r *memRepo) SnapshotFiles(ctx context.Context, source string, spec FilesSpec, _ map[string]string, progress func(Progress)) (Snapshot, error) {
	if err := r.wait(ctx); err != nil {
		return Snapshot{}, err
	}
	progress(Progress{Files: int64(len(spec.Paths)), Bytes: 100})
	return r.add(source, []byte(fmt.Sprint(spec.Paths)), int64(len(spec.Paths))), nil
}

func (r *memRepo) SnapshotStreams(ctx context.Context, source string, streams []Stream, _ map[string]string, _ func(Progress)) (Snapshot, error) {
	if err := r.wait(ctx); err != nil {
		return Snapshot{}, err
	}
	var all []byte
	for _, s := range streams {
		rc, err := s.Open(ctx)
		if err != nil {
			return Snapshot{}, err
		}
		b, err := io.ReadAll(rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return Snapshot{}, fmt.Errorf("stream %s: %w", s.Name, err)
		}
		all = append(all, b...)
	}
	return r.add(source, all, int64(len(streams))), nil
}

func (r *memRepo) Snapshots(_ context.Context, source string) ([]Snapshot, error) {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	var out []Snapshot
	for _, s := range r.m.snaps[r.dest] {
		if s.Source == source {
			out = append(out, s)
		}
	}
	return out, nil
}

func (r *memRepo) Forget(_ context.Context, ids []string) error {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	r.m.forgot[r.dest] = append(r.m.forgot[r.dest], ids...)
	r.m.snaps[r.dest] = slices.DeleteFunc(r.m.snaps[r.dest], func(s Snapshot) bool { return slices.Contains(ids, s.ID) })
	return nil
}

func (r *memRepo) Maintenance(context.Context, bool) error {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	r.m.maint[r.dest]++
	return nil
}

func (r *memRepo) Close(context.Context) error { return nil }

func (r *memRepo) Verify(context.Context, float64) (VerifyReport, error) {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	r.m.verified[r.dest]++
	if err := r.m.corrupt[r.dest]; err != nil {
		return VerifyReport{Errors: []string{err.Error()}}, err
	}
	return VerifyReport{Snapshots: len(r.m.snaps[r.dest])}, nil
}

func (m *memRepos) snapshotIDs(dest string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for _, s := range m.snaps[dest] {
		ids = append(ids, s.ID)
	}
	return ids
}

// keepLast is a stand-in for the retention rules: it keeps the newest keep.Last snapshots.
func keepLast(keep policy.Keep, snaps []Snapshot, _ time.Time, _ *time.Location) []string {
	var forget []string
	for i, s := range snaps {
		if i < len(snaps)-keep.Last {
			forget = append(forget, s.ID)
		}
	}
	return forget
}

// ingested collects the results handed to monitoring.
type ingested struct {
	mu  sync.Mutex
	all []upkeep.Result
	ch  chan upkeep.Result
}

func newIngested() *ingested { return &ingested{ch: make(chan upkeep.Result, 100)} }

func (i *ingested) Ingest(r upkeep.Result) {
	i.mu.Lock()
	i.all = append(i.all, r)
	i.mu.Unlock()
	i.ch <- r
}

// fixture is a service over a real store in a temporary data directory.
type fixture struct {
	t      *testing.T
	dir    string
	db     *sqlite.DB
	clock  *fakeclock.Clock
	repos  *memRepos
	in     *ingested
	svc    *Service
	policy *policy.Policy
}

func newFixture(t *testing.T, doc string, start time.Time) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	db, err := sqlite.Open(t.Context(), dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, dir: dir, db: db, clock: fakeclock.New(start), in: newIngested()}
	f.repos = newMemRepos(f.clock)
	f.svc = f.newService()
	f.apply(doc)
	return f
}

func (f *fixture) newService() *Service {
	return New(Config{Store: f.db, DataDir: f.dir, Open: f.repos.open, Streams: testStreams, Retention: keepLast,
		Ingest: f.in, Clock: f.clock, Logger: slog.New(slog.NewTextHandler(f.t.Output(), nil))})
}

func (f *fixture) apply(doc string) {
	f.t.Helper()
	p, err := policy.Parse("t.yaml", []byte(doc), func(k string) (string, bool) { return "pw", k == "PW" })
	if err != nil {
		f.t.Fatal(err)
	}
	f.policy = p
	if err := f.svc.Apply(f.t.Context(), p); err != nil {
		f.t.Fatal(err)
	}
}

// run starts the service's scheduler and stops it when the test ends.
func (f *fixture) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.svc.Run(ctx) }()
	for !f.svc.ready() {
		time.Sleep(time.Millisecond)
	}
	f.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			f.t.Errorf("Run: %v", err)
		}
	})
}

// waitRun waits until run id has ended and returns it.
func (f *fixture) waitRun(id int64) upkeep.BackupRun {
	f.t.Helper()
	for {
		r, err := f.db.BackupRun(f.t.Context(), id)
		if err != nil {
			f.t.Fatal(err)
		}
		if r.Status != upkeep.BackupRunning {
			return r
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runs returns the runs of job, newest first.
func (f *fixture) runs(job string) []upkeep.BackupRun {
	f.t.Helper()
	rs, err := f.db.BackupRuns(f.t.Context(), job, 0, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return rs
}

// testStreams makes a command source's stream: its "run" is the data, or "fail" for a
// producer that fails.
func testStreams(_ context.Context, b *policy.Backup) ([]Stream, error) {
	if b.Command == nil {
		return nil, errors.New("only command sources in tests")
	}
	data := b.Command.Run.String()
	return []Stream{{Name: b.Command.Name, Open: func(context.Context) (io.ReadCloser, error) {
		if data == "fail" {
			return io.NopCloser(iotest.ErrReader(errors.New("exporter exited with status 3: disk full"))), nil
		}
		return io.NopCloser(strings.NewReader(data)), nil
	}}}, nil
}
