package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Spool keeps batches on disk until the server has them: one file per batch, named by a
// sequence number, written to a temporary name, synced and renamed, so that after a crash
// every file in the spool is a whole batch (a half-written one is a temporary file, removed on
// open).
type Spool struct {
	dir  string
	mu   sync.Mutex
	next uint64
}

const spoolExt = ".json"

// OpenSpool opens (creating it if needed) the spool in dir.
func OpenSpool(dir string) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, next: 1}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			_ = os.Remove(filepath.Join(dir, name)) // a batch a crash interrupted: never spooled
			continue
		}
		if seq, ok := seqOf(name); ok && seq >= s.next {
			s.next = seq + 1
		}
	}
	return s, nil
}

func seqOf(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, spoolExt)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 64)
	return n, err == nil
}

// Put stores a batch durably.
func (s *Spool) Put(body []byte) error {
	s.mu.Lock()
	seq := s.next
	s.next++
	s.mu.Unlock()
	tmp, err := os.CreateTemp(s.dir, ".tmp-")
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	_, err = tmp.Write(body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, spoolExt)))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("spool: %w", err)
	}
	return syncDir(s.dir)
}

// Pending lists the spooled batches, oldest first.
func (s *Spool) Pending() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out []string
	for _, e := range entries {
		if _, ok := seqOf(e.Name()); ok {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// Read returns a spooled batch.
func (s *Spool) Read(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(s.dir, name))
}

// Done removes a batch the server has.
func (s *Spool) Done(name string) error {
	if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	return syncDir(s.dir)
}

// Refused sets aside a batch the server refused as a whole, for a person to look at: sending
// it again would be refused again.
func (s *Spool) Refused(name string) error {
	if err := os.Rename(filepath.Join(s.dir, name), filepath.Join(s.dir, name+".refused")); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return syncDir(s.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
