package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/upkeep-dev/upkeep/policy"
)

// reloader holds the policy in force and applies new ones. Reloads are serialised; readers get
// the current policy without locking.
type reloader struct {
	logger *slog.Logger
	load   func() (*policy.Policy, error)
	src    policySource
	// apply puts a new valid policy into effect (monitors, heartbeats, ...); nil: nothing to do.
	apply func(ctx context.Context, p *policy.Policy) error

	mu      sync.Mutex // serialises Reload
	current atomic.Pointer[applied]
	// lastSeen is the hash of the file content last reloaded (valid or not), so the watcher
	// does not log the same invalid file again on every editor save event.
	lastSeen [sha256.Size]byte
}

type applied struct {
	policy *policy.Policy
	at     time.Time
}

func newReloader(logger *slog.Logger, src policySource, load func() (*policy.Policy, error), apply func(context.Context, *policy.Policy) error, initial *policy.Policy) *reloader {
	rt := &reloader{logger: logger, load: load, src: src, apply: apply}
	rt.current.Store(&applied{policy: initial, at: time.Now()})
	rt.lastSeen = sha256.Sum256(initial.Source)
	return rt
}

func (rt *reloader) Policy() *policy.Policy { return rt.current.Load().policy }
func (rt *reloader) LoadedAt() time.Time    { return rt.current.Load().at }

// Reload re-reads the policy and applies it when valid; an invalid policy is logged problem by
// problem and the old policy stays in force.
func (rt *reloader) Reload(ctx context.Context) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.src.builtin {
		rt.logger.Info("running the built-in quick-start policy; nothing to reload (write upkeep.yaml and restart to use your own)")
		return nil
	}
	next, err := rt.load()
	if err != nil {
		var problems policy.Problems
		if errors.As(err, &problems) {
			rt.logger.Error("new policy is invalid; keeping the previous one", "file", rt.src.path, "problems", len(problems))
			for _, p := range problems {
				rt.logger.Error("policy problem", "problem", p.String())
			}
		} else {
			rt.logger.Error("reloading policy failed; keeping the previous one", "err", err)
		}
		return err
	}
	rt.lastSeen = sha256.Sum256(next.Source)
	old := rt.Policy()
	if old.Server.Listen != next.Server.Listen {
		rt.logger.Warn("server.listen changed; restart upkeep to listen on the new address", "in_force", old.Server.Listen, "new", next.Server.Listen)
	}
	if old.Server.DataDir != next.Server.DataDir {
		rt.logger.Warn("server.data_dir changed; restart upkeep to use the new data directory", "in_force", old.Server.DataDir, "new", next.Server.DataDir)
	}
	// Settings that only take effect at start stay as they are, so the API tells the truth.
	next.Server.Listen, next.Server.DataDir = old.Server.Listen, old.Server.DataDir
	if next.Server.Log != old.Server.Log {
		rt.logger.Warn("server.log changed; restart upkeep to apply it")
		next.Server.Log = old.Server.Log
	}
	if rt.apply != nil {
		if err := rt.apply(ctx, next); err != nil {
			rt.logger.Error("applying the new policy failed; keeping the previous one", "err", err)
			return fmt.Errorf("applying the new policy: %w", err)
		}
	}
	rt.current.Store(&applied{policy: next, at: time.Now()})
	rt.logger.Info("policy reloaded", "summary", next.Summary())
	return nil
}

// watch starts watching the policy file and returns the loop that reloads it when it changes,
// to be run in its own goroutine. The watch is in place when watch returns, so no change made
// after that is missed. It watches the directory, not the file: editors and configuration tools
// replace files by renaming a new one over them.
func (rt *reloader) watch() (loop func(ctx context.Context), err error) {
	if rt.src.builtin {
		return func(context.Context) {}, nil
	}
	abs, err := filepath.Abs(rt.src.path)
	if err != nil {
		return nil, err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		w.Close()
		return nil, err
	}
	return func(ctx context.Context) {
		defer w.Close()
		const settle = 300 * time.Millisecond // editors write in several steps
		timer := time.NewTimer(settle)        // first round: catch a change made before the watch began
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) == abs && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					timer.Reset(settle)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				rt.logger.Warn("watching the policy file", "err", err)
			case <-timer.C:
				if rt.changedOnDisk() {
					rt.logger.Info("policy file changed; reloading", "file", rt.src.path)
					_ = rt.Reload(ctx)
				}
			}
		}
	}, nil
}

// changedOnDisk reports whether the file differs from what was last reloaded.
func (rt *reloader) changedOnDisk() bool {
	data, err := os.ReadFile(rt.src.path)
	if err != nil {
		return true // let Reload report it
	}
	sum := sha256.Sum256(data)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if bytes.Equal(sum[:], rt.lastSeen[:]) {
		return false
	}
	rt.lastSeen = sum
	return true
}
