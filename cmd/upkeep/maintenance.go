package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// windowRow is a maintenance window as the API shows it.
type windowRow struct {
	ID          string    `json:"id"`
	Source      string    `json:"source"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Services    []string  `json:"services"`
	Monitors    []string  `json:"monitors"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Recurring   string    `json:"recurring"`
	Notify      []string  `json:"notify"`
	State       string    `json:"state"`
}

func newMaintenanceCmd(e *env, g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "maintenance",
		Short: "List, start, schedule and end maintenance windows (on the running server)",
		Long: `Maintenance windows of the running server. While a window is active, the monitors it covers
show "maintenance", open no incidents and their time is left out of availability. Windows declared
in the policy (maintenance:) are listed too; these commands add and end ad-hoc ones. They need the
server's URL (--url, $UPKEEP_URL, or the policy's listen address) and an API token (--token or
$UPKEEP_TOKEN).`,
	}
	cmd.AddCommand(newMaintenanceListCmd(e, g), newMaintenanceCreateCmd(e, g, "start"), newMaintenanceCreateCmd(e, g, "schedule"),
		newMaintenanceEndCmd(e, g))
	return cmd
}

// runWindowAPI makes one API request about a window and prints the window it answers with.
func runWindowAPI(ctx context.Context, e *env, g *globalFlags, api *apiFlags, do func(*apiClient, *json.RawMessage) error) error {
	return api.call(ctx, e, g, do, func(raw json.RawMessage) error {
		var row windowRow
		if err := json.Unmarshal(raw, &row); err != nil {
			return fmt.Errorf("decoding the maintenance window: %w", err)
		}
		return printWindow(e.stdout, row)
	})
}

func newMaintenanceListCmd(e *env, g *globalFlags) *cobra.Command {
	var (
		api   apiFlags
		state string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List maintenance windows: active, then upcoming, then past",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			get := func(c *apiClient, raw *json.RawMessage) error {
				return c.get(cmd.Context(), "/api/v1/maintenance?state="+url.QueryEscape(state), raw)
			}
			return api.call(cmd.Context(), e, g, get, func(raw json.RawMessage) error {
				var rows []windowRow
				if err := json.Unmarshal(raw, &rows); err != nil {
					return fmt.Errorf("decoding maintenance windows: %w", err)
				}
				return printWindows(e.stdout, rows)
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&state, "state", "", "upcoming, active or past (default: all)")
	return cmd
}

func newMaintenanceCreateCmd(e *env, g *globalFlags, verb string) *cobra.Command {
	var (
		api                                    apiFlags
		start, end, tz, description, notBefore string
		forDur                                 time.Duration
		services, monitors, notify             []string
	)
	cmd := &cobra.Command{
		Use:  verb + " TITLE",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (end == "") == (forDur == 0) {
				return errors.New("give the window's end with --end or its length with --for (one of them)")
			}
			if verb == "schedule" && start == "" {
				return errors.New("--start is required (use \"upkeep maintenance start\" for a window that starts now)")
			}
			body := map[string]any{"title": args[0], "description": description, "services": services, "monitors": monitors,
				"start": start, "end": end, "tz": tz, "notify": notify, "notify_before": notBefore}
			if forDur > 0 {
				body["duration"] = forDur.String()
			}
			return runWindowAPI(cmd.Context(), e, g, &api, func(c *apiClient, raw *json.RawMessage) error {
				return c.post(cmd.Context(), "/api/v1/maintenance", body, raw)
			})
		},
	}
	if verb == "start" {
		cmd.Short = "Start a maintenance window now"
	} else {
		cmd.Short = "Schedule a maintenance window"
		cmd.Flags().StringVar(&start, "start", "", `when it starts: RFC 3339 or "2026-12-01 02:00" (in --tz)`)
		cmd.Flags().StringVar(&notBefore, "notify-before", "", `when the scheduled notice goes out, before the start (default 24h; "0s": none)`)
	}
	api.register(cmd)
	cmd.Flags().StringVar(&end, "end", "", `when it ends: RFC 3339 or "2026-12-01 04:00" (in --tz)`)
	cmd.Flags().DurationVar(&forDur, "for", 0, "how long it lasts (instead of --end), e.g. 2h")
	cmd.Flags().StringVar(&tz, "tz", "", "time zone of --start and --end without an offset, e.g. Europe/Berlin (default UTC)")
	cmd.Flags().StringVarP(&description, "description", "d", "", "what is done and what users will notice")
	cmd.Flags().StringSliceVar(&services, "service", nil, "service under maintenance (repeat, or separate with commas)")
	cmd.Flags().StringSliceVar(&monitors, "monitor", nil, "monitor under maintenance (repeat, or separate with commas)")
	cmd.Flags().StringSliceVar(&notify, "notify", nil, "channel that gets the window's notices (repeat, or separate with commas)")
	return cmd
}

func newMaintenanceEndCmd(e *env, g *globalFlags) *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "end ID",
		Short: "End an active maintenance window now, or cancel an upcoming one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := strings.TrimPrefix(args[0], "#")
			return runWindowAPI(cmd.Context(), e, g, &api, func(c *apiClient, raw *json.RawMessage) error {
				return c.post(cmd.Context(), "/api/v1/maintenance/"+url.PathEscape(id)+"/end", struct{}{}, raw)
			})
		},
	}
	api.register(cmd)
	return cmd
}

func printWindows(w io.Writer, rows []windowRow) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no maintenance windows")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSTART\tEND\tCOVERS\tTITLE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.State, r.Start.UTC().Format("2006-01-02 15:04Z"),
			r.End.UTC().Format("2006-01-02 15:04Z"), orDash(covers(r)), truncate(r.Title, 60))
	}
	return tw.Flush()
}

func covers(r windowRow) string {
	var parts []string
	for _, s := range r.Services {
		parts = append(parts, "service "+s)
	}
	for _, m := range r.Monitors {
		parts = append(parts, "monitor "+m)
	}
	return strings.Join(parts, ", ")
}

func printWindow(w io.Writer, r windowRow) error {
	fmt.Fprintf(w, "maintenance %s: %s (%s, from the %s)\n", r.ID, r.Title, r.State, map[string]string{"policy": "policy", "api": "API"}[r.Source])
	fmt.Fprintf(w, "%s to %s", r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339))
	if r.Recurring != "" {
		fmt.Fprintf(w, " (next occurrence of %s)", r.Recurring)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "covers: %s\n", orDash(covers(r)))
	if len(r.Notify) > 0 {
		fmt.Fprintf(w, "notices to: %s\n", strings.Join(r.Notify, ", "))
	}
	if r.Description != "" {
		fmt.Fprintln(w, r.Description)
	}
	return nil
}
