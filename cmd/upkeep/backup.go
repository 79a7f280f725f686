package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/backup"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// Exit codes of upkeep backup run.
const (
	exitBackupFailed  = 1
	exitBackupPartial = 2
)

func newBackupCmd(e *env, g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Run and list the backups of the policy",
	}
	var runAPI apiFlags
	run := &cobra.Command{
		Use:   "run JOB",
		Short: "Run a backup now and wait for it to end",
		Long: `Run the backup JOB of the policy now, print its progress and wait for it to end.

With "upkeep serve" running on the data directory, the run is started through its API
(POST /api/v1/backups/JOB/run, which needs --url/--token as for upkeep status) and the server runs
it. Without a server, this command opens the data directory itself and runs the backup, recording
it in the same store. Either way the run is in the history (GET /api/v1/backups/JOB/runs).

Exit status: 0 when the run succeeded, 2 when it was partial (some destinations failed),
1 when it failed or could not start (another run of JOB is in progress, for example).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return backupRun(cmd.Context(), e, g, &runAPI, args[0])
		},
	}
	runAPI.register(run)
	var listAPI apiFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List the backups with their last run and next scheduled run (from the running server)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			get := func(c *apiClient, raw *json.RawMessage) error {
				return c.get(cmd.Context(), "/api/v1/backups", raw)
			}
			return listAPI.call(cmd.Context(), e, g, get, func(raw json.RawMessage) error {
				var rows []backupRow
				if err := json.Unmarshal(raw, &rows); err != nil {
					return fmt.Errorf("decoding backups: %w", err)
				}
				return printBackups(e.stdout, rows, time.Now())
			})
		},
	}
	listAPI.register(list)
	var (
		verifyDest string
		readData   string
		history    bool
		verifyAPI  apiFlags
	)
	verify := &cobra.Command{
		Use:   "verify JOB",
		Short: "Check the repositories of a backup and re-read a sample of their content",
		Long: `Check the repository of each destination of the backup JOB (or only --destination): every
snapshot's directories and files must be intact and their data present; --read-data also reads back,
decrypts and checks that share of the files (e.g. 10%), which finds altered bytes. Every byte is read
from the destination (no local cache). Each destination's verification is recorded in the data
directory. With "upkeep serve" running on the data directory, the server verifies (POST
/api/v1/backups/JOB/verify, which needs --url/--token as for upkeep status), so that a failure
also makes the backup's monitor down; without a server, this command verifies itself.

--history lists the recorded verifications of JOB instead (by this command and by the policy's
verify schedule), newest first; with --json as JSON (GET /api/v1/backups/JOB/verifications).

Exit status: 0 when every repository checked is intact, 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if history {
				return backupVerifyHistory(cmd.Context(), e, g, args[0], verifyAPI.json)
			}
			if verifyAPI.json {
				return errors.New("--json goes with --history")
			}
			return backupVerify(cmd.Context(), e, g, &verifyAPI, args[0], verifyDest, readData)
		},
	}
	verify.Flags().StringVar(&verifyDest, "destination", "", "only this destination")
	verify.Flags().StringVar(&readData, "read-data", "0%", "share of the content to read back, e.g. 10%")
	verify.Flags().BoolVar(&history, "history", false, "list the recorded verifications instead of verifying")
	verifyAPI.register(verify)
	cmd.AddCommand(run, list, verify)
	return cmd
}

func backupVerify(ctx context.Context, e *env, g *globalFlags, api *apiFlags, job, only, readData string) error {
	pct, err := policy.ParsePercent(readData)
	if err != nil {
		return fmt.Errorf("--read-data %q: give a percentage such as 10%%", readData)
	}
	p, b, err := loadBackup(e, g, job)
	if err != nil {
		return err
	}
	if only != "" && !slices.Contains(b.To, only) {
		return fmt.Errorf("backup %q does not write to a destination named %q (it writes to %s)", job, only, strings.Join(b.To, ", "))
	}
	dir := p.Server.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	// Without a server, hold the data directory (as upkeep backup run does), so that a
	// verification left running by a crash can be told from one in progress.
	unlock, err := lockDataDir(dir)
	var inUse dataDirInUseError
	held := err == nil
	switch {
	case held:
		defer unlock()
	case errors.As(err, &inUse):
		c, cerr := api.client(e, g)
		if cerr == nil {
			return backupVerifyThroughAPI(ctx, e, c, job, only, readData)
		}
		fmt.Fprintf(e.stderr, "upkeep serve holds the data directory, but its API cannot be used (%v): verifying here, recorded, without telling the backup's monitor\n", cerr)
	default:
		return err
	}
	db, err := openStoreForCommand(ctx, e, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := newBackups(db, dir, nil, slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	if err := svc.Apply(ctx, p); err != nil {
		return err
	}
	if held {
		if err := svc.Recover(ctx); err != nil {
			return err
		}
	}
	results, err := svc.Verify(ctx, job, only, pct.Fraction(), upkeep.TriggerCLI)
	if err != nil {
		return err
	}
	damaged := 0
	for _, r := range results {
		errText := ""
		if r.Err != nil {
			damaged++
			errText = r.Err.Error()
		}
		printVerification(e.stdout, r.Destination, r.Report.Snapshots, r.Report.Objects, r.Report.ReadFiles, r.Report.ReadBytes, r.Took, errText, r.Report.Errors)
	}
	if damaged > 0 {
		return exitError{exitBackupFailed}
	}
	return nil
}

// printVerification prints the outcome of one destination's verification: intact with what was
// checked, or FAILED with the error and each problem found.
func printVerification(w io.Writer, dest string, snapshots int, objects, readFiles, readBytes int64, took time.Duration, errText string, problems []string) {
	if errText != "" {
		fmt.Fprintf(w, "%s: FAILED: %s\n", dest, errText)
		for _, problem := range problems {
			fmt.Fprintf(w, "  %s\n", problem)
		}
		return
	}
	fmt.Fprintf(w, "%s: intact: %d snapshots, %d objects checked, %d files (%s) read back, in %s\n",
		dest, snapshots, objects, readFiles, bytesText(readBytes), took.Round(time.Millisecond))
}

// verificationRow is a verification as GET /api/v1/backups/{job}/verifications shows it.
type verificationRow struct {
	ID          int64      `json:"id"`
	Destination string     `json:"destination"`
	Status      string     `json:"status"`
	Start       time.Time  `json:"start"`
	End         *time.Time `json:"end"`
	Snapshots   int        `json:"snapshots"`
	Objects     int64      `json:"objects"`
	ReadFiles   int64      `json:"read_files"`
	ReadBytes   int64      `json:"read_bytes"`
	Error       string     `json:"error"`
}

// backupVerifyThroughAPI asks the server that holds the data directory to verify, and follows
// the verifications until they end.
func backupVerifyThroughAPI(ctx context.Context, e *env, c *apiClient, job, only, readData string) error {
	var started struct {
		IDs []int64 `json:"ids"`
		URL string  `json:"url"`
	}
	in := map[string]string{"destination": only, "read_data": readData}
	if err := c.post(ctx, "/api/v1/backups/"+job+"/verify", in, &started); err != nil {
		return err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var rows []verificationRow
		if err := c.get(ctx, started.URL+"?limit=1000", &rows); err != nil {
			return err
		}
		var ended []verificationRow
		for _, id := range started.IDs {
			for _, v := range rows {
				if v.ID == id && v.End != nil {
					ended = append(ended, v)
				}
			}
		}
		if len(ended) == len(started.IDs) {
			damaged := 0
			for _, v := range ended {
				if v.Status != string(upkeep.VerifyIntact) {
					damaged++
				}
				printVerification(e.stdout, v.Destination, v.Snapshots, v.Objects, v.ReadFiles, v.ReadBytes, v.End.Sub(v.Start), v.Error, nil)
			}
			if damaged > 0 {
				return exitError{exitBackupFailed}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped following the verification (it goes on in the server): %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// openStoreForCommand opens the store of data directory dir for a command, which logs only
// warnings and errors (to stderr).
func openStoreForCommand(ctx context.Context, e *env, dir string) (*sqlite.DB, error) {
	db, err := sqlite.Open(ctx, dir, slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	return db, nil
}

// backupVerifyHistory prints the recorded verifications of job.
func backupVerifyHistory(ctx context.Context, e *env, g *globalFlags, job string, asJSON bool) error {
	p, _, err := loadBackup(e, g, job)
	if err != nil {
		return err
	}
	db, err := openStoreForCommand(ctx, e, p.Server.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := db.BackupVerifications(ctx, job, 100)
	if err != nil {
		return err
	}
	if asJSON {
		if list == nil {
			list = []upkeep.BackupVerification{}
		}
		return json.NewEncoder(e.stdout).Encode(list)
	}
	if len(list) == 0 {
		_, err := fmt.Fprintf(e.stdout, "backup %s has not been verified yet\n", job)
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tDESTINATION\tTRIGGER\tSTATUS\tREAD DATA\tSNAPSHOTS\tOBJECTS\tREAD BACK\tTOOK\tERROR")
	for _, v := range list {
		took := "-"
		if !v.End.IsZero() {
			took = roundDur(v.End.Sub(v.Start))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%g%%\t%d\t%d\t%s\t%s\t%s\n", v.ID, v.Start.Local().Format("2006-01-02 15:04:05"), v.Destination,
			v.Trigger, strings.ToUpper(string(v.Status)), v.ReadData*100, v.Snapshots, v.Objects, bytesText(v.ReadBytes), took, truncate(v.Error, 60))
	}
	return tw.Flush()
}

// backupRow is a backup as GET /api/v1/backups shows it.
type backupRow struct {
	Name     string     `json:"name"`
	Service  string     `json:"service"`
	Source   string     `json:"source"`
	Schedule string     `json:"schedule"`
	TZ       string     `json:"tz"`
	To       []string   `json:"to"`
	Next     *time.Time `json:"next_run"`
	Running  *int64     `json:"running_run"`
	State    string     `json:"state"`
	LastRun  *runRow    `json:"last_run"`
}

// runRow is a run as the API shows it.
type runRow struct {
	ID           int64      `json:"id"`
	Job          string     `json:"job"`
	Trigger      string     `json:"trigger"`
	Status       string     `json:"status"`
	Start        time.Time  `json:"start"`
	End          *time.Time `json:"end"`
	Error        string     `json:"error"`
	Destinations []struct {
		Destination string     `json:"destination"`
		Status      string     `json:"status"`
		Snapshot    string     `json:"snapshot"`
		End         *time.Time `json:"end"`
		BytesRead   int64      `json:"bytes_read"`
		BytesAdded  int64      `json:"bytes_added"`
		Files       int64      `json:"files"`
		DedupRatio  float64    `json:"dedup_ratio"`
		Error       string     `json:"error"`
	} `json:"destinations"`
}

func printBackups(w io.Writer, rows []backupRow, now time.Time) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no backups in the policy")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKUP\tSERVICE\tSOURCE\tTO\tSTATE\tLAST RUN\tSTATUS\tNEXT RUN\tLAST ERROR")
	for _, r := range rows {
		last, status, next, lastErr := "-", "-", "-", ""
		if r.LastRun != nil {
			last, status, lastErr = roundAgo(now.Sub(r.LastRun.Start)), r.LastRun.Status, r.LastRun.Error
		}
		if r.Running != nil {
			status = fmt.Sprintf("running (run %d)", *r.Running)
		}
		if r.Next != nil {
			next = r.Next.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, orDash(r.Service), r.Source, strings.Join(r.To, ","),
			strings.ToUpper(r.State), last, status, next, truncate(lastErr, 60))
	}
	return tw.Flush()
}

func backupRun(ctx context.Context, e *env, g *globalFlags, api *apiFlags, job string) error {
	p, _, err := loadBackup(e, g, job)
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
		return backupRunThroughAPI(ctx, e, g, api, job)
	case err != nil:
		return err
	}
	defer unlock()
	return backupRunHere(ctx, e, api.json, p, job)
}

// backupRunHere runs the backup in this process, on the data directory it has locked.
func backupRunHere(ctx context.Context, e *env, asJSON bool, p *policy.Policy, job string) error {
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := sqlite.Open(ctx, p.Server.DataDir, logger)
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer db.Close()
	// The run's outcome is printed; the service logs only what goes wrong beyond it.
	svc := newBackups(db, p.Server.DataDir, nil, slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	// This process holds the data directory: a run or verification still "running" was cut
	// short by a crash.
	if err := svc.Recover(ctx); err != nil {
		return err
	}
	if err := svc.Apply(ctx, p); err != nil {
		return err
	}
	var pr *progressPrinter
	if !asJSON {
		pr = newProgressPrinter(e.stdout, previousSizes(ctx, db, job))
	}
	run, err := svc.RunNow(ctx, job, upkeep.TriggerCLI, pr.event)
	if err != nil {
		if errors.Is(err, backup.ErrRunning) {
			return fmt.Errorf("backup %q: a run is already in progress", job)
		}
		return err
	}
	if asJSON {
		if err := json.NewEncoder(e.stdout).Encode(run); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(e.stdout, runLine(job, string(run.Status), run.End.Sub(run.Start), run.Error))
	}
	return backupExit(string(run.Status))
}

// backupExit turns a run's status into the command's exit status.
func backupExit(status string) error {
	switch upkeep.BackupStatus(status) {
	case upkeep.BackupSucceeded:
		return nil
	case upkeep.BackupPartial:
		return exitError{exitBackupPartial}
	}
	return exitError{exitBackupFailed}
}

// backupRunThroughAPI asks the server that holds the data directory to run the backup, and
// follows the run until it ends.
func backupRunThroughAPI(ctx context.Context, e *env, g *globalFlags, api *apiFlags, job string) error {
	c, err := api.client(e, g)
	if err != nil {
		return fmt.Errorf("upkeep serve holds the data directory, so the backup runs there through its API: %w", err)
	}
	var started struct {
		ID  int64  `json:"id"`
		URL string `json:"url"`
	}
	if err := c.post(ctx, "/api/v1/backups/"+job+"/run", struct{}{}, &started); err != nil {
		return err
	}
	if !api.json {
		fmt.Fprintf(e.stdout, "backup %s: run %d started by the server\n", job, started.ID)
	}
	shown := map[string]bool{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var raw json.RawMessage
		if err := c.get(ctx, started.URL, &raw); err != nil {
			return err
		}
		var run runRow
		if err := json.Unmarshal(raw, &run); err != nil {
			return fmt.Errorf("decoding run %d: %w", started.ID, err)
		}
		if !api.json {
			for _, d := range run.Destinations {
				if d.Status == string(upkeep.BackupRunning) || shown[d.Destination] {
					continue
				}
				shown[d.Destination] = true
				fmt.Fprintln(e.stdout, "  "+destinationLine(d.Destination, d.Status, d.Snapshot, d.Files, d.BytesRead, d.BytesAdded, d.Error))
			}
		}
		if run.Status != string(upkeep.BackupRunning) {
			if api.json {
				_, err := e.stdout.Write(append(raw, '\n'))
				if err != nil {
					return err
				}
			} else {
				fmt.Fprintln(e.stdout, runLine(job, run.Status, run.End.Sub(run.Start), run.Error))
			}
			return backupExit(run.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped following run %d (it goes on in the server): %w", started.ID, ctx.Err())
		case <-tick.C:
		}
	}
}

// progressPrinter shows a run's events: a progress bar per destination on a terminal, plain
// lines otherwise (at most one progress line per destination and second).
type progressPrinter struct {
	m *meter
	// previous holds each destination's bytes read by the job's last successful run: the
	// estimate of a run's size when kopia has none (database dumps and other streams).
	previous map[string]int64
	start    map[string]time.Time
}

func newProgressPrinter(w io.Writer, previous map[string]int64) *progressPrinter {
	return &progressPrinter{m: newMeter(w), previous: previous, start: map[string]time.Time{}}
}

func (p *progressPrinter) event(ev backup.Event) {
	if p == nil {
		return
	}
	switch ev.Kind {
	case "start", "hook":
		p.m.println(ev.Message)
	case "destination":
		p.start[ev.Destination] = p.m.now()
		p.m.println(fmt.Sprintf("  %s: writing", ev.Destination))
	case "progress":
		s := progressState{Label: "  " + ev.Destination, Files: ev.Progress.Files, Bytes: ev.Progress.Bytes,
			Total: ev.Progress.BytesTotal, Elapsed: p.m.now().Sub(p.start[ev.Destination])}
		if s.Total <= 0 && p.previous[ev.Destination] > 0 {
			s.Total, s.Estimated = p.previous[ev.Destination], true
		}
		p.m.show(s, fmt.Sprintf("  %s: %d files, %s", ev.Destination, ev.Progress.Files, bytesText(ev.Progress.Bytes)))
	case "destination done":
		r := ev.Result
		p.m.println("  " + destinationLine(r.Destination, string(r.Status), r.Snapshot, r.Files, r.BytesRead, r.BytesAdded, r.Error))
	case "done":
		p.m.clear()
	}
}

// previousSizes returns the bytes read at each destination by job's newest run that succeeded
// there, looking back a few runs.
func previousSizes(ctx context.Context, db *sqlite.DB, job string) map[string]int64 {
	out := map[string]int64{}
	runs, err := db.BackupRuns(ctx, job, 0, 10)
	if err != nil {
		return out // no estimate is no reason not to back up
	}
	for _, r := range runs {
		for _, d := range r.Destinations {
			if _, seen := out[d.Destination]; !seen && d.Status == upkeep.BackupSucceeded {
				out[d.Destination] = d.BytesRead
			}
		}
	}
	return out
}

func destinationLine(dest, status, snapshot string, files, read, added int64, errText string) string {
	if status != string(upkeep.BackupSucceeded) {
		return fmt.Sprintf("%s: FAILED: %s", dest, errText)
	}
	line := fmt.Sprintf("%s: snapshot %s, %d files, %s read, %s added", dest, snapshot, files, bytesText(read), bytesText(added))
	if errText != "" {
		line += " (" + errText + ")"
	}
	return line
}

func runLine(job, status string, took time.Duration, errText string) string {
	line := fmt.Sprintf("backup %s %s in %s", job, status, took.Round(time.Millisecond))
	if errText != "" {
		line += ": " + errText
	}
	return line
}

// bytesText writes a byte count for people: 1.5 MB, 312 kB, 12 B.
func bytesText(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
