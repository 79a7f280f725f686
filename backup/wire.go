package backup

// The seam between the runner and the packages that do the work: backup/repo (kopia
// repositories), backup/source (database dumps, command output) and backup/retention (the keep
// rules). They were written beside this package; until they are wired here, Upkeep runs its
// backup jobs, records and monitors them, but every destination fails with errNotWired.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/upkeep-dev/upkeep/policy"
)

// errNotWired is what a destination reports while the repository layer is not wired in.
var errNotWired = errors.New("backup repositories are not part of this build yet (backup/repo is not wired into package backup)")

// Wiring is the real implementation of the runner's seams, for a data directory.
type Wiring struct {
	DataDir string
}

// Open opens the repository of destination name: each destination keeps kopia's configuration,
// credentials and caches in a private directory of its own, DataDir/backups/repos/<name>.
func (w Wiring) Open(ctx context.Context, name string, d policy.Destination) (Repository, error) {
	if _, err := DestinationPassword(d); err != nil {
		return nil, err
	}
	return nil, errNotWired
}

// StateDir is the private directory of destination name's repository state.
func (w Wiring) StateDir(name string) string {
	return filepath.Join(w.DataDir, "backups", "repos", name)
}

// Streams produces the streams of a non-files source.
func (w Wiring) Streams(ctx context.Context, b *policy.Backup) ([]Stream, error) {
	return nil, fmt.Errorf("%s sources are not part of this build yet (backup/source is not wired into package backup)", b.Source())
}

// Retention returns nil until backup/retention is wired: every snapshot is kept.
func (w Wiring) Retention() RetentionFunc { return nil }

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
