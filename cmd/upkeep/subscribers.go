package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// subscriberRow is a status page subscriber as the API shows it (addresses masked).
type subscriberRow struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Address   string    `json:"address"`
	Services  []string  `json:"services"`
	Confirmed bool      `json:"confirmed"`
	CreatedAt time.Time `json:"created_at"`
	Secret    string    `json:"secret"`
}

func newSubscribersCmd(e *env, g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "subscribers",
		Short: "List, add (webhooks) and remove the status page's subscribers (on the running server)",
		Long: `Subscribers of the status page's incident and maintenance notices. People subscribe by e-mail
themselves (POST /subscribe, confirmed by a link); webhook subscribers are added here. Addresses are
shown masked. These commands need the server's URL (--url, $UPKEEP_URL, or the policy's listen
address) and an API token (--token or $UPKEEP_TOKEN).`,
	}
	cmd.AddCommand(newSubscribersListCmd(e, g), newSubscribersAddWebhookCmd(e, g), newSubscribersRemoveCmd(e, g))
	return cmd
}

func newSubscribersListCmd(e *env, g *globalFlags) *cobra.Command {
	var (
		api     apiFlags
		address string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List subscribers (--address finds one by its full e-mail address or URL)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			get := func(c *apiClient, raw *json.RawMessage) error {
				return c.get(cmd.Context(), "/api/v1/subscribers?address="+url.QueryEscape(address), raw)
			}
			return api.call(cmd.Context(), e, g, get, func(raw json.RawMessage) error {
				var rows []subscriberRow
				if err := json.Unmarshal(raw, &rows); err != nil {
					return fmt.Errorf("decoding subscribers: %w", err)
				}
				if len(rows) == 0 {
					_, err := fmt.Fprintln(e.stdout, "No subscribers.")
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tADDRESS\tSERVICES\tCONFIRMED\tSINCE")
				for _, r := range rows {
					services := strings.Join(r.Services, ",")
					if services == "" {
						services = "all"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.Address, services, yesNo(r.Confirmed), r.CreatedAt.UTC().Format("2006-01-02 15:04"))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&address, "address", "", "show only the subscriber with this e-mail address or webhook URL")
	api.register(cmd)
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newSubscribersAddWebhookCmd(e *env, g *globalFlags) *cobra.Command {
	var (
		api      apiFlags
		services []string
	)
	cmd := &cobra.Command{
		Use:   "add-webhook URL",
		Short: "Add a webhook subscriber (https, or http to a loopback address) and print its signing secret",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			post := func(c *apiClient, raw *json.RawMessage) error {
				return c.post(cmd.Context(), "/api/v1/subscribers", map[string]any{"url": args[0], "services": services}, raw)
			}
			return api.call(cmd.Context(), e, g, post, func(raw json.RawMessage) error {
				var r subscriberRow
				if err := json.Unmarshal(raw, &r); err != nil {
					return fmt.Errorf("decoding the subscriber: %w", err)
				}
				_, err := fmt.Fprintf(e.stdout, "Subscriber %d added. Signing secret (shown only now; verify X-Upkeep-Signature with it):\n%s\n", r.ID, r.Secret)
				return err
			})
		},
	}
	cmd.Flags().StringSliceVar(&services, "service", nil, "a service to subscribe to (repeat; default: all)")
	api.register(cmd)
	return cmd
}

func newSubscribersRemoveCmd(e *env, g *globalFlags) *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a subscriber: it receives nothing more",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := strings.TrimPrefix(args[0], "#")
			del := func(c *apiClient, raw *json.RawMessage) error {
				return c.do(cmd.Context(), "DELETE", "/api/v1/subscribers/"+url.PathEscape(id), nil, raw)
			}
			return api.call(cmd.Context(), e, g, del, func(json.RawMessage) error {
				_, err := fmt.Fprintf(e.stdout, "Subscriber %s removed.\n", id)
				return err
			})
		},
	}
	api.register(cmd)
	return cmd
}
