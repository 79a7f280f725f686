package drill

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/upkeep-dev/upkeep/backup/repo"
)

// RepoBackups implements Backups over backup/repo for jobs whose destinations and repository
// passwords the caller already knows; backup.DrillBackups builds them from the policy.
type RepoBackups struct {
	Jobs map[string]RepoJob
}

// RepoJob is a backup job with its destinations' repositories.
type RepoJob struct {
	Job
	// Repos maps each destination name to its repository and password.
	Repos map[string]RepoDestination
}

// RepoDestination is where one destination's repository is and how it is opened.
type RepoDestination struct {
	Destination repo.Destination
	Password    string
}

// Job describes the job called name.
func (b RepoBackups) Job(name string) (Job, error) {
	j, ok := b.Jobs[name]
	if !ok {
		return Job{}, fmt.Errorf("no backup job %q", name)
	}
	return j.Job, nil
}

// OpenUncached opens the repository of destination dest of job with repo.Options.NoCache and
// the private, empty stateDir, so that nothing is read from a local cache, and NoCreate: a drill
// never writes to a destination, and a destination that holds no repository any more fails it
// with an error matching ErrDestinationGone.
func (b RepoBackups) OpenUncached(ctx context.Context, job, dest, stateDir string) (Repository, error) {
	j, ok := b.Jobs[job]
	if !ok {
		return nil, fmt.Errorf("no backup job %q", job)
	}
	d, ok := j.Repos[dest]
	if !ok {
		return nil, fmt.Errorf("backup %s is not written to destination %q", job, dest)
	}
	if err := present(d.Destination); err != nil {
		return nil, err
	}
	r, err := repo.Open(ctx, d.Destination, repo.Options{Password: d.Password, StateDir: stateDir, NoCache: true, NoCreate: true})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ErrDestinationGone is returned (wrapped) when a destination holds no repository any more: a
// directory removed or emptied, an S3 prefix emptied or its bucket deleted, an SFTP directory
// removed.
var ErrDestinationGone = repo.ErrNoRepository

// present checks that a directory destination still holds something: an empty directory holds
// no repository (kopia would see one without its format blob, which NoCreate reports too, but
// this names the case plainly).
func present(d repo.Destination) error {
	if d.Path == "" {
		return nil // S3 and SFTP: repo.Open with NoCreate finds out
	}
	entries, err := os.ReadDir(d.Path)
	if err == nil && len(entries) == 0 {
		return fmt.Errorf("backup destination %q: %w at %s (was it deleted? the directory is empty)", d.Name, ErrDestinationGone, d.Where())
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup destination %q: %w at %s (was it deleted? the directory does not exist)", d.Name, ErrDestinationGone, d.Where())
	}
	return nil // other errors: repo.Open says what they are
}
