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
// the private, empty stateDir, so that nothing is read from a local cache.
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
	r, err := repo.Open(ctx, d.Destination, repo.Options{Password: d.Password, StateDir: stateDir, NoCache: true})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ErrDestinationGone is returned (wrapped) when a destination holds no repository any more.
var ErrDestinationGone = errors.New("the destination holds no repository")

// present checks that a directory destination still holds a repository: repo.Open would create
// a new, empty one, and a drill must never write to a destination.
func present(d repo.Destination) error {
	if d.Path == "" {
		return nil // S3 and SFTP: an empty destination shows as a repository without snapshots
	}
	entries, err := os.ReadDir(d.Path)
	if err != nil || len(entries) == 0 {
		reason := "it is empty"
		if err != nil {
			reason = err.Error()
		}
		return fmt.Errorf("backup destination %q: %w (%s)", d.Name, ErrDestinationGone, reason)
	}
	return nil
}
