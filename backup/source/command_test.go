package source

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func openOnly(t *testing.T, streams []Stream, err error) io.ReadCloser {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 {
		t.Fatalf("got %d streams, want 1", len(streams))
	}
	rc, err := streams[0].Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func TestCommandStdout(t *testing.T) {
	streams, err := Command(context.Background(), CommandSpec{Argv: []string{"printf", "%s\n", "hello", "world"}})
	rc := openOnly(t, streams, err)
	if streams[0].Name != "stdout" {
		t.Errorf("name = %q, want stdout", streams[0].Name)
	}
	b, err := io.ReadAll(rc)
	if err != nil || string(b) != "hello\nworld\n" {
		t.Fatalf("read %q, %v", b, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	streams, err = Command(context.Background(), CommandSpec{Shell: "echo $GREETING | tr a-z A-Z", Env: []string{"GREETING=hi"}, Name: "export.txt"})
	rc = openOnly(t, streams, err)
	b, err = io.ReadAll(rc)
	if err != nil || string(b) != "HI\n" || streams[0].Name != "export.txt" {
		t.Fatalf("shell: read %q from %q, %v", b, streams[0].Name, err)
	}
	rc.Close()
}

// A command that fails after writing part of its output fails the stream, with its exit status
// and the end of its stderr: the partial output can never pass for a complete backup.
func TestCommandFailureFailsTheStream(t *testing.T) {
	streams, err := Command(context.Background(), CommandSpec{Shell: "echo partial; echo 'exporter: disk on fire' >&2; exit 3"})
	rc := openOnly(t, streams, err)
	b, err := io.ReadAll(rc)
	if string(b) != "partial\n" {
		t.Errorf("read %q before the failure", b)
	}
	if err == nil {
		t.Fatal("reading a command that exits 3 succeeded")
	}
	for _, want := range []string{`command "echo partial;`, "exit status 3", "exporter: disk on fire"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if cerr := rc.Close(); cerr == nil || cerr.Error() != err.Error() {
		t.Errorf("Close after the failure = %v, want the same error", cerr)
	}

	// A program that does not exist fails at Open, naming it.
	streams, err = Command(context.Background(), CommandSpec{Argv: []string{"/nonexistent/exporter"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := streams[0].Open(context.Background()); err == nil || !strings.Contains(err.Error(), "/nonexistent/exporter") {
		t.Errorf("Open of a missing program: %v", err)
	}
}

func TestCommandSpecErrors(t *testing.T) {
	for _, c := range []CommandSpec{{}, {Shell: "  "}, {Argv: []string{"true"}, Shell: "true"}} {
		if _, err := Command(context.Background(), c); err == nil {
			t.Errorf("Command(%+v) accepted", c)
		}
	}
}

// Cancelling the context kills the command and the processes it started (its process group).
func TestCommandCancelKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	streams, err := Command(ctx, CommandSpec{Shell: "sleep 600 & echo $! > " + pidFile + "; echo started; wait"})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := streams[0].Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if _, err := io.ReadFull(rc, buf); err != nil || string(buf) != "started\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.ReadAll(rc)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v, want context.Canceled", err)
	}
	rc.Close()
	waitGone(t, child)
}

// streamFails reads the stream to its end and checks that it fails with an error saying all of
// wants.
func streamFails(t *testing.T, s Stream, wants ...string) {
	t.Helper()
	rc, err := s.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if err == nil {
		t.Fatalf("stream %s succeeded", s.Name)
	}
	t.Logf("the error: %v", err)
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// waitGone waits until process pid no longer exists (a killed child is reaped by init).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && strings.Contains(string(st), ") Z ") {
			return // killed, waiting to be reaped
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Closing a stream before its end stops the command: nothing keeps running in the background.
func TestCommandCloseEarlyStopsIt(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	streams, err := Command(context.Background(), CommandSpec{Shell: "echo $$ > " + pidFile + "; yes"})
	rc := openOnly(t, streams, err)
	if _, err := io.ReadFull(rc, make([]byte, 1<<16)); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("close early: %v", err)
	}
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	waitGone(t, pid)
}
