package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSpool(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	s, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"one", "two", "three"} {
		if err := s.Put([]byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	names, err := s.Pending()
	if err != nil || len(names) != 3 {
		t.Fatalf("pending %v, %v", names, err)
	}
	if err := s.Done(names[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Refused(names[1]); err != nil {
		t.Fatal(err)
	}
	// A batch a crash interrupted while it was written is a temporary file: gone on open.
	if err := os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put([]byte("four")); err != nil {
		t.Fatal(err)
	}
	names, _ = s.Pending()
	var got []string
	for _, n := range names {
		b, err := s.Read(n)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(b))
	}
	if !slices.Equal(got, []string{"three", "four"}) {
		t.Errorf("pending after reopening: %q, want the oldest first: three, four", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-123")); !os.IsNotExist(err) {
		t.Errorf("the interrupted batch is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, names[0])); err != nil {
		t.Error(err)
	}
}
