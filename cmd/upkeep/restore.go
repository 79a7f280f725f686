package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep/backup"
	"github.com/upkeep-dev/upkeep/backup/repo"
	"github.com/upkeep-dev/upkeep/backup/restore"
	"github.com/upkeep-dev/upkeep/policy"
)

type restoreFlags struct {
	snapshot, at, destination string
	to, toPostgres, toMySQL   string
	toSQLite                  string
	force, globals, noOwner   bool
	json                      bool
	rename                    map[string]string
}

func newRestoreCmd(e *env, g *globalFlags) *cobra.Command {
	var f restoreFlags
	cmd := &cobra.Command{
		Use:   "restore JOB (--to PATH | --to-postgres DSN | --to-mysql DSN | --to-sqlite PATH)",
		Short: "Restore a snapshot of a backup",
		Long: `Restore a snapshot of the backup JOB: the newest one, the one given with --snapshot (an id or a
unique prefix of one, as upkeep snapshots shows), or the newest taken at or before --at
(RFC 3339, or "2026-11-23 06:00" in UTC). It is read from --destination, else from the first of the
job's destinations that has it. Every byte is read from the destination (no local cache).

--to PATH writes a files backup's tree under PATH (contents, modes, modification times, symbolic
links), or a database or command backup's files (the dumps as they were taken). PATH must be empty
or missing unless --force is given. --to-postgres, --to-mysql and --to-sqlite load a database
backup's dumps into a server or file (see docs/backups.md, "Restoring databases"); a target that
holds data is refused unless --force is given, which replaces it.

On a terminal a progress bar shows the bytes and files restored, the rate and the time left (the
snapshot's size is known); otherwise a plain line is printed every second. --json prints only one
JSON object at the end: job, destination, snapshot, time, files, bytes and seconds.

This command works on this machine, with or without "upkeep serve" running.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return restoreRun(cmd.Context(), e, g, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.snapshot, "snapshot", "", "snapshot id (or a unique prefix); default: the newest")
	fl.StringVar(&f.at, "at", "", "restore the newest snapshot taken at or before this time")
	fl.StringVar(&f.destination, "destination", "", "read from this destination (default: the first that has the snapshot)")
	fl.StringVar(&f.to, "to", "", "restore the files into this directory")
	fl.StringVar(&f.toPostgres, "to-postgres", "", "restore the PostgreSQL dumps into the server of this DSN")
	fl.StringVar(&f.toMySQL, "to-mysql", "", "restore the MySQL/MariaDB dumps into the server of this DSN")
	fl.StringVar(&f.toSQLite, "to-sqlite", "", "restore the SQLite database to this file")
	fl.BoolVar(&f.force, "force", false, "overwrite a non-empty target")
	fl.BoolVar(&f.globals, "globals", false, "--to-postgres: also restore globals.sql (roles, tablespaces)")
	fl.BoolVar(&f.noOwner, "no-owner", false, "--to-postgres: restore without owners and privileges (everything belongs to the restoring role)")
	fl.BoolVar(&f.json, "json", false, "print no progress, only the outcome as a JSON object")
	fl.StringToStringVar(&f.rename, "rename", nil, "restore database OLD of the backup as NEW (OLD=NEW; --to-postgres, --to-mysql)")
	return cmd
}

func restoreRun(ctx context.Context, e *env, g *globalFlags, job string, f restoreFlags) error {
	targets := 0
	for _, t := range []string{f.to, f.toPostgres, f.toMySQL, f.toSQLite} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		return errors.New("give exactly one target: --to PATH, --to-postgres DSN, --to-mysql DSN or --to-sqlite PATH")
	}
	if f.snapshot != "" && f.at != "" {
		return errors.New("give --snapshot or --at, not both")
	}
	var at time.Time
	if f.at != "" {
		var err error
		if at, err = parseAt(f.at); err != nil {
			return err
		}
	}
	p, b, err := loadBackup(e, g, job)
	if err != nil {
		return err
	}
	if f.to == "" && b.Files != nil {
		return fmt.Errorf("backup %q is a files backup: restore it with --to PATH", job)
	}
	if f.toPostgres != "" && b.Postgres == nil || f.toMySQL != "" && b.MySQL == nil || f.toSQLite != "" && b.SQLite == nil {
		return fmt.Errorf("backup %q is a %s backup: restore it with --to PATH%s", job, b.Source(), map[string]string{
			policy.SourcePostgres: " or --to-postgres DSN", policy.SourceMySQL: " or --to-mysql DSN", policy.SourceSQLite: " or --to-sqlite PATH"}[b.Source()])
	}
	dests := b.To
	if f.destination != "" {
		if !slices.Contains(b.To, f.destination) {
			return fmt.Errorf("backup %q does not write to a destination named %q (it writes to %s)", job, f.destination, strings.Join(b.To, ", "))
		}
		dests = []string{f.destination}
	}
	if f.to != "" {
		if err := checkTarget(f.to, f.force); err != nil {
			return err
		}
	}

	w := backup.Wiring{DataDir: p.Server.DataDir}
	var errs []error
	for _, d := range dests {
		r, err := w.OpenRepo(ctx, d, p.Destinations[d], true)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		snap, err := pickSnapshot(ctx, r, job, f.snapshot, at)
		if err != nil {
			_ = r.Close(ctx)
			errs = append(errs, fmt.Errorf("%s: %w", d, err))
			continue
		}
		m := newMeter(e.stdout)
		if f.json {
			m = newMeter(io.Discard)
		} else {
			m.println(fmt.Sprintf("restoring snapshot %s of %s (taken %s) from %s", snap.ID, job, snap.Time.Local().Format("2006-01-02 15:04:05"), d))
		}
		start := time.Now()
		progress := func(p repo.Progress) {
			s := progressState{Label: "restoring", Files: p.Files, Bytes: p.Bytes, Total: snap.Bytes, Elapsed: time.Since(start)}
			m.show(s, fmt.Sprintf("  %d files, %s of %s", p.Files, bytesText(p.Bytes), bytesText(snap.Bytes)))
		}
		err = restoreSnapshot(ctx, r, snap.ID, b, f, progress)
		m.clear()
		if cerr := r.Close(context.WithoutCancel(ctx)); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		took := time.Since(start)
		if f.json {
			return json.NewEncoder(e.stdout).Encode(restoreOutcome{Job: job, Destination: d, Snapshot: snap.ID, Time: snap.Time,
				Files: snap.Files, Bytes: snap.Bytes, Seconds: took.Seconds()})
		}
		fmt.Fprintf(e.stdout, "restored %d files, %s in %s\n", snap.Files, bytesText(snap.Bytes), took.Round(time.Millisecond))
		return nil
	}
	return fmt.Errorf("nothing restored: %w", errors.Join(errs...))
}

// restoreOutcome is what upkeep restore --json prints.
type restoreOutcome struct {
	Job         string    `json:"job"`
	Destination string    `json:"destination"`
	Snapshot    string    `json:"snapshot"`
	Time        time.Time `json:"time"` // when the snapshot was taken
	Files       int64     `json:"files"`
	Bytes       int64     `json:"bytes"`
	Seconds     float64   `json:"seconds"` // how long the restore took
}

// restoreSnapshot restores snapshot id of backup b to the target of f, reporting its progress.
func restoreSnapshot(ctx context.Context, r *repo.Repo, id string, b *policy.Backup, f restoreFlags, progress func(repo.Progress)) error {
	if f.to != "" && b.Files != nil {
		return r.RestoreFiles(ctx, id, f.to, progress)
	}
	names, err := r.Entries(ctx, id)
	if err != nil {
		return err
	}
	open := countedOpen(func(ctx context.Context, name string) (io.ReadCloser, error) { return r.OpenEntry(ctx, id, name) }, progress)
	if f.to != "" {
		return restoreEntries(ctx, id, names, open, f.to)
	}
	o := restore.Options{Force: f.force, Rename: f.rename, Globals: f.globals, NoOwner: f.noOwner}
	switch {
	case f.toPostgres != "":
		err = restore.Postgres(ctx, f.toPostgres, names, open, o)
	case f.toMySQL != "":
		err = restore.MySQL(ctx, f.toMySQL, names, open, o)
	default:
		err = restore.SQLite(ctx, f.toSQLite, names, open, o)
	}
	return err
}

// parseAt reads --at: RFC 3339, or "2006-01-02 15:04[:05]" in UTC.
func parseAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--at %q: give an RFC 3339 time (2026-11-23T06:00:00Z) or \"2026-11-23 06:00\" (UTC)", s)
}

// checkTarget refuses a target directory that has something in it, unless forced.
func checkTarget(path string, force bool) error {
	entries, err := os.ReadDir(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("restore target %s: %w", path, err)
	case len(entries) > 0 && !force:
		return fmt.Errorf("restore target %s is not empty; give --force to overwrite what is there", path)
	}
	return nil
}

// pickSnapshot finds the snapshot to restore: by id or unique id prefix, else the newest at or
// before at (zero: the newest).
func pickSnapshot(ctx context.Context, r *repo.Repo, job, id string, at time.Time) (repo.Snapshot, error) {
	snaps, err := r.Snapshots(ctx, job)
	if err != nil {
		return repo.Snapshot{}, err
	}
	if id != "" {
		var found []repo.Snapshot
		for _, s := range snaps {
			if s.ID == id {
				return s, nil
			}
			if strings.HasPrefix(s.ID, id) {
				found = append(found, s)
			}
		}
		switch len(found) {
		case 0:
			return repo.Snapshot{}, fmt.Errorf("no snapshot %q of %s", id, job)
		case 1:
			return found[0], nil
		}
		return repo.Snapshot{}, fmt.Errorf("%d snapshots of %s start with %q; give more of the id", len(found), job, id)
	}
	for i := len(snaps) - 1; i >= 0; i-- {
		if at.IsZero() || !snaps[i].Time.After(at) {
			return snaps[i], nil
		}
	}
	if at.IsZero() {
		return repo.Snapshot{}, fmt.Errorf("no snapshots of %s yet", job)
	}
	return repo.Snapshot{}, fmt.Errorf("no snapshot of %s taken at or before %s", job, at.Format(time.RFC3339))
}

// restoreEntries writes the files names of a streams snapshot (dumps, command output) under dir.
func restoreEntries(ctx context.Context, id string, names []string, open restore.Opener, dir string) error {
	for _, name := range names {
		if err := restoreEntry(ctx, id, name, open, dir); err != nil {
			return err
		}
	}
	return nil
}

func restoreEntry(ctx context.Context, id, name string, open restore.Opener, dir string) error {
	path := filepath.Join(dir, filepath.FromSlash(name))
	if !strings.HasPrefix(path, filepath.Clean(dir)+string(filepath.Separator)) {
		return fmt.Errorf("snapshot %s: entry %q is outside the target", id, name)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	rc, err := open(ctx, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return fmt.Errorf("restoring %s: %w", name, err)
	}
	return out.Close()
}

// countedOpen wraps open so that what is read from the entries it opens is reported to
// progress: the bytes so far and the entries opened (as files).
func countedOpen(open restore.Opener, progress func(repo.Progress)) restore.Opener {
	var p repo.Progress
	var mu sync.Mutex
	return func(ctx context.Context, name string) (io.ReadCloser, error) {
		rc, err := open(ctx, name)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		p.Files++
		mu.Unlock()
		return &countingReader{ReadCloser: rc, add: func(n int) {
			mu.Lock()
			p.Bytes += int64(n)
			now := p
			mu.Unlock()
			progress(now)
		}}, nil
	}
}

type countingReader struct {
	io.ReadCloser
	add func(int)
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	if n > 0 {
		c.add(n)
	}
	return n, err
}
