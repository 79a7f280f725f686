package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// TestKill9DuringWritesLosesNothing kills "upkeep serve" with SIGKILL while many clients make
// authenticated API requests: each is written to the audit log before it is answered, so every
// request that got an answer must be in the store after a restart, and the store must be intact.
func TestKill9DuringWritesLosesNothing(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "upkeep-data")
	token := createTokenFor(t, data)
	var answered []string

	for round := range 3 {
		s := startServe(t, dir, nil)
		client := &http.Client{Timeout: 5 * time.Second}
		answered = append(answered, killDuringBurst(t, s, 16, 300, func(id string) bool {
			req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v1/tokens", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("X-Request-Id", id)
			resp, err := client.Do(req)
			if err != nil {
				return false // the server is gone
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, fmt.Sprintf("r%d-", round))...)
	}

	// A restart opens the store, and every answered request is in the audit log.
	s := startServe(t, dir, nil)
	if code, body := s.get(t, "/readyz", ""); code != http.StatusOK {
		t.Fatalf("not ready after kill -9: %d %s", code, body)
	}
	_ = s.cmd.Process.Kill()
	<-s.wait()

	db, err := sqlite.Open(context.Background(), data, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("opening the store after kill -9: %v", err)
	}
	defer db.Close()
	var check string
	if err := db.Reader().QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	stored := map[string]bool{}
	for before := int64(0); ; {
		page, err := db.Audit(context.Background(), before, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			stored[e.RequestID] = true
		}
		before = page[len(page)-1].ID
	}
	missing := 0
	for _, id := range answered {
		if !stored[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d answered requests are missing from the audit log after kill -9", missing, len(answered))
	}
	t.Logf("%d answered requests over 3 kills, all in the store", len(answered))
}

// killDuringBurst runs workers goroutines that call do with unique ids until the server has
// answered at least n of them, then kills the server with SIGKILL mid-burst. It returns the ids
// that were answered (do returned true) before the kill.
func killDuringBurst(t *testing.T, s *server, workers, n int, do func(id string) bool, prefix string) []string {
	t.Helper()
	var (
		mu       sync.Mutex
		answered []string
		count    atomic.Int64
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%sw%d-%d", prefix, w, i)
				if !do(id) {
					continue
				}
				mu.Lock()
				answered = append(answered, id)
				mu.Unlock()
				count.Add(1)
			}
		})
	}
	waitFor(t, "a burst of answered requests", 60*time.Second, func() bool { return count.Load() >= int64(n) })
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.wait()
	close(stop)
	wg.Wait()
	return answered
}
