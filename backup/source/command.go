package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/upkeep-dev/upkeep/backup/internal/tool"
)

// CommandSpec is a command whose standard output is backed up.
type CommandSpec struct {
	// Argv is the program and its arguments, run without a shell. Exactly one of Argv and Shell.
	Argv []string
	// Shell is a command line run with sh -c.
	Shell string
	// Env is added to the environment of Upkeep (NAME=value).
	Env []string
	// Name is the stream's name; "stdout" when empty.
	Name string
}

// Command returns the one stream of the command's standard output. The command runs when the
// stream is opened; a non-zero exit makes the stream fail with the exit status and the end of
// the command's stderr. Cancelling the context kills the command and every process it started.
func Command(ctx context.Context, c CommandSpec) ([]Stream, error) {
	var path string
	var args []string
	switch {
	case len(c.Argv) > 0 && c.Shell != "":
		return nil, errors.New("command: give either argv or a shell command line, not both")
	case len(c.Argv) > 0:
		path, args = c.Argv[0], c.Argv[1:]
	case strings.TrimSpace(c.Shell) != "":
		path, args = "/bin/sh", []string{"-c", c.Shell}
	default:
		return nil, errors.New("command: no command given")
	}
	name := c.Name
	if name == "" {
		name = "stdout"
	}
	what := fmt.Sprintf("command %q", strings.Join(c.Argv, " "))
	if c.Shell != "" {
		what = fmt.Sprintf("command %q", c.Shell)
	}
	return []Stream{{
		Name: name,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			return tool.Start(ctx, tool.Cmd{What: what, Path: path, Args: args, Env: c.Env})
		},
	}}, nil
}
