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

// StatusExportTarget is the destination of the export: a directory or an S3-compatible bucket,
// exactly one of them.
type StatusExportTarget struct {
	Path string         `yaml:"path" jsonschema:"description=Directory the export is published as (relative to the working directory of upkeep serve). It becomes a symbolic link swapped atomically to a new directory on every export: it must not exist yet\\, be empty or be such a link. Serve it with any web server."`
	S3   *S3Destination `yaml:"s3" jsonschema:"description=An S3-compatible bucket (AWS\\, MinIO\\, versitygw\\, ...) served as a static site: changed files are uploaded\\, pages last\\, and files no longer in the export deleted. Same keys as a backup destination's s3 without object_lock_days."`
}

// Kind names the target's kind ("path" or "s3"; "" when none is set).
func (t StatusExportTarget) Kind() string {
	if k := t.kinds(); len(k) > 0 {
		return k[0]
	}
	return ""
}

func (t StatusExportTarget) kinds() []string {
	var out []string
	if t.Path != "" {
		out = append(out, DestinationPath)
	}
	if t.S3 != nil {
		out = append(out, DestinationS3)
	}
	return out
}

// String names the target for logs: the directory, or s3://bucket/prefix at the endpoint. It
// holds no credentials.
func (t StatusExportTarget) String() string {
	if s := t.S3; s != nil {
		out := "s3://" + s.Bucket + "/" + s.Prefix
		if s.Endpoint != "" {
			out += " at " + s.Endpoint
		}
		return out
	}
	return t.Path
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
	const to = "status_page.export.to"
	d.exactlyOne(to, e.To.kinds(), d.keyPos("to", to), d.isSet(to) && !d.hasProblemUnder(to), oneOf{what: "export target", kind: "kind", several: "an export target has exactly one kind",
		all: []string{DestinationPath, DestinationS3}, split: "publish to one of them; sync the other from it"})
	if s := e.To.S3; s != nil {
		d.checkS3(to+".s3", s)
		if lock := to + ".s3.object_lock_days"; d.isSet(lock) && !d.hasProblem(lock) {
			d.add(d.posAt(lock), lock, "a status page export is not locked", "remove object_lock_days: the export replaces and deletes its files on every run")
		}
	}
}
