package drill

import (
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/backup/source"
	"github.com/upkeep-dev/upkeep/policy"
)

// TestHelperApp is not a test: run by an http verify step (UPKEEP_DRILL_TEST_APP set), it is a
// small application serving the number of notes in the SQLite database UPKEEP_RESTORED_PATH on
// /notes, and /ready.
func TestHelperApp(t *testing.T) {
	addr := os.Getenv("UPKEEP_DRILL_TEST_APP")
	if addr == "" {
		t.Skip("helper process")
	}
	db, err := sql.Open("sqlite", "file:"+os.Getenv("UPKEEP_RESTORED_PATH")+"?mode=ro")
	if err != nil {
		os.Exit(3)
	}
	http.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) {})
	http.HandleFunc("/notes", func(w http.ResponseWriter, _ *http.Request) {
		var n int
		if err := db.QueryRow("select count(*) from notes").Scan(&n); err != nil || n != 3 {
			http.Error(w, fmt.Sprint(n, err), http.StatusInternalServerError)
		}
	})
	fmt.Fprintln(os.Stderr, http.ListenAndServe(addr, nil))
	os.Exit(4)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// An SQLite backup restored into a file, checked by a query and by an application started on
// the restored file; an application that answers wrongly fails the drill.
func TestSQLiteDrillWithApp(t *testing.T) {
	src := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`create table notes (body text); insert into notes values ('a'), ('b'), ('c')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	f := newFixture(t, "lite-job", "sqlite")
	streams, err := source.SQLite(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	f.backupStreams(streams)

	addr := freeAddr(t)
	restoredPath := filepath.Join(t.TempDir(), "restored", "app.db")
	start := fmt.Sprintf("UPKEEP_DRILL_TEST_APP=%s exec %q -test.run='^TestHelperApp$'", addr, os.Args[0])
	d := &policy.Drill{
		Name: "lite-drill", Backup: "lite-job",
		Into: policy.DrillTarget{SQLite: &policy.SQLiteTarget{Path: restoredPath}},
		Verify: []policy.VerifyStep{
			{SQL: "select count(*) = 3 from notes"},
			{HTTP: &policy.HTTPVerify{Start: start, ReadyURL: "http://" + addr + "/ready", CheckURL: "http://" + addr + "/notes", ExpectStatus: 200}},
		},
	}
	run, err := f.runner.Run(t.Context(), d, "")
	if err != nil {
		t.Fatalf("drill failed: %v", err)
	}
	if run.Status != upkeep.DrillPassed || len(run.Steps) != 2 {
		t.Errorf("run = %+v", run)
	}
	if _, err := os.Stat(restoredPath); !os.IsNotExist(err) {
		t.Errorf("restored file left without keep: %v", err)
	}

	// The application must have been stopped: the address is free again.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Errorf("the application still runs: %v", err)
	} else {
		l.Close()
	}

	d.Verify[1].HTTP.CheckURL = "http://" + addr + "/nothing-here"
	_, err = f.runner.Run(t.Context(), d, "")
	wantFailure(t, err, "verify", "/nothing-here answered 404, expected 200")

	d.Verify[1].HTTP.Start = "exit 7"
	_, err = f.runner.Run(t.Context(), d, "")
	wantFailure(t, err, "verify", `"exit 7" exited before`)
	if err != nil && !strings.Contains(err.Error(), "exit status 7") {
		t.Errorf("reason does not say how the app exited: %v", err)
	}
}
