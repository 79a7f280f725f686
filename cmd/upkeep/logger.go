package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/upkeep-dev/upkeep/policy"
)

// newLogger builds the process logger from server.log in the policy.
func newLogger(w io.Writer, cfg policy.Log) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(cfg.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.ToLower(cfg.Format) == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
