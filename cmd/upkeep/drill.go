package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/httpapi"
	"github.com/upkeep-dev/upkeep/policy"
)

func newDrillCmd(e *env, g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drill",
		Short: "Run restore drills and show their history",
	}
	var asJSON bool
	history := &cobra.Command{
		Use:   "history NAME",
		Short: "Show the runs of the drill NAME, newest first",
		Long: `Show the runs of the restore drill NAME, newest first: status, destination, snapshot,
measured RTO and RPO against the limits, time per phase (fetch, restore, verify) and the reason of
a failure. --json prints every field, with each verify step's result.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return drillHistory(cmd.Context(), e, g, args[0], asJSON)
		},
	}
	history.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(newDrillRunCmd(e, g), history)
	return cmd
}

// loadDrill reads the policy (loadPolicy) and finds its drill called name.
func loadDrill(e *env, g *globalFlags, name string) (*policy.Policy, *policy.Drill, error) {
	p, src, err := loadPolicy(e, g)
	if err != nil {
		return nil, nil, err
	}
	for i := range p.Drills {
		if p.Drills[i].Name == name {
			return p, &p.Drills[i], nil
		}
	}
	return nil, nil, fmt.Errorf("policy %s has no drill named %q", src, name)
}

func drillHistory(ctx context.Context, e *env, g *globalFlags, name string, asJSON bool) error {
	p, _, err := loadDrill(e, g, name)
	if err != nil {
		return err
	}
	db, err := openStoreForCommand(ctx, e, p.Server.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	runs, err := db.DrillRuns(ctx, name, 100)
	if err != nil {
		return fmt.Errorf("reading the runs of drill %s: %w", name, err)
	}
	if asJSON {
		out := make([]httpapi.DrillRun, len(runs))
		for i := range runs {
			out[i] = httpapi.DrillRunOf(&runs[i])
		}
		return json.NewEncoder(e.stdout).Encode(out)
	}
	return printDrillRuns(e.stdout, name, runs)
}

func printDrillRuns(w io.Writer, name string, runs []upkeep.DrillRun) error {
	if len(runs) == 0 {
		_, err := fmt.Fprintf(w, "drill %s has not run yet\n", name)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tSTATUS\tDESTINATION\tSNAPSHOT\tRTO\tRPO\tFETCH/RESTORE/VERIFY\tREASON")
	for _, r := range runs {
		snap := "-"
		if r.SnapshotID != "" {
			snap = r.SnapshotID[:min(8, len(r.SnapshotID))]
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Started.Local().Format("2006-01-02 15:04:05"),
			strings.ToUpper(string(r.Status)), r.Destination, snap, limited(r.RTO, r.MaxRTO), limited(r.RPO, r.MaxRPO),
			fmt.Sprintf("%s/%s/%s", roundDur(r.Fetch), roundDur(r.Restore), roundDur(r.Verify)), truncate(r.Reason, 60))
	}
	return tw.Flush()
}

// limited shows a measurement with its limit: "12s (max 15m0s)".
func limited(d, limit time.Duration) string {
	if d == 0 {
		return "-"
	}
	if limit == 0 {
		return roundDur(d)
	}
	return roundDur(d) + " (max " + limit.String() + ")"
}

func roundDur(d time.Duration) string {
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}
