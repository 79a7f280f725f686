package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep/agent"
	"github.com/upkeep-dev/upkeep/policy"
)

func newAgentCmd(e *env) *cobra.Command {
	var (
		server, location, spool string
		batchEvery              time.Duration
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the server's active monitors from another location and send it the results",
		Long: `Run the active monitors of the server's policy from here, under the name --location (an agent
of the policy), and send the results to the server in batches (POST /api/v1/results). The API
token is $UPKEEP_TOKEN. Every batch is written to the spool directory before it is sent and
leaves it when the server has it, so batches survive a server that is down and a kill -9 of the
agent; sending one again never stores a result twice. The policy is read from the server at
start: restart the agent after changing it. See docs/agents.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" {
				server = e.getenv("UPKEEP_URL")
			}
			token := e.getenv("UPKEEP_TOKEN")
			switch {
			case server == "":
				return errors.New("no server: pass --server URL or set UPKEEP_URL")
			case location == "":
				return errors.New("no location: pass --location NAME (an agent of the policy)")
			case token == "":
				return errors.New("no API token: set UPKEEP_TOKEN (create one on the server with: upkeep token create NAME)")
			}
			ctx := cmd.Context()
			c := &apiClient{base: strings.TrimRight(server, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
			var src struct {
				File   string `json:"file"`
				Source string `json:"source"`
			}
			if err := c.get(ctx, "/api/v1/policy", &src); err != nil {
				return fmt.Errorf("reading the server's policy: %w", err)
			}
			p, err := policy.Parse(src.File, []byte(src.Source), e.lookupEnv)
			if err != nil {
				return fmt.Errorf("the server's policy (its ${VARIABLES} are read from this agent's environment): %w", err)
			}
			if !hasAgent(p, location) {
				return fmt.Errorf("location %q is not an agent of the server's policy (agents: [{name: %s}])", location, location)
			}
			sp, err := agent.OpenSpool(spool)
			if err != nil {
				return err
			}
			logger := newLogger(e.stderr, p.Server.Log).With("component", "agent")
			err = agent.Run(ctx, agent.Config{
				Server: c.base, Token: token, Location: location, Policy: p, Spool: sp,
				Logger: logger, BatchEvery: batchEvery, Version: version,
			})
			if ctx.Err() != nil {
				logger.Info("agent stopped; unsent batches stay in the spool", "spool", spool)
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "URL of the Upkeep server (default $UPKEEP_URL)")
	cmd.Flags().StringVar(&location, "location", "", "this agent's name, one of the policy's agents")
	cmd.Flags().StringVar(&spool, "spool", "upkeep-agent-spool", "directory of the batches not yet sent")
	cmd.Flags().DurationVar(&batchEvery, "batch-every", 10*time.Second, "how often results are batched and sent")
	return cmd
}

func hasAgent(p *policy.Policy, name string) bool {
	for _, a := range p.Agents {
		if a.Name == name {
			return true
		}
	}
	return false
}
