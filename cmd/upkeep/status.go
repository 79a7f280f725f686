package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// monitorRow is a monitor as GET /api/v1/monitors shows it.
type monitorRow struct {
	Name       string     `json:"name"`
	Service    string     `json:"service"`
	Kind       string     `json:"kind"`
	State      string     `json:"state"`
	Since      *time.Time `json:"since"`
	LastResult *struct {
		Time      time.Time `json:"time"`
		OK        bool      `json:"ok"`
		LatencyMS float64   `json:"latency_ms"`
		Error     string    `json:"error"`
	} `json:"last_result"`
	Uptime map[string]*float64 `json:"uptime"`
}

func newStatusCmd(e *env, g *globalFlags) *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every monitor and its state (from the running server)",
		Long: `Show every monitor of the running server: state, since when, the last check's latency and
error, and uptime over 24 hours and 30 days. Reads GET /api/v1/monitors, so it needs the server's URL
(--url, $UPKEEP_URL, or the policy's listen address) and an API token (--token or $UPKEEP_TOKEN).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			get := func(c *apiClient, raw *json.RawMessage) error {
				return c.get(cmd.Context(), "/api/v1/monitors", raw)
			}
			return api.call(cmd.Context(), e, g, get, func(raw json.RawMessage) error {
				var rows []monitorRow
				if err := json.Unmarshal(raw, &rows); err != nil {
					return fmt.Errorf("decoding monitors: %w", err)
				}
				return printStatus(e.stdout, rows, time.Now())
			})
		},
	}
	api.register(cmd)
	cmd.AddCommand(newStatusExportCmd(e, g))
	return cmd
}

func printStatus(w io.Writer, rows []monitorRow, now time.Time) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no monitors in the policy")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MONITOR\tSERVICE\tKIND\tSTATE\tSINCE\tLATENCY\tUPTIME 24H\tUPTIME 30D\tLAST ERROR")
	for _, r := range rows {
		since, latency, lastErr := "-", "-", ""
		if r.Since != nil {
			since = roundAgo(now.Sub(*r.Since))
		}
		if r.LastResult != nil {
			latency = fmt.Sprintf("%.0fms", r.LastResult.LatencyMS)
			lastErr = r.LastResult.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, orDash(r.Service), r.Kind, strings.ToUpper(r.State),
			since, latency, percent(r.Uptime["24h"]), percent(r.Uptime["30d"]), truncate(lastErr, 60))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// percent shows a fraction as a percentage with enough digits to tell the nines apart.
func percent(f *float64) string {
	if f == nil {
		return "no data"
	}
	return fmt.Sprintf("%.3f%%", *f*100)
}

func roundAgo(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1fh ago", d.Hours())
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
