package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep/policy"
)

// hookOutputTail is how much of a failed hook's output its error quotes.
const hookOutputTail = 500

// runHook runs a before or after hook with extra environment variables; its error says how it
// failed, with the end of its output.
func runHook(ctx context.Context, c policy.Command, env []string) error {
	args := c.Args()
	if len(args) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second // a child that keeps the output open does not hold the run
	setProcessGroup(cmd)
	err := cmd.Run()
	if err == nil {
		return nil
	}
	var exit *exec.ExitError
	what := fmt.Sprintf("%q", c.String())
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("%s: %w", what, context.Cause(ctx))
	case errors.As(err, &exit):
		err = fmt.Errorf("%s: %s", what, exit.ProcessState)
	default:
		err = fmt.Errorf("%s: %w", what, err)
	}
	if tail := strings.TrimSpace(out.String()); tail != "" {
		err = fmt.Errorf("%w: %s", err, tail)
	}
	return err
}

// tailBuffer keeps the last hookOutputTail bytes written to it.
type tailBuffer struct{ b bytes.Buffer }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b.Write(p)
	if over := t.b.Len() - hookOutputTail; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.b.String() }
