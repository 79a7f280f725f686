package restore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/upkeep-dev/upkeep/backup/restore"
	"github.com/upkeep-dev/upkeep/backup/source"
)

// backup reads every stream once, as the repository would, and keeps them in memory.
type backup map[string][]byte

func take(t *testing.T, streams []source.Stream) (backup, []string) {
	t.Helper()
	b := backup{}
	var names []string
	for _, s := range streams {
		rc, err := s.Open(context.Background())
		if err != nil {
			t.Fatalf("open %s: %v", s.Name, err)
		}
		data, err := io.ReadAll(rc)
		if err := rc.Close(); err != nil {
			t.Fatalf("close %s: %v", s.Name, err)
		}
		if err != nil {
			t.Fatalf("read %s: %v", s.Name, err)
		}
		b[s.Name] = data
		names = append(names, s.Name)
	}
	return b, names
}

func (b backup) open(_ context.Context, name string) (io.ReadCloser, error) {
	data, ok := b[name]
	if !ok {
		return nil, fmt.Errorf("no stream %q", name)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

var _ restore.Opener = backup(nil).open
