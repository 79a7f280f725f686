package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/backup"
	"github.com/upkeep-dev/upkeep/drill"
	"github.com/upkeep-dev/upkeep/httpapi"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

func newDrillRunCmd(e *env, g *globalFlags) *cobra.Command {
	var (
		api  apiFlags
		dest string
	)
	run := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a restore drill now and wait for it to end",
		Long: `Run the restore drill NAME of the policy now: restore its backup from one destination
(--destination, else the drill's choice) into the drill's target, run its checks and measure RTO
and RPO. The run is recorded in the data directory's history (upkeep drill history NAME).

Without "upkeep serve" on the data directory, this command runs the drill itself. While a server
holds the data directory, the server runs it (POST /api/v1/drills/NAME/run, with --url and --token
or UPKEEP_URL and UPKEEP_TOKEN) and this command follows the run until it ends.

Exit status: 0 only when the drill passed, 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return drillRun(cmd.Context(), e, g, &api, args[0], dest)
		},
	}
	run.Flags().StringVar(&dest, "destination", "", "restore from this destination of the backup")
	api.register(run)
	return run
}

func drillRun(ctx context.Context, e *env, g *globalFlags, api *apiFlags, name, dest string) error {
	asJSON := api.json
	p, d, err := loadDrill(e, g, name)
	if err != nil {
		return err
	}
	dir := p.Server.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	unlock, err := lockDataDir(dir)
	var inUse dataDirInUseError
	switch {
	case errors.As(err, &inUse):
		return drillRunThroughAPI(ctx, e, g, api, name, dest)
	case err != nil:
		return err
	}
	defer unlock()
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := sqlite.Open(ctx, dir, logger)
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer db.Close()
	// This process holds the data directory: a run still "running" was cut short by a crash.
	if _, err := db.MarkInterruptedDrillRuns(ctx, time.Now()); err != nil {
		return fmt.Errorf("recording interrupted drill runs: %w", err)
	}
	r := &drill.Runner{Backups: backup.DrillBackups(p), Store: db, WorkDir: drillWorkDir(dir), Logger: logger}
	if !asJSON {
		fmt.Fprintf(e.stdout, "drill %s: restoring backup %s into %s\n", name, d.Backup, d.Into.Kind())
	}
	run, err := r.Run(ctx, d, dest)
	var failure *drill.Failure
	if err != nil && !errors.As(err, &failure) {
		return err
	}
	if run == nil {
		return fmt.Errorf("drill %s did not run", name)
	}
	if asJSON {
		if err := json.NewEncoder(e.stdout).Encode(httpapi.DrillRunOf(run)); err != nil {
			return err
		}
	} else {
		printDrillRun(e, run)
	}
	if run.Status != upkeep.DrillPassed {
		return exitError{1}
	}
	return nil
}

// drillRunThroughAPI asks the server that holds the data directory to run the drill, and
// follows the run until it ends.
func drillRunThroughAPI(ctx context.Context, e *env, g *globalFlags, api *apiFlags, name, dest string) error {
	c, err := api.client(e, g)
	if err != nil {
		return fmt.Errorf("upkeep serve holds the data directory, so the drill runs there through its API: %w", err)
	}
	path := "/api/v1/drills/" + url.PathEscape(name) + "/run"
	if dest != "" {
		path += "?destination=" + url.QueryEscape(dest)
	}
	var started struct {
		ID  int64  `json:"id"`
		URL string `json:"url"`
	}
	if err := c.post(ctx, path, struct{}{}, &started); err != nil {
		return err
	}
	if !api.json {
		fmt.Fprintf(e.stdout, "drill %s: run %d started by the server\n", name, started.ID)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var raw json.RawMessage
		if err := c.get(ctx, started.URL, &raw); err != nil {
			return err
		}
		var run httpapi.DrillRun
		if err := json.Unmarshal(raw, &run); err != nil {
			return fmt.Errorf("decoding run %d: %w", started.ID, err)
		}
		if run.Status != string(upkeep.DrillRunning) {
			if api.json {
				if _, err := e.stdout.Write(append(raw, '\n')); err != nil {
					return err
				}
			} else {
				if run.Destination != "" {
					fmt.Fprintf(e.stdout, "drill %s: restoring backup %s from %s\n", name, run.Backup, run.Destination)
				}
				printDrillRun(e, drillRunOfAPI(run))
			}
			if run.Status != string(upkeep.DrillPassed) {
				return exitError{1}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped following run %d (it goes on in the server): %w", started.ID, ctx.Err())
		case <-tick.C:
		}
	}
}

// drillRunOfAPI is the run the API shows, for printDrillRun.
func drillRunOfAPI(r httpapi.DrillRun) *upkeep.DrillRun {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	out := &upkeep.DrillRun{ID: r.ID, Drill: r.Drill, Backup: r.Backup, Destination: r.Destination, Status: upkeep.DrillStatus(r.Status),
		Reason: r.Reason, Trigger: upkeep.BackupTrigger(r.Trigger), SnapshotID: r.SnapshotID, Started: r.Started,
		Fetch: sec(r.Fetch), Restore: sec(r.Restore), Verify: sec(r.Verify), RTO: sec(r.RTO), RPO: sec(r.RPO),
		MaxRTO: sec(r.MaxRTO), MaxRPO: sec(r.MaxRPO), Files: r.Files, Bytes: r.Bytes, Steps: r.Steps}
	if r.SnapshotTime != nil {
		out.SnapshotTime = *r.SnapshotTime
	}
	if r.Finished != nil {
		out.Finished = *r.Finished
	}
	return out
}

func printDrillRun(e *env, r *upkeep.DrillRun) {
	w := e.stdout
	fmt.Fprintf(w, "  destination %s, snapshot %s of %s\n", r.Destination, orDash(r.SnapshotID), r.SnapshotTime.Local().Format("2006-01-02 15:04:05"))
	fmt.Fprintf(w, "  fetch %s, restore %s (%d files, %s), verify %s\n", roundDur(r.Fetch), roundDur(r.Restore), r.Files, bytesText(r.Bytes), roundDur(r.Verify))
	for _, s := range r.Steps {
		status := "passed"
		if !s.Passed {
			status = "FAILED"
		}
		line := fmt.Sprintf("  check %s %s in %s", s.Kind, status, roundDur(s.Duration))
		if s.Message != "" {
			line += ": " + s.Message
		}
		fmt.Fprintln(w, line)
	}
	line := fmt.Sprintf("drill %s %s: RTO %s, RPO %s", r.Drill, r.Status, limited(r.RTO, r.MaxRTO), limited(r.RPO, r.MaxRPO))
	if r.Reason != "" {
		line += ": " + r.Reason
	}
	fmt.Fprintln(w, line)
}
