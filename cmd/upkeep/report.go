package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep/report"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func newReportCmd(e *env, g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Service level reports",
	}
	cmd.AddCommand(newReportSLACmd(e, g))
	return cmd
}

func newReportSLACmd(e *env, g *globalFlags) *cobra.Command {
	var services []string
	var period, format, tz string
	cmd := &cobra.Command{
		Use:   "sla --period PERIOD [--service NAME]... [--format html|json|csv] [--tz ZONE]",
		Short: "Write the availability of services over a period against their objectives",
		Long: `Write the service level report of each service (all services without --service): measured
availability against services[].objectives.availability, the downtime budget, outages, mean time
to recover, a per-day breakdown (per month for a year) and the nines table. See docs/reports.md.

PERIOD is a month (2026-10), a quarter (2026-Q4), a year (2026) or days (2026-10-01..2026-10-15),
in --tz (an IANA zone such as Europe/Paris; default UTC). The report is computed offline from the
data directory (it works whether or not the server is running) and written to standard output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(report.Formats, format) {
				return fmt.Errorf("--format %q: use html, json or csv", format)
			}
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return fmt.Errorf("--tz %q: not a known time zone (use an IANA name such as Europe/Paris)", tz)
			}
			p, err := report.ParsePeriod(period, loc)
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
			svcs, err := report.Services(pol, services)
			if err != nil {
				return fmt.Errorf("--service %w", err)
			}
			return withStore(cmd.Context(), e, g, func(db *sqlite.DB) error {
				var out []*report.SLA
				now := time.Now()
				for _, s := range svcs {
					r, err := report.Compute(cmd.Context(), db, s, p, now)
					if err != nil {
						return err
					}
					out = append(out, r)
				}
				return report.Write(e.stdout, format, out)
			})
		},
	}
	cmd.Flags().StringSliceVar(&services, "service", nil, "service to report on (repeatable; default: every service)")
	cmd.Flags().StringVar(&period, "period", "", "month 2026-10, quarter 2026-Q4, year 2026, or days 2026-10-01..2026-10-15")
	cmd.Flags().StringVar(&format, "format", "html", "html (printable), json or csv")
	cmd.Flags().StringVar(&tz, "tz", "UTC", "time zone of the period's days")
	_ = cmd.MarkFlagRequired("period")
	return cmd
}
