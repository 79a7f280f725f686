package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/report"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func newReportCmd(e *env, g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Service level and continuity reports",
	}
	cmd.AddCommand(newReportSLACmd(e, g), newReportContinuityCmd(e, g))
	return cmd
}

const periodHelp = `PERIOD is a month (2026-10), a quarter (2026-Q4), a year (2026) or days (2026-10-01..2026-10-15),
in --tz (an IANA zone such as Europe/Paris; default UTC). The report is computed offline from the
data directory (it works whether or not the server is running) and written to standard output.`

func newReportSLACmd(e *env, g *globalFlags) *cobra.Command {
	f := reportFlags{formats: report.Formats}
	cmd := &cobra.Command{
		Use:   "sla --period PERIOD [--service NAME]... [--format html|json|csv] [--tz ZONE]",
		Short: "Write the availability of services over a period against their objectives",
		Long: `Write the service level report of each service (all services without --service): measured
availability against services[].objectives.availability, the downtime budget, outages, mean time
to recover, a per-day breakdown (per month for a year) and the nines table. See docs/reports.md.

` + periodHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, e, g, func(_ *policy.Policy, svcs []report.Service, p report.Period, db *sqlite.DB) error {
				out, err := report.ComputeAll(cmd.Context(), db, svcs, p, time.Now())
				if err != nil {
					return err
				}
				return report.Write(e.stdout, f.format, out)
			})
		},
	}
	f.add(cmd)
	return cmd
}

// reportFlags are the flags of the report commands.
type reportFlags struct {
	formats            []string
	services           []string
	period, format, tz string
}

func (f *reportFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.services, "service", nil, "service to report on (repeatable; default: every service)")
	cmd.Flags().StringVar(&f.period, "period", "", "month 2026-10, quarter 2026-Q4, year 2026, or days 2026-10-01..2026-10-15")
	cmd.Flags().StringVar(&f.format, "format", "html", strings.Join(f.formats, ", ")+" (html is printable)")
	cmd.Flags().StringVar(&f.tz, "tz", "UTC", "time zone of the period's days")
	_ = cmd.MarkFlagRequired("period")
}

// run checks the flags, loads the policy, opens the store and calls fn with the services and
// the period to report on.
func (f *reportFlags) run(cmd *cobra.Command, e *env, g *globalFlags, fn func(*policy.Policy, []report.Service, report.Period, *sqlite.DB) error) error {
	if err := report.CheckFormat(f.format, f.formats); err != nil {
		return fmt.Errorf("--%w", err)
	}
	loc, err := time.LoadLocation(f.tz)
	if err != nil {
		return fmt.Errorf("--tz %q: not a known time zone (use an IANA name such as Europe/Paris)", f.tz)
	}
	p, err := report.ParsePeriod(f.period, loc)
	if err != nil {
		return fmt.Errorf("--period: %w", err)
	}
	src, err := resolvePolicySource(e, g)
	if err != nil {
		return err
	}
	pol, err := src.load(e)
	if err != nil {
		return policyError(src, err)
	}
	svcs, err := report.Services(pol, f.services)
	if err != nil {
		return fmt.Errorf("--service %w", err)
	}
	return withStore(cmd.Context(), e, g, func(db *sqlite.DB) error { return fn(pol, svcs, p, db) })
}
