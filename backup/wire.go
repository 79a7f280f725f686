package backup

// The seam between the runner and the packages that do the work: backup/repo (kopia
// repositories), backup/source (database dumps, command output) and backup/retention (the keep
// rules). The runner knows them only through Repository, StreamsFunc and RetentionFunc, so its
// tests use in-memory fakes; Wiring is the real thing.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep/backup/repo"
	"github.com/upkeep-dev/upkeep/backup/retention"
	"github.com/upkeep-dev/upkeep/backup/source"
	"github.com/upkeep-dev/upkeep/policy"
)

// Wiring is the real implementation of the runner's seams, for a data directory.
type Wiring struct {
	DataDir string
}

// Open opens the repository of destination name: each destination keeps kopia's configuration,
// credentials and caches in a private directory of its own, DataDir/backups/repos/<name>.
func (w Wiring) Open(ctx context.Context, name string, d policy.Destination) (Repository, error) {
	r, err := w.OpenRepo(ctx, name, d, false)
	if err != nil {
		return nil, err
	}
	return repoAdapter{r}, nil
}

// OpenRepo opens the repository of destination name itself, for restores and verification;
// noCache reads every byte from the destination.
func (w Wiring) OpenRepo(ctx context.Context, name string, d policy.Destination, noCache bool) (*repo.Repo, error) {
	pw, err := DestinationPassword(d)
	if err != nil {
		return nil, fmt.Errorf("backup destination %q: %w", name, err)
	}
	return repo.Open(ctx, RepoDestination(name, d), repo.Options{Password: pw, StateDir: w.StateDir(name), NoCache: noCache})
}

// RepoDestination converts a policy destination into backup/repo's.
func RepoDestination(name string, d policy.Destination) repo.Destination {
	out := repo.Destination{Name: name, Path: d.Path}
	if s := d.S3; s != nil {
		out.S3 = &repo.S3{Endpoint: s.Endpoint, Bucket: s.Bucket, Prefix: s.Prefix, Region: s.Region,
			AccessKeyID: s.AccessKeyID.Reveal(), SecretAccessKey: s.SecretAccessKey.Reveal(),
			DisableTLS: strings.HasPrefix(s.Endpoint, "http://"), ObjectLockDays: s.ObjectLockDays}
	}
	if s := d.SFTP; s != nil {
		out.SFTP = &repo.SFTP{Host: s.Host, Port: s.Port, User: s.User, KeyFile: s.KeyFile, KnownHostsFile: s.KnownHosts, Path: s.Path}
	}
	return out
}

// repoAdapter makes a *repo.Repo a Repository: the same methods over this package's types.
type repoAdapter struct{ r *repo.Repo }

func (a repoAdapter) SnapshotFiles(ctx context.Context, source string, spec FilesSpec, tags map[string]string, progress func(Progress)) (Snapshot, error) {
	s, err := a.r.SnapshotFiles(ctx, source, repo.FilesSpec{Paths: spec.Paths, Exclude: spec.Exclude, OneFileSystem: spec.OneFileSystem}, tags, progressOf(progress))
	return snapshotOf(s), err
}

func (a repoAdapter) SnapshotStreams(ctx context.Context, source string, streams []Stream, tags map[string]string, progress func(Progress)) (Snapshot, error) {
	rs := make([]repo.Stream, len(streams))
	for i, st := range streams {
		rs[i] = repo.Stream{Name: st.Name, Open: st.Open}
	}
	s, err := a.r.SnapshotStreams(ctx, source, rs, tags, progressOf(progress))
	return snapshotOf(s), err
}

func (a repoAdapter) Snapshots(ctx context.Context, source string) ([]Snapshot, error) {
	ss, err := a.r.Snapshots(ctx, source)
	out := make([]Snapshot, len(ss))
	for i, s := range ss {
		out[i] = snapshotOf(s)
	}
	return out, err
}

func (a repoAdapter) Forget(ctx context.Context, ids []string) error { return a.r.Forget(ctx, ids) }
func (a repoAdapter) Maintenance(ctx context.Context, full bool) error {
	return a.r.Maintenance(ctx, full)
}
func (a repoAdapter) Close(ctx context.Context) error { return a.r.Close(ctx) }

func (a repoAdapter) Verify(ctx context.Context, readData float64) (VerifyReport, error) {
	r, err := a.r.Verify(ctx, readData)
	return VerifyReport(r), err
}

func progressOf(p func(Progress)) func(repo.Progress) {
	if p == nil {
		return nil
	}
	return func(rp repo.Progress) { p(Progress(rp)) }
}

func snapshotOf(s repo.Snapshot) Snapshot { return Snapshot(s) }

// StateDir is the private directory of destination name's repository state.
func (w Wiring) StateDir(name string) string {
	return filepath.Join(w.DataDir, "backups", "repos", name)
}

// Streams produces the streams of a non-files source.
func (w Wiring) Streams(ctx context.Context, b *policy.Backup) ([]Stream, error) {
	var (
		ss  []source.Stream
		err error
	)
	switch {
	case b.Postgres != nil:
		ss, err = source.Postgres(ctx, b.Postgres.DSN.Reveal(), source.PostgresOptions{Databases: b.Postgres.Databases, Exclude: b.Postgres.Exclude})
	case b.MySQL != nil:
		ss, err = source.MySQL(ctx, b.MySQL.DSN.Reveal(), source.MySQLOptions{Databases: b.MySQL.Databases})
	case b.SQLite != nil:
		ss, err = source.SQLite(ctx, b.SQLite.Path)
	case b.Command != nil:
		ss, err = source.Command(ctx, source.CommandSpec{Argv: b.Command.Run.Argv, Shell: b.Command.Run.Shell, Name: b.Command.Name,
			Env: []string{"UPKEEP_BACKUP_JOB=" + b.Name}})
	default:
		return nil, fmt.Errorf("backup %q has no stream source", b.Name)
	}
	if err != nil {
		return nil, err
	}
	out := make([]Stream, len(ss))
	for i, st := range ss {
		out[i] = Stream(st)
	}
	return out, nil
}

// Retention returns the keep rules of backup/retention (restic's forget --keep-* rules).
func (w Wiring) Retention() RetentionFunc { return forgetByRules }

func forgetByRules(keep policy.Keep, snaps []Snapshot, _ time.Time, loc *time.Location) []string {
	rules := retention.Rules{Last: keep.Last, Hourly: keep.Hourly, Daily: keep.Daily, Weekly: keep.Weekly,
		Monthly: keep.Monthly, Yearly: keep.Yearly, Within: keep.Within.Duration}
	if rules.IsZero() {
		return nil
	}
	rs := make([]retention.Snapshot, len(snaps))
	for i, s := range snaps {
		rs[i] = retention.Snapshot{ID: s.ID, Time: s.Time}
	}
	var forget []string
	for _, d := range retention.Apply(rules, rs, loc) {
		if !d.Keep {
			forget = append(forget, d.Snapshot.ID)
		}
	}
	return forget
}

// DestinationPassword returns the repository password of d: its password (from the
// environment), or the first line of its password file. The error never contains the password.
func DestinationPassword(d policy.Destination) (string, error) {
	if d.PasswordFile == "" {
		if d.Password.Reveal() == "" {
			return "", errors.New("the destination has no repository password")
		}
		return d.Password.Reveal(), nil
	}
	f, err := os.Open(d.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("reading the repository password: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return "", fmt.Errorf("reading the repository password from %s: %w", d.PasswordFile, err)
		}
		return "", fmt.Errorf("the password file %s is empty", d.PasswordFile)
	}
	pw := strings.TrimRight(sc.Text(), "\r")
	if pw == "" {
		return "", fmt.Errorf("the first line of the password file %s is empty", d.PasswordFile)
	}
	return pw, nil
}
