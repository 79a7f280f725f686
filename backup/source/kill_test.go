package source

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a process that produces a backup stream (and is killed).
const helperEnv = "UPKEEP_SOURCE_HELPER_PIDFILE"

func TestHelperProducer(t *testing.T) {
	pidFile := os.Getenv(helperEnv)
	if pidFile == "" {
		t.Skip("helper process for TestKill9LeavesNoProducerBehind")
	}
	streams, err := Command(context.Background(), CommandSpec{Shell: "echo $$ > " + pidFile + "; exec sleep 600"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := streams[0].Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {} // reading, as a backup would, until killed
}

// When Upkeep is killed with SIGKILL in the middle of a backup, the program producing the stream
// dies with it rather than running on unsupervised.
func TestKill9LeavesNoProducerBehind(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	pidFile := filepath.Join(t.TempDir(), "producer.pid")
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperProducer$")
	helper.Env = append(os.Environ(), helperEnv+"="+pidFile)
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	var producer int
	for producer == 0 {
		b, _ := os.ReadFile(pidFile)
		producer, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(10 * time.Millisecond)
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	waitGone(t, producer)
}
