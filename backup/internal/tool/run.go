// Package tool runs the external programs that backup sources and restores drive (pg_dump,
// pg_restore, mariadb-dump, a user's command...): their output streamed, never staged on disk,
// their failure turned into an error that names the program and ends with its stderr, with the
// secrets it was given removed.
package tool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// stderrTail is how much of a program's stderr an error quotes: the end, where the reason is.
const stderrTail = 2048

// waitDelay bounds how long a killed program (or one whose children still hold its output open)
// may keep its pipes before they are closed under it.
const waitDelay = 5 * time.Second

// Cmd describes one run of a program.
type Cmd struct {
	// What names the run in errors, e.g. `pg_dump of database "app"`.
	What string
	Path string
	Args []string // without the program name
	// Env is added to the environment of Upkeep (passwords go here, never in Args).
	Env   []string
	Stdin io.Reader
	// Secrets are removed from the stderr quoted in errors.
	Secrets []string
	// ExtraFiles are passed as file descriptors 3, 4... and closed here once the program started.
	ExtraFiles []*os.File
}

func (c *Cmd) command(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdin = c.Stdin
	cmd.WaitDelay = waitDelay
	cmd.ExtraFiles = c.ExtraFiles
	ownProcessGroup(cmd) // cancellation kills the program and everything it started
	return cmd
}

func (c *Cmd) closeFiles() {
	for _, f := range c.ExtraFiles {
		_ = f.Close()
	}
}

// failure builds the error of a failed run.
func (c *Cmd) failure(ctx context.Context, err error, stderr *tailBuffer) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", c.What, ctx.Err())
	}
	msg := redact(stderr.String(), c.Secrets)
	if msg == "" {
		return fmt.Errorf("%s failed: %w", c.What, err)
	}
	return fmt.Errorf("%s failed: %w: %s", c.What, err, msg)
}

// Run runs the program to its end and returns what it wrote to stdout.
func Run(ctx context.Context, c Cmd) ([]byte, error) {
	cmd := c.command(ctx)
	var stdout bytes.Buffer
	stderr := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	err := cmd.Start()
	c.closeFiles()
	if err != nil {
		return nil, fmt.Errorf("%s: starting %s: %w", c.What, c.Path, err)
	}
	if err := cmd.Wait(); err != nil {
		return stdout.Bytes(), c.failure(ctx, err, stderr)
	}
	return stdout.Bytes(), nil
}

// Start starts the program and returns its stdout. Read returns the program's failure (exit
// status and stderr) instead of io.EOF when it exits unsuccessfully, so a failed producer can
// never look like a complete stream. Close stops a program that has not finished (its output is
// no longer wanted) and returns its failure if it had already failed. Read and Close must not be
// called concurrently.
func Start(ctx context.Context, c Cmd) (io.ReadCloser, error) {
	cmd := c.command(ctx)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		c.closeFiles()
		return nil, fmt.Errorf("%s: %w", c.What, err)
	}
	s := &stream{ctx: ctx, c: c, cmd: cmd, stdout: stdout, stderr: &tailBuffer{}}
	cmd.Stderr = s.stderr
	err = cmd.Start()
	c.closeFiles()
	if err != nil {
		return nil, fmt.Errorf("%s: starting %s: %w", c.What, c.Path, err)
	}
	return s, nil
}

type stream struct {
	ctx    context.Context
	c      Cmd
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr *tailBuffer
	done   bool
	err    error // the program's failure, once it has exited
}

func (s *stream) Read(p []byte) (int, error) {
	if s.done {
		if s.err != nil {
			return 0, s.err
		}
		return 0, io.EOF
	}
	n, err := s.stdout.Read(p)
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, io.EOF) && s.ctx.Err() == nil {
		// A read error on a pipe is unusual: stop the program and report the read error.
		s.wait(true)
		s.err = fmt.Errorf("%s: reading its output: %w", s.c.What, err)
		return n, s.err
	}
	s.wait(false)
	if s.err != nil {
		return n, s.err
	}
	return n, io.EOF
}

func (s *stream) Close() error {
	if s.done {
		return s.err
	}
	s.wait(true) // closed before the end: the reader does not want the rest
	return nil
}

// wait waits for the program to exit, stopping it first when kill is set.
func (s *stream) wait(kill bool) {
	if kill {
		killProcessGroup(s.cmd)
	}
	err := s.cmd.Wait()
	s.done = true
	if err != nil && !kill {
		s.err = s.c.failure(s.ctx, err, s.stderr)
	}
}

// tailBuffer keeps the last stderrTail bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - stderrTail; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept stderr on one line, whitespace folded.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(t.buf), "?")), " ")
}

// redact replaces every secret in s; those shorter than 3 characters would blank out ordinary
// words and are left (as the sql check does).
func redact(s string, secrets []string) string {
	for _, secret := range secrets {
		if len(secret) >= 3 {
			s = strings.ReplaceAll(s, secret, "xxxxx")
		}
	}
	return s
}
