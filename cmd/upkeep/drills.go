package main

import (
	"log/slog"
	"path/filepath"

	"github.com/upkeep-dev/upkeep/backup"
	"github.com/upkeep-dev/upkeep/drill"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// newDrills returns the service that runs the policy's drills inside upkeep serve, over the
// data directory dir, reporting runs to eng.
func newDrills(db *sqlite.DB, dir string, eng *engine.Engine, logger *slog.Logger) *drill.Service {
	return drill.NewService(drill.ServiceConfig{
		Store:   db,
		Backups: backup.DrillBackups,
		WorkDir: drillWorkDir(dir),
		Ingest:  eng,
		Logger:  logger.With("component", "drills"),
	})
}

// drillWorkDir is where drills keep their private state and restored files in data directory dir.
func drillWorkDir(dir string) string { return filepath.Join(dir, "drills") }
