package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/notify"
	"github.com/upkeep-dev/upkeep/policy"
)

// incidentRow is an incident as the API shows it.
type incidentRow struct {
	ID              int64      `json:"id"`
	Title           string     `json:"title"`
	Status          string     `json:"status"`
	Impact          string     `json:"impact"`
	Services        []string   `json:"services"`
	Automatic       bool       `json:"automatic"`
	StartedAt       time.Time  `json:"started_at"`
	AcknowledgedAt  *time.Time `json:"acknowledged_at"`
	AcknowledgedBy  string     `json:"acknowledged_by"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	DurationSeconds *float64   `json:"duration_seconds"`
	Monitors        []struct {
		Monitor string `json:"monitor"`
		State   string `json:"state"`
		Failing bool   `json:"failing"`
	} `json:"monitors"`
	Timeline []upkeep.TimelineEntry `json:"timeline"`
	Report   *upkeep.IncidentReport `json:"report"`
}

func newIncidentCmd(e *env, g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incident",
		Short: "Declare, update, acknowledge, resolve and list incidents (on the running server)",
		Long: `Incidents of the running server. Monitors open and resolve incidents by themselves; these
commands declare manual ones, post updates, acknowledge (which stops the escalation), resolve, and
show them. They need the server's URL (--url, $UPKEEP_URL, or the policy's listen address) and an
API token (--token or $UPKEEP_TOKEN).`,
	}
	cmd.AddCommand(newIncidentOpenCmd(e, g), newIncidentUpdateCmd(e, g, "update"), newIncidentUpdateCmd(e, g, "resolve"),
		newIncidentAckCmd(e, g), newIncidentListCmd(e, g), newIncidentShowCmd(e, g), newIncidentReportCmd(e, g))
	return cmd
}

// runAPI resolves the client, calls fn, and prints the incident it returns.
// runAPI makes one API request about an incident and prints the incident it answers with.
func runAPI(ctx context.Context, e *env, g *globalFlags, api *apiFlags, do func(*apiClient, *json.RawMessage) error) error {
	return api.call(ctx, e, g, do, func(raw json.RawMessage) error {
		var row incidentRow
		if err := json.Unmarshal(raw, &row); err != nil {
			return fmt.Errorf("decoding the incident: %w", err)
		}
		return printIncident(e.stdout, row)
	})
}

func newIncidentOpenCmd(e *env, g *globalFlags) *cobra.Command {
	var (
		api      apiFlags
		status   string
		impact   string
		message  string
		services []string
	)
	cmd := &cobra.Command{
		Use:   "open TITLE",
		Short: "Declare an incident",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"title": args[0], "status": status, "impact": impact, "services": services, "message": message}
			return runAPI(cmd.Context(), e, g, &api, func(c *apiClient, raw *json.RawMessage) error {
				return c.post(cmd.Context(), "/api/v1/incidents", body, raw)
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&status, "status", "investigating", "investigating, identified, monitoring or resolved")
	cmd.Flags().StringVar(&impact, "impact", "minor", "none, minor, major or critical")
	cmd.Flags().StringVarP(&message, "message", "m", "", "the first update (default: the title)")
	cmd.Flags().StringSliceVar(&services, "service", nil, "affected service (repeat, or separate with commas)")
	return cmd
}

func newIncidentUpdateCmd(e *env, g *globalFlags, verb string) *cobra.Command {
	var (
		api     apiFlags
		status  string
		impact  string
		message string
	)
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: "Post an update to an incident (status, impact, message)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIncidentID(args[0])
			if err != nil {
				return err
			}
			if verb == "resolve" {
				status = string(upkeep.StatusResolved)
			}
			body := map[string]string{"status": status, "impact": impact, "message": message}
			return runAPI(cmd.Context(), e, g, &api, func(c *apiClient, raw *json.RawMessage) error {
				return c.post(cmd.Context(), fmt.Sprintf("/api/v1/incidents/%d/updates", id), body, raw)
			})
		},
	}
	if verb == "resolve" {
		cmd.Short = "Resolve an incident (every channel that was paged is told)"
	} else {
		cmd.Flags().StringVar(&status, "status", "", "new status: investigating, identified, monitoring or resolved")
		cmd.Flags().StringVar(&impact, "impact", "", "new impact: none, minor, major or critical")
	}
	api.register(cmd)
	cmd.Flags().StringVarP(&message, "message", "m", "", "the update's text")
	return cmd
}

func newIncidentAckCmd(e *env, g *globalFlags) *cobra.Command {
	var (
		api apiFlags
	)
	cmd := &cobra.Command{
		Use:   "ack ID",
		Short: "Acknowledge an incident: its escalation stops",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIncidentID(args[0])
			if err != nil {
				return err
			}
			return runAPI(cmd.Context(), e, g, &api, func(c *apiClient, raw *json.RawMessage) error {
				return c.post(cmd.Context(), fmt.Sprintf("/api/v1/incidents/%d/ack", id), struct{}{}, raw)
			})
		},
	}
	api.register(cmd)
	return cmd
}

func newIncidentShowCmd(e *env, g *globalFlags) *cobra.Command {
	var (
		api apiFlags
	)
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show an incident with its timeline and report",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIncidentID(args[0])
			if err != nil {
				return err
			}
			return runAPI(cmd.Context(), e, g, &api, func(c *apiClient, raw *json.RawMessage) error {
				return c.get(cmd.Context(), fmt.Sprintf("/api/v1/incidents/%d", id), raw)
			})
		},
	}
	api.register(cmd)
	return cmd
}

func newIncidentReportCmd(e *env, g *globalFlags) *cobra.Command {
	var (
		api                         apiFlags
		cause, measures, prevention string
	)
	cmd := &cobra.Command{
		Use:   "report ID",
		Short: "Write the report (post-mortem) of a resolved incident; the timeline is generated",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIncidentID(args[0])
			if err != nil {
				return err
			}
			body := map[string]string{"cause": cause, "measures": measures, "prevention": prevention}
			return runAPI(cmd.Context(), e, g, &api, func(c *apiClient, raw *json.RawMessage) error {
				return c.put(cmd.Context(), fmt.Sprintf("/api/v1/incidents/%d/report", id), body, raw)
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&cause, "cause", "", "what caused the incident")
	cmd.Flags().StringVar(&measures, "measures", "", "what was done about it")
	cmd.Flags().StringVar(&prevention, "prevention", "", "what prevents it from happening again")
	return cmd
}

func newIncidentListCmd(e *env, g *globalFlags) *cobra.Command {
	var (
		api   apiFlags
		state string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List incidents, open ones first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			get := func(c *apiClient, raw *json.RawMessage) error {
				return c.get(cmd.Context(), "/api/v1/incidents?state="+url.QueryEscape(state), raw)
			}
			return api.call(cmd.Context(), e, g, get, func(raw json.RawMessage) error {
				var rows []incidentRow
				if err := json.Unmarshal(raw, &rows); err != nil {
					return fmt.Errorf("decoding incidents: %w", err)
				}
				return printIncidents(e.stdout, rows, time.Now())
			})
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&state, "state", "", "open or resolved (default: all)")
	return cmd
}

func parseIncidentID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not an incident number", s)
	}
	return id, nil
}

func printIncidents(w io.Writer, rows []incidentRow, now time.Time) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no incidents")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tIMPACT\tSERVICES\tSTARTED\tDURATION\tACK\tTITLE")
	for _, r := range rows {
		dur, ack := "open", "-"
		if r.DurationSeconds != nil {
			dur = (time.Duration(*r.DurationSeconds) * time.Second).String()
		}
		if r.AcknowledgedBy != "" {
			ack = r.AcknowledgedBy
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, r.Impact, orDash(strings.Join(r.Services, ",")),
			roundAgo(now.Sub(r.StartedAt)), dur, ack, truncate(r.Title, 60))
	}
	return tw.Flush()
}

func printIncident(w io.Writer, r incidentRow) error {
	kind := "manual"
	if r.Automatic {
		kind = "automatic"
	}
	fmt.Fprintf(w, "#%d %s\n", r.ID, r.Title)
	fmt.Fprintf(w, "status %s, impact %s, %s, services: %s\n", r.Status, r.Impact, kind, orDash(strings.Join(r.Services, ", ")))
	fmt.Fprintf(w, "started %s", r.StartedAt.UTC().Format(time.RFC3339))
	if r.ResolvedAt != nil && r.DurationSeconds != nil {
		fmt.Fprintf(w, ", resolved %s after %s", r.ResolvedAt.UTC().Format(time.RFC3339), time.Duration(*r.DurationSeconds)*time.Second)
	}
	fmt.Fprintln(w)
	if r.AcknowledgedAt != nil {
		fmt.Fprintf(w, "acknowledged by %s at %s\n", r.AcknowledgedBy, r.AcknowledgedAt.UTC().Format(time.RFC3339))
	}
	for _, m := range r.Monitors {
		fmt.Fprintf(w, "monitor %s: %s\n", m.Monitor, m.State)
	}
	if len(r.Timeline) > 0 {
		fmt.Fprintln(w, "timeline:")
		for _, t := range r.Timeline {
			fmt.Fprintf(w, "  %s  %s\n", t.At.UTC().Format("2006-01-02 15:04:05"), t.Text)
		}
	}
	if r.Report != nil {
		fmt.Fprintf(w, "report:\n  cause: %s\n  measures: %s\n  prevention: %s\n", r.Report.Cause, r.Report.Measures, r.Report.Prevention)
	}
	return nil
}

// channelSenders builds a sender for every channel of the policy (notify package), adapted to
// the incident package's events.
func channelSenders(p *policy.Policy) (map[string]incident.Sender, error) {
	out := make(map[string]incident.Sender, len(p.Channels))
	for name, c := range p.Channels {
		s, err := notify.New(name, c, notify.Options{Version: version})
		if err != nil {
			return nil, fmt.Errorf("channel %s: %w", name, err)
		}
		out[name] = incident.SenderFunc(func(ctx context.Context, ev incident.Event) error {
			id := strconv.FormatInt(ev.Incident.ID, 10)
			if ev.Incident.Window != "" {
				id = ev.Incident.Window // a maintenance notice is about a window
			}
			return s.Send(ctx, notify.Event{
				Kind: ev.Kind, Key: ev.Key, At: ev.At, Monitor: ev.Monitor, State: ev.State, Cause: ev.Cause, Step: ev.Step,
				Incident: notify.Incident{
					ID: id, Title: ev.Incident.Title, Status: ev.Incident.Status,
					Impact: ev.Incident.Impact, Services: ev.Incident.Services, Monitors: ev.Incident.Monitors,
					StartedAt: ev.Incident.StartedAt, ResolvedAt: ev.Incident.ResolvedAt, URL: ev.Incident.URL,
					AckURL: ev.Incident.AckURL, Message: ev.Incident.Message,
				},
			})
		})
	}
	return out, nil
}

func isPermanentSendError(err error) bool { return errors.Is(err, notify.ErrPermanent) }
