package policy

import (
	"fmt"
	"time"
)

// StatusExport publishes the status page as static files (status_page.export), so that it
// stays reachable from another host when the server is down.
type StatusExport struct {
	To    StatusExportTarget `yaml:"to" jsonschema:"required,description=Where the export is written."`
	Every Duration           `yaml:"every" jsonschema:"default=5m,description=How often the export is written even when nothing changed (the uptime figures move on). At least 10s."`
	// OnChange is *bool: a default of true must not overwrite an explicit false.
	OnChange *bool `yaml:"on_change" jsonschema:"description=Also write it within seconds of every change of a service's state and of every incident change (at most once every 10 seconds). Default: true."`
}

// StatusExportTarget is the destination of the export. Only a directory for now; S3-compatible
// storage is to come as another field here, exactly one of them set.
type StatusExportTarget struct {
	Path string `yaml:"path" jsonschema:"required,description=Directory the export is published as (relative to the working directory of upkeep serve). It becomes a symbolic link swapped atomically to a new directory on every export: it must not exist yet\\, be empty or be such a link. Serve it with any web server."`
}

// IsOnChange reports whether the export is written on every change.
func (e *StatusExport) IsOnChange() bool { return e.OnChange == nil || *e.OnChange }

// minExportEvery is the shortest status_page.export.every.
const minExportEvery = 10 * time.Second

func (d *decoder) checkStatusExport(e *StatusExport) {
	if e == nil {
		return
	}
	const path = "status_page.export.every"
	if !d.hasProblem(path) && e.Every.Duration < minExportEvery {
		d.add(d.posAt(path), path, fmt.Sprintf("every %s is too often", d.show(path, e.Every.String())), "at least 10s")
	}
}
