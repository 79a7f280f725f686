package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep/statuspage"
)

func newStatusExportCmd(e *env, g *globalFlags) *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "export DIR",
		Short: "Write the status page as static files to DIR (from the running server)",
		Long: `Write the whole status page as static files: index.html, status/groups/<n>.html,
incidents/<id>.html, history.rss, history.atom, api/v2/*.json, badge/<service>/status.svg,
uptime.svg (30 days) and uptime-<24h|7d|30d|90d>.svg, and the logo. Links are relative, so DIR can
be served by any web server or object store, from any path.

The export is rendered by the running server (GET /api/v1/status/export, so it needs --url and a
token like the other API commands) and written atomically: DIR becomes a symbolic link to a new
directory, swapped in one step, so a web server serving DIR never shows half an export. DIR must
not exist yet, be an empty directory, or be the link of an earlier export.

To publish it continuously, use status_page.export in the policy instead.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := api.client(e, g)
			if err != nil {
				return err
			}
			var ans struct {
				Files []statuspage.File `json:"files"`
			}
			if err := c.get(cmd.Context(), "/api/v1/status/export", &ans); err != nil {
				return err
			}
			if err := statuspage.WriteDir(args[0], ans.Files); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "wrote %d files to %s\n", len(ans.Files), args[0])
			return err
		},
	}
	api.register(cmd)
	_ = cmd.Flags().MarkHidden("json") // the export is files, not a table
	return cmd
}
