package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep/backup"
	"github.com/upkeep-dev/upkeep/policy"
)

// snapshotsRow is a destination's snapshots as GET /api/v1/backups/{job}/snapshots shows them.
type snapshotsRow struct {
	Destination string        `json:"destination"`
	Snapshots   []snapshotRow `json:"snapshots"`
	Error       string        `json:"error,omitempty"`
}

type snapshotRow struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	EndTime    time.Time `json:"end_time"`
	Files      int64     `json:"files"`
	Bytes      int64     `json:"bytes"`
	BytesAdded int64     `json:"bytes_added"`
	Incomplete string    `json:"incomplete,omitempty"`
}

func newSnapshotsCmd(e *env, g *globalFlags) *cobra.Command {
	var (
		api  apiFlags
		dest string
	)
	cmd := &cobra.Command{
		Use:   "snapshots JOB",
		Short: "List the snapshots of a backup at each destination",
		Long: `List the snapshots of the backup JOB at each of its destinations (or only --destination),
newest first: id, time, files, size and what it added to the repository. With "upkeep serve" running on
the data directory the list comes from its API (--url/--token as for upkeep status); without one, this
command opens the repositories itself. A destination that cannot be read shows its error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			job := args[0]
			p, _, err := loadBackup(e, g, job)
			if err != nil {
				return err
			}
			unlock, err := lockDataDir(p.Server.DataDir)
			var inUse dataDirInUseError
			switch {
			case errors.As(err, &inUse):
				path := "/api/v1/backups/" + url.PathEscape(job) + "/snapshots"
				if dest != "" {
					path += "?destination=" + url.QueryEscape(dest)
				}
				get := func(c *apiClient, raw *json.RawMessage) error { return c.get(cmd.Context(), path, raw) }
				return api.call(cmd.Context(), e, g, get, func(raw json.RawMessage) error {
					var rows []snapshotsRow
					if err := json.Unmarshal(raw, &rows); err != nil {
						return fmt.Errorf("decoding snapshots: %w", err)
					}
					return printSnapshots(e.stdout, rows)
				})
			case err != nil:
				return err
			}
			defer unlock()
			rows, err := localSnapshots(cmd.Context(), e, p, job, dest)
			if err != nil {
				return err
			}
			if api.json {
				return json.NewEncoder(e.stdout).Encode(rows)
			}
			return printSnapshots(e.stdout, rows)
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&dest, "destination", "", "only this destination")
	return cmd
}

// loadPolicy reads the policy, with the --data and environment overrides applied.
func loadPolicy(e *env, g *globalFlags) (*policy.Policy, policySource, error) {
	src, err := resolvePolicySource(e, g)
	if err != nil {
		return nil, src, err
	}
	p, err := src.load(e)
	if err != nil {
		return nil, src, policyError(src, err)
	}
	if err := resolveOverrides(e, g, "").apply(p); err != nil {
		return nil, src, err
	}
	return p, src, nil
}

// loadBackup reads the policy (loadPolicy) and finds its backup named job.
func loadBackup(e *env, g *globalFlags, job string) (*policy.Policy, *policy.Backup, error) {
	p, src, err := loadPolicy(e, g)
	if err != nil {
		return nil, nil, err
	}
	b := p.Backup(job)
	if b == nil {
		return nil, nil, fmt.Errorf("policy %s has no backup named %q", src, job)
	}
	return p, b, nil
}

// localSnapshots lists the snapshots by opening the repositories in this process.
func localSnapshots(ctx context.Context, e *env, p *policy.Policy, job, dest string) ([]snapshotsRow, error) {
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	svc := newBackups(nil, p.Server.DataDir, nil, logger) // listing snapshots records nothing: no store
	if err := svc.Apply(ctx, p); err != nil {
		return nil, err
	}
	list, err := svc.Snapshots(ctx, job, dest)
	if err != nil {
		if errors.Is(err, backup.ErrUnknownDestination) {
			return nil, fmt.Errorf("backup %q does not write to a destination named %q", job, dest)
		}
		return nil, err
	}
	rows := make([]snapshotsRow, 0, len(list))
	for _, d := range list {
		row := snapshotsRow{Destination: d.Destination, Snapshots: []snapshotRow{}}
		if d.Err != nil {
			row.Error = d.Err.Error()
		}
		for i := len(d.Snapshots) - 1; i >= 0; i-- {
			s := d.Snapshots[i]
			row.Snapshots = append(row.Snapshots, snapshotRow{s.ID, s.Time.UTC(), s.EndTime.UTC(), s.Files, s.Bytes, s.BytesAdded, s.Incomplete})
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func printSnapshots(w io.Writer, rows []snapshotsRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DESTINATION\tSNAPSHOT\tTIME\tFILES\tSIZE\tADDED")
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\tERROR: %s\t\t\t\t\n", r.Destination, r.Error)
			continue
		}
		if len(r.Snapshots) == 0 {
			fmt.Fprintf(tw, "%s\t(none)\t\t\t\t\n", r.Destination)
		}
		for _, s := range r.Snapshots {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.Destination, s.ID, s.Time.Local().Format("2006-01-02 15:04:05"), s.Files, bytesText(s.Bytes), bytesText(s.BytesAdded))
		}
	}
	return tw.Flush()
}
