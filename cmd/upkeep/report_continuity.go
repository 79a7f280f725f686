package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/report"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func newReportContinuityCmd(e *env, g *globalFlags) *cobra.Command {
	f := reportFlags{formats: report.ContinuityFormats}
	cmd := &cobra.Command{
		Use:   "continuity --period PERIOD [--service NAME]... [--format html|json] [--tz ZONE]",
		Short: "Write the continuity report: availability, incidents, backups, restore drills and a verdict per objective",
		Long: `Write the continuity report of each service (all services without --service), a document an
auditor or a customer can read: availability against the objective, the incidents with their
durations, links and reports, the backups (expected runs from the schedule, succeeded, partial,
failed, missed, per destination), the restore drills (passed and failed runs, measured RPO and
RTO against max_rpo and max_rto and their trend), and one verdict line per objective (met or
missed, by how much). See docs/reports.md.

` + periodHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, e, g, func(pol *policy.Policy, svcs []report.Service, p report.Period, db *sqlite.DB) error {
				now := time.Now()
				out, err := report.ComputeContinuity(cmd.Context(), db, pol, svcs, p, now)
				if err != nil {
					return err
				}
				return report.WriteContinuity(e.stdout, f.format, now, out)
			})
		},
	}
	f.add(cmd)
	return cmd
}
