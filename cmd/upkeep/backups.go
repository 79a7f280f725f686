package main

import (
	"log/slog"

	"github.com/upkeep-dev/upkeep/backup"
	"github.com/upkeep-dev/upkeep/engine"
	"github.com/upkeep-dev/upkeep/store/sqlite"
)

// newBackups returns the backup service over the data directory dir, reporting runs to eng
// (nil: to nobody, as for upkeep backup run without a server).
func newBackups(db *sqlite.DB, dir string, eng *engine.Engine, logger *slog.Logger) *backup.Service {
	w := backup.Wiring{DataDir: dir}
	cfg := backup.Config{
		DataDir:   dir,
		Open:      w.Open,
		Streams:   w.Streams,
		Retention: w.Retention(),
		Logger:    logger.With("component", "backups"),
	}
	if db != nil {
		cfg.Store = db
	}
	if eng != nil {
		cfg.Ingest = eng
	}
	return backup.New(cfg)
}
