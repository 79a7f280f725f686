package backup

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/policy"
)

func TestWiredRetention(t *testing.T) {
	var snaps []Snapshot
	day := 24 * time.Hour
	for i := range 10 {
		snaps = append(snaps, Snapshot{ID: string(rune('a' + i)), Time: t0.Add(time.Duration(i) * day)})
	}
	forget := Wiring{}.Retention()(policy.Keep{Last: 2, Daily: 3}, snaps, t0.Add(10*day), time.UTC)
	if !slices.Equal(forget, []string{"a", "b", "c", "d", "e", "f", "g"}) {
		t.Errorf("forget %v", forget)
	}
	if got := (Wiring{}).Retention()(policy.Keep{}, snaps, t0, time.UTC); got != nil {
		t.Errorf("no rules forget %v", got)
	}
}

func TestWiredCommandStreams(t *testing.T) {
	b := &policy.Backup{Name: "export", Command: &policy.CommandSource{Run: policy.Command{Shell: "echo $UPKEEP_BACKUP_JOB"}, Name: "out.txt"}}
	ss, err := Wiring{}.Streams(context.Background(), b)
	if err != nil || len(ss) != 1 || ss[0].Name != "out.txt" {
		t.Fatalf("streams %+v %v", ss, err)
	}
	rc, err := ss[0].Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil || strings.TrimSpace(string(got)) != "export" {
		t.Errorf("output %q %v", got, err)
	}
}

func TestDestinationPassword(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pass")
	if err := os.WriteFile(file, []byte("s3cret\r\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pw, err := DestinationPassword(policy.Destination{PasswordFile: file}); pw != "s3cret" || err != nil {
		t.Errorf("from file: %q %v", pw, err)
	}
	if pw, err := DestinationPassword(policy.Destination{Password: "env-pw"}); pw != "env-pw" || err != nil {
		t.Errorf("from env: %q %v", pw, err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []policy.Destination{{}, {PasswordFile: empty}, {PasswordFile: filepath.Join(dir, "missing")}} {
		if _, err := DestinationPassword(d); err == nil {
			t.Errorf("%+v: no error", d)
		}
	}
}
