package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func newTokenCmd(e *env, g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens (works offline on the data directory)",
		Long: `Manage the tokens that authenticate requests to /api/v1 ("Authorization: Bearer <token>").
Only a hash of each token is stored: a token is shown once, when it is created.
These commands work on the data directory directly, also while "upkeep serve" runs.`,
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (names, prefixes, last use; never the secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd.Context(), e, g, func(db *sqlite.DB) error {
				toks, err := db.Tokens(cmd.Context())
				if err != nil {
					return err
				}
				return printTokens(e.stdout, toks, asJSON)
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.AddCommand(
		&cobra.Command{
			Use:   "create NAME",
			Short: "Create a token and print it once",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(cmd.Context(), e, g, func(db *sqlite.DB) error {
					return createToken(cmd.Context(), e, db, args[0])
				})
			},
		},
		list,
		&cobra.Command{
			Use:   "revoke NAME",
			Short: "Revoke the active token with that name",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(cmd.Context(), e, g, func(db *sqlite.DB) error {
					err := db.RevokeToken(cmd.Context(), args[0])
					if errors.Is(err, upkeep.ErrNotFound) {
						return fmt.Errorf("no active token named %q (see upkeep token list)", args[0])
					}
					if err != nil {
						return err
					}
					fmt.Fprintf(e.stdout, "revoked token %q\n", args[0])
					return nil
				})
			},
		},
	)
	return cmd
}

// withStore opens the store of the data directory for an offline command.
func withStore(ctx context.Context, e *env, g *globalFlags, fn func(db *sqlite.DB) error) error {
	dir, err := loadForData(e, g)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := sqlite.Open(ctx, dir, logger)
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	ferr := fn(db)
	if err := db.Close(); err != nil && ferr == nil {
		ferr = fmt.Errorf("closing the store: %w", err)
	}
	return ferr
}

func createToken(ctx context.Context, e *env, db *sqlite.DB, name string) error {
	if !validTokenName(name) {
		return fmt.Errorf("token name %q: use 1-64 letters, digits, '.', '_' or '-'", name)
	}
	secret, err := upkeep.NewTokenSecret()
	if err != nil {
		return fmt.Errorf("generating a token: %w", err)
	}
	t := upkeep.Token{Name: name, Prefix: upkeep.SecretPrefix(secret), CreatedAt: time.Now()}
	err = db.CreateToken(ctx, t, upkeep.HashToken(secret))
	if errors.Is(err, upkeep.ErrConflict) {
		return fmt.Errorf("an active token named %q already exists (revoke it first, or choose another name)", name)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, secret)
	fmt.Fprintf(e.stderr, "Created token %q. Store it now: it is not shown again.\nUse it as: Authorization: Bearer <token>\n", name)
	return nil
}

func validTokenName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func printTokens(w io.Writer, toks []upkeep.Token, asJSON bool) error {
	if asJSON {
		if toks == nil {
			toks = []upkeep.Token{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(toks)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPREFIX\tCREATED\tLAST USED\tSTATUS")
	for _, t := range toks {
		status := "active"
		if !t.Active() {
			status = "revoked " + t.RevokedAt.UTC().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\n", t.Name, t.Prefix, t.CreatedAt.UTC().Format(time.DateTime), orNever(t.LastUsedAt), status)
	}
	return tw.Flush()
}

func orNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.DateTime)
}
