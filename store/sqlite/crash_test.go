package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

// crashDirEnv tells the test binary, started again as a child, to act as the writing process of
// TestCrashKeepsCommittedWrites instead of running tests.
const crashDirEnv = "UPKEEP_STORE_CRASH_HELPER_DIR"

// TestCrashKeepsCommittedWrites kills a process that is writing to the store with SIGKILL in the
// middle of a burst, reopens the store and checks that it is intact and holds every write the
// process was told had committed. Repeated on the same directory, so recovery is also tested on
// a store that has been through crashes.
func TestCrashKeepsCommittedWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	committed := map[int64]string{} // audit id -> request id, as printed by the children
	for round := range 4 {
		printed := runAndKillWriter(t, dir, round, 200+100*round)
		for id, req := range printed {
			committed[id] = req
		}

		db := openIn(t, dir, testLogger(t))
		var check string
		if err := db.Reader().QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check = %q, %v", round, check, err)
		}
		stored := map[int64]string{}
		rows, err := db.Reader().QueryContext(t.Context(), "SELECT id, request_id FROM audit")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			var req string
			if err := rows.Scan(&id, &req); err != nil {
				t.Fatal(err)
			}
			stored[id] = req
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		lost := 0
		for id, req := range committed {
			if stored[id] != req {
				lost++
				if lost <= 5 {
					t.Errorf("round %d: audit id %d: stored request %q, want %q", round, id, stored[id], req)
				}
			}
		}
		if lost > 0 {
			t.Fatalf("round %d: %d of %d committed writes lost", round, lost, len(committed))
		}
		t.Logf("round %d: killed after %d reported writes; %d rows stored, all %d reported writes present",
			round, len(printed), len(stored), len(committed))
	}
}

// runAndKillWriter starts the child writer on dir, reads at least n committed writes from it,
// kills it with SIGKILL and returns every write it reported (audit id -> request id).
func runAndKillWriter(t *testing.T, dir string, round, n int) map[int64]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, "UPKEEP_STORE_CRASH_ROUND="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	printed := map[int64]string{}
	killed := false
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		id, req, ok := parseCommitted(lines.Text())
		if !ok {
			continue // the test framework's own output
		}
		printed[id] = req
		if len(printed) >= n && !killed {
			// Mid-burst: the child's writers are queueing, committing and printing right now.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	// Lines printed before the kill and still in the pipe were read above.
	err = cmd.Wait()
	if !killed {
		t.Fatalf("round %d: child ended after %d writes before being killed: %v\n%s", round, len(printed), err, stderr.String())
	}
	return printed
}

func parseCommitted(line string) (int64, string, bool) {
	rest, ok := strings.CutPrefix(line, "committed ")
	if !ok {
		return 0, "", false
	}
	idText, req, ok := strings.Cut(rest, " ")
	id, err := strconv.ParseInt(idText, 10, 64)
	return id, req, ok && err == nil
}

// TestHelperProcess is the child of TestCrashKeepsCommittedWrites: it writes audit entries from
// many goroutines, printing each one's id right after AppendAudit returned, until it is killed.
// Run directly, it does nothing.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	round := os.Getenv("UPKEEP_STORE_CRASH_ROUND")
	db, err := Open(context.Background(), dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var out sync.Mutex
	for g := range 32 {
		go func() {
			for i := 0; ; i++ {
				req := fmt.Sprintf("r%s-g%d-%d", round, g, i)
				id, err := db.AppendAudit(context.Background(), upkeep.AuditEntry{
					Token: "crash", Method: "POST", Path: "/api/v1/crash", RequestID: req, RemoteAddr: "127.0.0.1:1",
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				out.Lock()
				fmt.Fprintf(os.Stdout, "committed %d %s\n", id, req) // unbuffered: one write(2) per line
				out.Unlock()
			}
		}()
	}
	time.Sleep(time.Minute) // the parent kills us long before this
	fmt.Fprintln(os.Stderr, "not killed within a minute")
	os.Exit(4)
}
