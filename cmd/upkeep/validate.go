package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep/policy"
)

func newValidateCmd(e *env, g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the policy file and report every problem",
		Long: `Check the policy file. Exits 0 with a one-line summary when it is valid, and 1 with every
problem found otherwise, one per line: FILE:LINE:COL: key.path: what is wrong (hint).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := resolvePolicySource(e, g)
			if err != nil {
				return err
			}
			p, err := src.load(e)
			var problems policy.Problems
			if errors.As(err, &problems) {
				for _, pr := range problems {
					fmt.Fprintln(e.stderr, pr.String())
				}
				fmt.Fprintf(e.stderr, "%s: %d problem(s)\n", src, len(problems))
				return exitError{code: 1}
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, p.Summary())
			return nil
		},
	}
}
