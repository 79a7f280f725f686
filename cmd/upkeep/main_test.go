package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// upkeepBin is the real binary, built once for the tests that run it as a child process.
var upkeepBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "upkeep-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	upkeepBin = filepath.Join(dir, "upkeep")
	build := exec.Command("go", "build", "-o", upkeepBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building upkeep for the tests:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runCLI runs the program in-process and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, envVars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := envVars[k]; return v, ok }
	err := run(context.Background(), args, lookup, strings.NewReader(""), &stdout, &stderr)
	return exitCode(err, &stderr), stdout.String(), stderr.String()
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a running "upkeep serve" child process.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	done   chan error
}

var servingLine = regexp.MustCompile(`serving at (http://\S+)`)

// startServe starts the real binary with args (plus --listen on a free port) in dir.
func startServe(t *testing.T, dir string, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(upkeepBin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.wait()
	})
	select {
	case s.url = <-urlc:
	case err := <-s.done:
		s.done <- err
		t.Fatalf("upkeep serve exited before serving: %v\n%s", err, s.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("upkeep serve did not start within a minute\n%s", s.stderr)
	}
	return s
}

// wait returns a channel that yields the process's exit error, any number of times.
func (s *server) wait() chan error {
	c := make(chan error, 1)
	go func() {
		err := <-s.done
		s.done <- err
		c <- err
	}()
	return c
}

func (s *server) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	return s.do(t, http.MethodGet, path, token, nil)
}

func (s *server) do(t *testing.T, method, path, token string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killShell kills the shell whose pid is in pidFile, and its process group: a hook or check started
// by a killed Upkeep outlives it.
func killShell(pidFile string) {
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	if n, err := strconv.Atoi(strings.TrimSpace(string(pid))); err == nil {
		_ = syscall.Kill(-n, syscall.SIGKILL)
		_ = syscall.Kill(n, syscall.SIGKILL)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
