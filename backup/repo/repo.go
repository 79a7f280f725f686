// Package repo is Upkeep's layer over kopia (github.com/kopia/kopia, pinned at v0.23.1): one
// encrypted, compressed, deduplicated repository per backup destination, on a local or mounted
// directory, an S3 bucket or an SFTP server.
//
// A repository is opened with Open, which creates it when the destination is empty. Backups are
// snapshots of a "source" (Upkeep's backup job name): either a file tree (SnapshotFiles) or a set
// of named streams such as database dumps (SnapshotStreams), which are read once each, straight
// into the repository, never staged on disk. Forget drops snapshots; only Maintenance frees the
// space they used. Verify checks the repository's consistency and re-reads a sample of the data.
//
// Each repository keeps kopia's connection file (which holds the destination's credentials) and
// its caches in a private state directory given by the caller (Options.StateDir, made 0700). The
// repository password never leaves this package: it is not logged nor part of any error.
//
// Kopia is used as a library rather than re-implemented: its format is documented and read by its
// own CLI (`kopia repository connect ...`), so a repository stays readable without Upkeep.
package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/content"
	"github.com/kopia/kopia/repo/maintenance"
)

// Destination is where one repository lives. Exactly one of Path, S3 and SFTP is set.
type Destination struct {
	// Name names the destination in errors and logs (the policy's destination name).
	Name string
	// Path is a local or mounted directory; it is created when missing.
	Path string
	S3   *S3
	SFTP *SFTP
}

// S3 is an S3-compatible bucket. Objects are addressed path-style (https://endpoint/bucket/key)
// for every endpoint except AWS's own, where virtual-hosted style is used when the bucket name
// allows it (minio-go's automatic choice, which kopia uses).
type S3 struct {
	// Endpoint is host[:port], or a URL whose scheme says whether TLS is used
	// (http://127.0.0.1:7070); empty means AWS (s3.amazonaws.com).
	Endpoint string
	Bucket   string
	// Prefix is prepended to every object name, e.g. "upkeep/".
	Prefix          string
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// DisableTLS talks plain HTTP to the endpoint (test servers on loopback only).
	DisableTLS bool
	// ObjectLockDays > 0 writes every object with an S3 object lock (COMPLIANCE mode) of that many
	// days, extended by maintenance; the bucket must have object lock enabled. It takes effect
	// when the repository is created.
	ObjectLockDays int
}

// SFTP is a directory on an SFTP server, reached with a private key; the server's host key must
// be in KnownHostsFile.
type SFTP struct {
	Host           string
	Port           int // 22 when zero
	User           string
	KeyFile        string
	KnownHostsFile string
	Path           string
}

// Options are the local settings of an open repository.
type Options struct {
	// Password encrypts the repository. There is no way to read a repository without it.
	Password string
	// StateDir is a private directory for this destination's kopia connection file (which holds
	// the destination's credentials) and caches. Created with mode 0700; never share it between
	// destinations.
	StateDir string
	// NoCache reads every byte from the destination (restore drills), using no local cache.
	NoCache bool
	// NoCreate never creates anything at the destination (restore drills): a destination that
	// holds no repository (an emptied S3 prefix, a deleted bucket or directory) gives an error
	// matching ErrNoRepository instead of a new, empty repository.
	NoCreate bool
	// ExclusiveMaintenance promises that no other process writes to this repository while
	// Maintenance runs, so maintenance may delete unreferenced data at once. Without it kopia's
	// safety margins apply: space of forgotten snapshots is freed by maintenance runs at least a
	// day after they were forgotten, which is safe with concurrent writers.
	ExclusiveMaintenance bool
}

// Errors that callers may test with errors.Is.
var (
	// ErrWrongPassword: the repository exists but the password does not open it.
	ErrWrongPassword = errors.New("wrong repository password")
	// ErrUnreachable: the destination could not be reached (network, permissions, missing bucket).
	ErrUnreachable = errors.New("destination unreachable")
	// ErrNotFound: no snapshot or entry by that name.
	ErrNotFound = errors.New("not found")
	// ErrNoRepository: the destination holds no repository (Options.NoCreate).
	ErrNoRepository = errors.New("repository not found")
)

// Where names the place of d's repository: a directory, s3://bucket/prefix or
// sftp://user@host:port/path. It holds no credentials.
func (d Destination) Where() string {
	switch {
	case d.S3 != nil:
		return "s3://" + d.S3.Bucket + "/" + d.S3.Prefix
	case d.SFTP != nil:
		port := d.SFTP.Port
		if port == 0 {
			port = 22
		}
		where := fmt.Sprintf("sftp://%s@%s:%d", d.SFTP.User, d.SFTP.Host, port)
		if !strings.HasPrefix(d.SFTP.Path, "/") {
			where += "/~/" // relative to the login directory
		}
		return where + d.SFTP.Path
	}
	return d.Path
}

// noRepository is the error of a destination that holds no repository.
func noRepository(d Destination) error {
	return fmt.Errorf("%w at %s (was it deleted?)", ErrNoRepository, d.Where())
}

// Repo is an open repository. Its methods may be called concurrently.
type Repo struct {
	name string
	dest Destination
	opts Options
	rep  repo.DirectRepository
	// shared: rep belongs to another Repo (see uncached), which closes it.
	shared bool

	closeOnce sync.Once
	closeErr  error
}

// Fixed identity of every Upkeep client, so that any Upkeep process may run maintenance and the
// snapshot sources are the same whichever machine wrote them.
const (
	clientUser = "upkeep"
	clientHost = "upkeep"
)

// connectionFile is kopia's connection file inside the state directory; drills reading without a
// cache use their own so that they do not disturb the cached connection.
func connectionFile(o Options) string {
	if o.NoCache {
		return filepath.Join(o.StateDir, "repository-nocache.config")
	}
	return filepath.Join(o.StateDir, "repository.config")
}

// Open opens the repository at d, creating it first when the destination holds none. A wrong
// password gives an error matching ErrWrongPassword, an unreachable destination one matching
// ErrUnreachable; both name the destination.
func Open(ctx context.Context, d Destination, o Options) (*Repo, error) {
	name := d.Name
	if name == "" {
		name = "(unnamed)"
	}
	fail := func(what string, err error) (*Repo, error) {
		return nil, fmt.Errorf("backup destination %q: %s: %w", name, what, err)
	}
	if o.Password == "" {
		return fail("opening the repository", errors.New("no repository password given"))
	}
	if o.StateDir == "" {
		return fail("opening the repository", errors.New("no state directory given"))
	}
	stateDir, err := filepath.Abs(o.StateDir)
	if err != nil {
		return fail("state directory", err)
	}
	o.StateDir = stateDir
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fail("creating the state directory", err)
	}
	if err := os.Chmod(stateDir, 0o700); err != nil {
		return fail("securing the state directory", err)
	}

	st, err := newStorage(ctx, d, !o.NoCreate)
	if err != nil {
		if o.NoCreate && errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("backup destination %q: %w", name, noRepository(d))
		}
		return fail("connecting", err)
	}
	defer st.Close(ctx) //nolint:errcheck // the repository opens its own storage from the connection file

	config := connectionFile(o)
	if !connectionMatches(config, st, o) {
		if err := connect(ctx, d, st, config, o); err != nil {
			if errors.Is(err, repo.ErrInvalidPassword) {
				return fail("opening the repository", ErrWrongPassword)
			}
			if errors.Is(err, ErrNoRepository) {
				return nil, fmt.Errorf("backup destination %q: %w", name, err)
			}
			return fail("opening the repository", err)
		}
	}
	rep, err := repo.Open(ctx, config, o.Password, openOptions(name))
	if err != nil {
		if errors.Is(err, repo.ErrInvalidPassword) {
			return fail("opening the repository", ErrWrongPassword)
		}
		return fail("opening the repository", err)
	}
	dr, ok := rep.(repo.DirectRepository)
	if !ok {
		_ = rep.Close(ctx)
		return fail("opening the repository", errors.New("not a direct repository"))
	}
	return &Repo{name: name, dest: d, opts: o, rep: dr}, nil
}

func openOptions(name string) *repo.Options {
	return &repo.Options{
		DisableRepositoryLog: true,
		// Kopia's default ends the process; an upgrade lock taken by another client (only the kopia
		// CLI does that) is reported and the operation fails instead.
		OnFatalError: func(err error) {
			slog.Error("backup repository: fatal kopia error", "destination", name, "err", err)
		},
	}
}

// cachingOptions are the local caches of a connection. Restores read through a connection
// without caches (see uncached).
func cachingOptions(o Options) content.CachingOptions {
	if o.NoCache {
		return content.CachingOptions{}
	}
	return content.CachingOptions{
		CacheDirectory:         filepath.Join(o.StateDir, "cache"),
		ContentCacheSizeBytes:  512 << 20,
		MetadataCacheSizeBytes: 512 << 20,
	}
}

// connectionMatches reports whether the connection file exists and points at the same storage
// with the same settings (credentials included) and the same caches as st and o ask for.
func connectionMatches(config string, st blob.Storage, o Options) bool {
	lc, err := repo.LoadConfigFromFile(config)
	if err != nil || lc.Storage == nil || lc.Caching == nil {
		return false
	}
	caching := cachingOptions(o)
	if lc.Caching.ContentCacheSizeBytes != caching.ContentCacheSizeBytes || lc.Caching.MetadataCacheSizeBytes != caching.MetadataCacheSizeBytes {
		return false
	}
	have, err1 := json.Marshal(lc.Storage)
	want, err2 := json.Marshal(st.ConnectionInfo())
	return err1 == nil && err2 == nil && string(have) == string(want)
}

// connect writes the connection file for st, creating the repository first if st holds none.
func connect(ctx context.Context, d Destination, st blob.Storage, config string, o Options) error {
	copts := &repo.ConnectOptions{
		ClientOptions: repo.ClientOptions{
			Hostname:    clientHost,
			Username:    clientUser,
			Description: "Upkeep backup destination " + d.Name,
		},
	}
	copts.CachingOptions = cachingOptions(o)
	err := repo.Connect(ctx, config, st, o.Password, copts)
	if o.NoCreate && errors.Is(err, repo.ErrRepositoryNotInitialized) {
		return noRepository(d) // an emptied prefix or a deleted bucket or directory
	}
	if !errors.Is(err, repo.ErrRepositoryNotInitialized) {
		return err
	}
	if err := initialize(ctx, d, st, o); err != nil {
		return err
	}
	if err := repo.Connect(ctx, config, st, o.Password, copts); err != nil {
		return err
	}
	return setMaintenanceParams(ctx, config, d, o)
}

// initialize creates a repository with kopia's defaults (AES256-GCM encryption, BLAKE2B hashing,
// content-defined chunking), plus object locks where asked.
func initialize(ctx context.Context, d Destination, st blob.Storage, o Options) error {
	var opts repo.NewRepositoryOptions
	if d.S3 != nil && d.S3.ObjectLockDays > 0 {
		opts.RetentionMode = blob.Compliance
		opts.RetentionPeriod = days(d.S3.ObjectLockDays)
	}
	err := repo.Initialize(ctx, st, &opts, o.Password)
	if errors.Is(err, repo.ErrAlreadyInitialized) { // created meanwhile by another process
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating the repository: %w", err)
	}
	slog.Info("backup repository created", "destination", d.Name)
	return nil
}

// setMaintenanceParams makes Upkeep the owner of the new repository's maintenance, and has
// maintenance extend object locks when they are used.
func setMaintenanceParams(ctx context.Context, config string, d Destination, o Options) error {
	rep, err := repo.Open(ctx, config, o.Password, openOptions(d.Name))
	if err != nil {
		return err
	}
	defer rep.Close(ctx) //nolint:errcheck
	return repo.WriteSession(ctx, rep, repo.WriteSessionOptions{Purpose: "upkeep: maintenance params"}, func(ctx context.Context, w repo.RepositoryWriter) error {
		p := maintenance.DefaultParams()
		p.Owner = clientUser + "@" + clientHost
		p.ExtendObjectLocks = d.S3 != nil && d.S3.ObjectLockDays > 0
		return maintenance.SetParams(ctx, w, &p)
	})
}

// uncached returns a connection to the same repository that reads with no cache, for restores:
// caching what a restore reads was measured to make it 2-3 times slower (every byte read is also
// written to the cache) for no gain, as a restore reads each piece once. Close it after use.
func (r *Repo) uncached(ctx context.Context) (*Repo, error) {
	if r.opts.NoCache {
		return &Repo{name: r.name, dest: r.dest, opts: r.opts, rep: r.rep, shared: true}, nil
	}
	o := r.opts
	o.NoCache = true
	return Open(ctx, r.dest, o)
}

// closeShared closes a Repo returned by uncached.
func (r *Repo) closeShared(ctx context.Context) {
	if !r.shared {
		_ = r.Close(ctx) // only read from: nothing to flush
	}
}

// Close releases the repository. It is safe to call more than once.
func (r *Repo) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		if err := r.rep.Close(ctx); err != nil {
			r.closeErr = r.errorf("closing the repository", err)
		}
	})
	return r.closeErr
}

// errorf wraps err with the destination's name and what was being done.
func (r *Repo) errorf(what string, err error) error {
	return fmt.Errorf("backup destination %q: %s: %w", r.name, what, err)
}
