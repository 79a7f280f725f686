package backup

import (
	"context"
	"fmt"

	"github.com/upkeep-dev/upkeep/drill"
	"github.com/upkeep-dev/upkeep/policy"
)

// DrillBackups is the restore drills' view of the policy's backup jobs (drill.Backups): what
// each job backs up and where, and its destinations' repositories opened without a cache.
// Passwords are read when a repository is opened, so a missing password file fails only the
// drills that need it.
func DrillBackups(p *policy.Policy) drill.Backups { return drillBackups{p} }

type drillBackups struct{ p *policy.Policy }

func (b drillBackups) backup(name string) (*policy.Backup, error) {
	for i := range b.p.Backups {
		if b.p.Backups[i].Name == name {
			return &b.p.Backups[i], nil
		}
	}
	return nil, fmt.Errorf("no backup job %q", name)
}

func (b drillBackups) Job(name string) (drill.Job, error) {
	j, err := b.backup(name)
	if err != nil {
		return drill.Job{}, err
	}
	out := drill.Job{Name: j.Name, Source: j.Source(), Destinations: j.To}
	if j.Files != nil {
		out.Paths = j.Files.Paths
	}
	return out, nil
}

func (b drillBackups) OpenUncached(ctx context.Context, job, dest, stateDir string) (drill.Repository, error) {
	j, err := b.Job(job)
	if err != nil {
		return nil, err
	}
	d, ok := b.p.Destinations[dest]
	if !ok {
		return nil, fmt.Errorf("no destination %q", dest)
	}
	pw, err := DestinationPassword(d)
	if err != nil {
		return nil, fmt.Errorf("backup destination %q: %w", dest, err)
	}
	rb := drill.RepoBackups{Jobs: map[string]drill.RepoJob{job: {Job: j,
		Repos: map[string]drill.RepoDestination{dest: {Destination: RepoDestination(dest, d), Password: pw}}}}}
	return rb.OpenUncached(ctx, job, dest, stateDir)
}
