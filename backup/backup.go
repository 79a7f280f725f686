// Package backup runs the backup jobs of the policy: on their schedule, at startup for a run
// missed while Upkeep was down (catch_up), and on demand (API, CLI). A run takes the job's
// lock, runs the before hook, writes the source to every destination, applies retention at
// each destination that succeeded, runs the after hook and records everything in the store.
//
// The repositories (backup/repo, kopia), the data producers (backup/source) and the retention
// rules (backup/retention) sit behind the small interfaces below (Repository, OpenFunc,
// StreamsFunc, RetentionFunc), so the runner is tested with in-memory fakes and its callers
// wire the real packages (see wire.go).
//
// # Destinations
//
// A run writes to every destination of the job, one after the other; a destination that fails
// does not stop the others. Each destination gets its own, fresh read of the source (a database
// is dumped once per destination): streams are read exactly once, straight into the repository,
// never staged on disk, and every copy is complete and consistent on its own. The run is
// succeeded when every destination has the snapshot, partial when some do, failed when none does
// (or a hook failed, or it timed out). Partial is a failure for monitoring.
//
// # One run per job, one writer per destination
//
// A job's lock is an flock on DataDir/backups/locks/<job>.lock, taken without waiting: a second
// run of the same job, from this process or another (upkeep backup run beside a server), is
// refused with ErrRunning. The kernel releases an flock when its process dies, so a crash cannot
// leave a job locked; the run's row, left "running" in the store, is marked failed
// ("interrupted") by the next process that opens the data directory (Service.Run). Jobs that
// share a destination take turns writing to it: a repository has one writer at a time in this
// process, so its connection state and maintenance are never used concurrently.
//
// # Monitoring
//
// Every job is a monitor of kind backup (the policy adds it). A run that ends hands the engine
// a result: up when it succeeded, down when it failed or was partial. The engine also asks the
// job's evaluator every few seconds whether the next scheduled run is overdue: when no run has
// started within grace of a slot, the monitor is down ("missed"), reported once per slot.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/heartbeat/cron"
	"github.com/upkeep-dev/upkeep/internal/jobsched"
	"github.com/upkeep-dev/upkeep/policy"
)

// ErrRunning is returned when a run of the job is already going on.
var ErrRunning = errors.New("a run of this backup is already in progress")

// ErrUnknownJob is returned for a job that the policy in force does not have.
var ErrUnknownJob = errors.New("no such backup in the policy")

// ErrUnknownDestination is returned for a destination the job does not write to.
var ErrUnknownDestination = errors.New("no such destination of the backup")

// Stream is one file of a streams snapshot (a database dump, a command's output). Its Read or
// Close returns an error when its producer failed, so a failed dump is never stored as complete.
type Stream struct {
	Name string
	Open func(context.Context) (io.ReadCloser, error)
}

// FilesSpec says which files a files snapshot holds.
type FilesSpec struct {
	Paths         []string
	Exclude       []string
	OneFileSystem bool
}

// Progress is how far a snapshot has got.
type Progress struct {
	Files, Bytes, BytesTotal int64
	Current                  string
}

// Snapshot is a snapshot in a repository.
type Snapshot struct {
	ID            string
	Source        string
	Time, EndTime time.Time
	Tags          map[string]string
	Files, Dirs   int64
	Bytes         int64 // the snapshot's size
	BytesAdded    int64 // new content this snapshot added to the repository
	Incomplete    string
}

// Repository is the repository at one destination. backup/repo's Repo implements it through
// the adapter in wire.go.
type Repository interface {
	SnapshotFiles(ctx context.Context, source string, spec FilesSpec, tags map[string]string, progress func(Progress)) (Snapshot, error)
	SnapshotStreams(ctx context.Context, source string, streams []Stream, tags map[string]string, progress func(Progress)) (Snapshot, error)
	// Snapshots returns the snapshots of source, oldest first.
	Snapshots(ctx context.Context, source string) ([]Snapshot, error)
	Forget(ctx context.Context, ids []string) error
	// Maintenance frees the space of forgotten snapshots.
	Maintenance(ctx context.Context, full bool) error
	// Verify checks the repository and re-reads a fraction (0 to 1) of the content; a damaged
	// repository gives an error and the problems in the report.
	Verify(ctx context.Context, readData float64) (VerifyReport, error)
	Close(ctx context.Context) error
}

// VerifyReport is what Verify checked and found.
type VerifyReport struct {
	Snapshots int
	Objects   int64
	ReadFiles int64
	ReadBytes int64
	Errors    []string
}

// OpenFunc opens (creating it if the destination is empty) the repository of destination name.
type OpenFunc func(ctx context.Context, name string, d policy.Destination) (Repository, error)

// StreamsFunc produces the streams of a job whose source is not files (postgres, mysql, sqlite,
// command). It is called once per destination.
type StreamsFunc func(ctx context.Context, b *policy.Backup) ([]Stream, error)

// RetentionFunc returns the ids of the snapshots that keep does not keep at now. snaps is
// oldest first. A zero keep keeps everything.
type RetentionFunc func(keep policy.Keep, snaps []Snapshot, now time.Time, loc *time.Location) []string

// Store is where runs are recorded; *sqlite.DB implements it.
type Store interface {
	StartBackupRun(ctx context.Context, r upkeep.BackupRun) (int64, error)
	RecordBackupDestination(ctx context.Context, run int64, d upkeep.BackupDestinationResult) error
	FinishBackupRun(ctx context.Context, id int64, status upkeep.BackupStatus, end time.Time, runErr string) error
	RecordMissedBackup(ctx context.Context, job string, scheduled, noticed time.Time, why string) (int64, error)
	InterruptBackupRuns(ctx context.Context, now time.Time) ([]upkeep.BackupRun, error)
	LastBackupRuns(ctx context.Context) (last, lastRun map[string]upkeep.BackupRun, err error)
	StartBackupVerification(ctx context.Context, v upkeep.BackupVerification) (int64, error)
	FinishBackupVerification(ctx context.Context, v upkeep.BackupVerification) error
	InterruptBackupVerifications(ctx context.Context, now time.Time) (int, error)
}

// Ingester takes the results of runs: the monitoring engine. Ingest must not block.
type Ingester interface {
	Ingest(upkeep.Result)
}

// Config is what New needs. Store, DataDir and Open are required.
type Config struct {
	Store   Store
	DataDir string // the data directory: locks live in DataDir/backups/locks
	Open    OpenFunc
	// Streams produces the streams of non-files sources; nil: such jobs fail saying so.
	Streams StreamsFunc
	// Retention decides what to forget; nil: nothing is forgotten (every snapshot is kept).
	Retention RetentionFunc
	Ingest    Ingester     // nil: runs are not reported to monitoring
	Clock     engine.Clock // nil: the real clock
	Logger    *slog.Logger // nil: discard
}

// Event is a step of a run, for progress displays.
type Event struct {
	Run         int64
	Job         string
	Destination string // empty for events of the whole run
	// What happened: "start", "hook", "destination", "progress", "destination done", "done".
	Kind     string
	Progress Progress                        // for "progress"
	Result   *upkeep.BackupDestinationResult // for "destination done"
	Message  string
}

// Service runs the backup jobs of the policy in force.
type Service struct {
	store     Store
	dataDir   string
	open      OpenFunc
	streams   StreamsFunc
	retention RetentionFunc
	ingest    Ingester
	clock     engine.Clock
	log       *slog.Logger

	mu        sync.Mutex
	jobs      map[string]*job
	dests     map[string]policy.Destination
	destLocks map[string]chan struct{} // one writer per destination repository at a time
	runCtx    context.Context          // set by Run: background runs live as long as it
	wake      chan struct{}            // the schedule changed
	runs      sync.WaitGroup           // background runs
}

// job is the service's state of one backup job. Fields after mu are guarded by Service.mu.
type job struct {
	name  string
	pol   policy.Backup
	sched *cron.Schedule
	loc   *time.Location

	since time.Time // when this process started watching the job
	next  time.Time // the next scheduled run; zero: not scheduled
	// The job's verify and maintenance schedules (nil: none) and their next slots.
	verifySched, maintSched *cron.Schedule
	nextVerify, nextMaint   time.Time
	verifying, maintaining  bool  // a scheduled verification or maintenance is going on
	running                 int64 // the id of the run in progress; 0 when none
	// lastStart is the start (or slot) of the newest run, missed slots excluded: the next run is
	// due after it.
	lastStart time.Time
	lastRun   *upkeep.BackupRun // the newest finished run, missed slots included
	overdue   jobsched.Watch    // the missed slots reported
}

// New returns a service; call Apply with a policy and Run to start scheduling.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = engine.RealClock{}
	}
	return &Service{
		store: cfg.Store, dataDir: cfg.DataDir, open: cfg.Open, streams: cfg.Streams, retention: cfg.Retention,
		ingest: cfg.Ingest, clock: cfg.Clock, log: cfg.Logger,
		jobs: map[string]*job{}, dests: map[string]policy.Destination{}, destLocks: map[string]chan struct{}{}, wake: make(chan struct{}, 1),
	}
}

// Apply makes the backups of p the jobs the service runs, at start and on every reload. A job
// keeps its state (and a run in progress goes on) when its settings change; a removed job is no
// longer scheduled.
func (s *Service) Apply(_ context.Context, p *policy.Policy) error {
	now := s.clock.Now()
	var errs []error
	s.mu.Lock()
	defer s.mu.Unlock()
	jobs := make(map[string]*job, len(p.Backups))
	for _, b := range p.Backups {
		sched, err := b.Cron()
		if err != nil {
			errs = append(errs, fmt.Errorf("backup %q: schedule: %w", b.Name, err))
			continue
		}
		j := s.jobs[b.Name]
		if j == nil {
			j = &job{name: b.Name, since: now}
		}
		if j.sched == nil || j.sched.String() != sched.String() || j.sched.Location() != sched.Location() {
			j.next = time.Time{} // recomputed by the scheduler
		}
		j.pol, j.sched, j.loc = b, sched, sched.Location()
		j.verifySched, j.maintSched, j.nextVerify, j.nextMaint = nil, nil, time.Time{}, time.Time{}
		if b.Verify != nil {
			if j.verifySched, err = cron.Parse(b.Verify.Schedule, j.loc); err != nil {
				errs = append(errs, fmt.Errorf("backup %q: verify schedule: %w", b.Name, err))
			}
		}
		if b.Maintenance != nil {
			if j.maintSched, err = cron.Parse(b.Maintenance.Schedule, j.loc); err != nil {
				errs = append(errs, fmt.Errorf("backup %q: maintenance schedule: %w", b.Name, err))
			}
		}
		jobs[b.Name] = j
	}
	s.jobs = jobs
	s.dests = make(map[string]policy.Destination, len(p.Destinations))
	for name, d := range p.Destinations {
		s.dests[name] = d
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return errors.Join(errs...)
}

// JobStatus is a job as the API lists it.
type JobStatus struct {
	Name     string
	Service  string
	Source   string
	Schedule string
	TZ       string
	To       []string
	Next     time.Time         // the next scheduled run; zero when unknown
	Running  int64             // the id of the run in progress; 0 when none
	LastRun  *upkeep.BackupRun // the newest finished run (missed slots included); nil when none
}

// Jobs returns the jobs of the policy in force, in policy order is not kept: sorted by name.
func (s *Service) Jobs() []JobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobStatus, 0, len(s.jobs))
	for _, j := range s.jobs {
		st := JobStatus{Name: j.name, Service: j.pol.Service, Source: j.pol.Source(), Schedule: j.pol.Schedule, TZ: j.pol.TZ,
			To: append([]string(nil), j.pol.To...), Next: j.next, Running: j.running}
		if j.lastRun != nil {
			r := *j.lastRun
			st.LastRun = &r
		}
		out = append(out, st)
	}
	sortJobs(out)
	return out
}

// Has reports whether the policy in force has a backup named name.
func (s *Service) Has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobs[name] != nil
}

// lockDir is where the jobs' lock files are.
func (s *Service) lockDir() string { return filepath.Join(s.dataDir, "backups", "locks") }

func (s *Service) lockJob(name string) (unlock func(), err error) {
	dir := s.lockDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the backup lock directory: %w", err)
	}
	return lockFile(filepath.Join(dir, name+".lock"))
}

// lockDestination waits until this process has no other writer on destination name.
func (s *Service) lockDestination(ctx context.Context, name string) (unlock func(), err error) {
	s.mu.Lock()
	ch := s.destLocks[name]
	if ch == nil {
		ch = make(chan struct{}, 1)
		s.destLocks[name] = ch
	}
	s.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}
