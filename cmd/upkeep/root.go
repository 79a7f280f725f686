package main

import (
	"github.com/spf13/cobra"
)

// globalFlags are taken by every command that reads the policy or the store.
type globalFlags struct {
	policy string
	data   string
}

func newRootCmd(e *env) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "upkeep",
		Short: "Run a continuity policy: monitoring, alerting, status page, backups and restore drills",
		Long: `Upkeep turns a continuity policy into running software. Everything is declared in one
policy file (YAML); "upkeep serve" runs it, "upkeep validate" checks it.

The policy file is --policy, else $UPKEEP_POLICY, else ./upkeep.yaml if it exists, else the built-in
quick-start policy. The data directory is --data, else $UPKEEP_DATA, else server.data_dir of the policy.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.policy, "policy", "", "policy file (default $UPKEEP_POLICY, ./upkeep.yaml, or the built-in quick-start policy)")
	root.PersistentFlags().StringVar(&g.data, "data", "", "data directory (default $UPKEEP_DATA, or server.data_dir of the policy)")
	root.AddCommand(
		newServeCmd(e, g),
		newValidateCmd(e, g),
		newVersionCmd(e),
		newTokenCmd(e, g),
		newSchemaCmd(e),
		newStatusCmd(e, g),
		newIncidentCmd(e, g),
		newBackupCmd(e, g),
		newDrillCmd(e, g),
		newSnapshotsCmd(e, g),
		newRestoreCmd(e, g),
		newMaintenanceCmd(e, g),
		newSubscribersCmd(e, g),
		newReportCmd(e, g),
		newAgentCmd(e),
	)
	return root
}
