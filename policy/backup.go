package policy

// Backups: scheduled copies of a service's data to one or more destinations. A backup has
// exactly one source (files, postgres, mysql, sqlite, command), checked like the monitors'
// check kinds. Every backup is also a monitor of kind "backup" with the backup's name (see
// addBackupMonitors): its runs drive the monitor's state, incidents and escalation.

import (
	"fmt"
	"strings"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/upkeep-dev/upkeep/heartbeat/cron"
)

// Backup is a scheduled backup of one source to one or more destinations.
type Backup struct {
	Name    string `yaml:"name" policy:"name" jsonschema:"required,description=Name of the backup; drills refer to it. The backup is also a monitor of this name (kind backup)\\, so no monitor may have it."`
	Service string `yaml:"service" policy:"ref=service" jsonschema:"description=Name of the service whose data this backs up. A failed or missed run is an outage of that service's backup monitor and follows the service's escalation."`

	Files    *FilesSource    `yaml:"files" jsonschema:"description=Directory trees and files."`
	Postgres *PostgresSource `yaml:"postgres" jsonschema:"description=PostgreSQL databases (pg_dump custom format per database\\, plus the globals)."`
	MySQL    *MySQLSource    `yaml:"mysql" jsonschema:"description=MySQL or MariaDB databases (mariadb-dump or mysqldump --single-transaction)."`
	SQLite   *SQLiteSource   `yaml:"sqlite" jsonschema:"description=An SQLite database\\, copied consistently while in use."`
	Command  *CommandSource  `yaml:"command" jsonschema:"description=The standard output of a command\\, stored as one file."`

	Schedule string      `yaml:"schedule" jsonschema:"required,description=When the backup runs: a five-field cron expression (\"0 6 * * *\") or @daily\\, @hourly\\, ..."`
	TZ       string      `yaml:"tz" jsonschema:"default=UTC,description=Time zone of the schedule (IANA name such as Europe/Berlin)."`
	To       []string    `yaml:"to" policy:"ref=destination" jsonschema:"required,description=Names of the destinations the backup is written to; every run writes to all of them."`
	Keep     Keep        `yaml:"keep" jsonschema:"description=Which snapshots are kept at each destination after a successful run. Default: all of them."`
	Hooks    BackupHooks `yaml:"hooks" jsonschema:"description=Commands run before and after each run."`
	Timeout  Duration    `yaml:"timeout" jsonschema:"default=6h,description=How long a run may take; a run still going then is cancelled and failed."`
	Grace    Duration    `yaml:"grace" jsonschema:"default=1h,description=How late a run may start before it counts as missed (the backup monitor goes down)."`
	// CatchUp is a pointer so that an explicit false is not replaced by the default (true).
	CatchUp     *bool              `yaml:"catch_up" jsonschema:"description=Run at startup when a scheduled run was missed while Upkeep was not running (the miss is recorded). Default: true."`
	Verify      *BackupVerify      `yaml:"verify" jsonschema:"description=Regular verification of the repositories."`
	Maintenance *BackupMaintenance `yaml:"maintenance" jsonschema:"description=When the maintenance that frees the space of forgotten snapshots runs. Default: after every run that forgot snapshots."`
}

// FilesSource is a set of directory trees.
type FilesSource struct {
	Paths         []string `yaml:"paths" jsonschema:"required,description=Absolute paths of the directories and files to back up."`
	Exclude       []string `yaml:"exclude" jsonschema:"description=Glob patterns (gitignore style) of what to leave out\\, e.g. [\"*.tmp\"\\, \"cache/\"]."`
	OneFileSystem bool     `yaml:"one_file_system" jsonschema:"description=Do not cross into other mounted file systems."`
}

// PostgresSource is a PostgreSQL server.
type PostgresSource struct {
	DSN       Secret   `yaml:"dsn" jsonschema:"required,description=Connection string (postgres://user:password@host/db or key=value). Use ${VAR} when it holds a password."`
	Databases []string `yaml:"databases" jsonschema:"description=Databases to dump. Default: every database except templates."`
	Exclude   []string `yaml:"exclude" jsonschema:"description=Databases to leave out."`
}

// MySQLSource is a MySQL or MariaDB server.
type MySQLSource struct {
	DSN       Secret   `yaml:"dsn" jsonschema:"required,description=Connection string (user:password@tcp(host:3306)/ as for go-sql-driver/mysql\\, or mysql://user:password@host:3306/). Use ${VAR} when it holds a password."`
	Databases []string `yaml:"databases" jsonschema:"description=Databases to dump. Default: every database except the system ones."`
}

// SQLiteSource is an SQLite database file.
type SQLiteSource struct {
	Path string `yaml:"path" jsonschema:"required,description=Absolute path of the database file."`
}

// CommandSource is a command whose standard output is backed up.
type CommandSource struct {
	Run  Command `yaml:"run" jsonschema:"required,description=The command: a list (program and arguments\\, run directly) or a string (run by /bin/sh -c)."`
	Name string  `yaml:"name" jsonschema:"default=stdout,description=Name of the file the output is stored as in the snapshot."`
}

// Keep says which snapshots are kept (restic's forget --keep-* rules). A snapshot kept by any
// rule stays. The zero value keeps everything.
type Keep struct {
	Last    int      `yaml:"last" jsonschema:"minimum=-1,description=Keep the newest n snapshots; -1: no limit."`
	Hourly  int      `yaml:"hourly" jsonschema:"minimum=-1,description=Keep the newest snapshot of each of the last n hours that have one; -1: no limit."`
	Daily   int      `yaml:"daily" jsonschema:"minimum=-1,description=Keep the newest snapshot of each of the last n days that have one; -1: no limit."`
	Weekly  int      `yaml:"weekly" jsonschema:"minimum=-1,description=Keep the newest snapshot of each of the last n weeks that have one; -1: no limit."`
	Monthly int      `yaml:"monthly" jsonschema:"minimum=-1,description=Keep the newest snapshot of each of the last n months that have one; -1: no limit."`
	Yearly  int      `yaml:"yearly" jsonschema:"minimum=-1,description=Keep the newest snapshot of each of the last n years that have one; -1: no limit."`
	Within  Duration `yaml:"within" jsonschema:"description=Keep every snapshot younger than this\\, e.g. 14d."`
}

// Any reports whether a rule is set; with none, every snapshot is kept.
func (k Keep) Any() bool {
	return k.Last != 0 || k.Hourly != 0 || k.Daily != 0 || k.Weekly != 0 || k.Monthly != 0 || k.Yearly != 0 || k.Within.Duration > 0
}

// BackupHooks are commands run around each run.
type BackupHooks struct {
	Before Command `yaml:"before" jsonschema:"description=Runs before the backup; if it fails (exits non-zero) the run is aborted and failed."`
	After  Command `yaml:"after" jsonschema:"description=Runs after the backup\\, whatever its outcome (UPKEEP_BACKUP_STATUS tells it); if it fails\\, the run is failed."`
}

// BackupVerify schedules verification of a backup's repositories.
type BackupVerify struct {
	Schedule string  `yaml:"schedule" jsonschema:"required,description=When to verify\\, as a cron expression in the backup's time zone."`
	ReadData Percent `yaml:"read_data" jsonschema:"description=Share of the stored content to read back and check\\, e.g. \"10%\". Default: 0% (metadata only)."`
}

// BackupMaintenance schedules the maintenance of a backup's repositories.
type BackupMaintenance struct {
	Schedule string `yaml:"schedule" jsonschema:"required,description=When to run maintenance\\, as a cron expression in the backup's time zone."`
}

// Command is a command line: Argv (run directly) or Shell (run by /bin/sh -c). The policy
// writes it as a list or as a string.
type Command struct {
	Argv  []string
	Shell string
}

// UnmarshalText reads a command written as a string, which runs through /bin/sh -c. A list is
// decoded by the decoder itself (decodeCommand).
func (c *Command) UnmarshalText(text []byte) error {
	*c = Command{Shell: strings.TrimSpace(string(text))}
	return nil
}

// MarshalText gives the command as a shell command line.
func (c Command) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// IsZero reports whether no command is set.
func (c Command) IsZero() bool { return len(c.Argv) == 0 && c.Shell == "" }

// Args returns the program and its arguments: Argv, or /bin/sh -c Shell.
func (c Command) Args() []string {
	if c.Shell != "" {
		return []string{"/bin/sh", "-c", c.Shell}
	}
	return c.Argv
}

// String gives the command for messages.
func (c Command) String() string {
	if c.Shell != "" {
		return c.Shell
	}
	return strings.Join(c.Argv, " ")
}

// JSONSchema describes a Command: a string or a list of strings.
func (Command) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		OneOf: []*jsonschema.Schema{
			{Type: "string", Description: "run by /bin/sh -c"},
			{Type: "array", Items: &jsonschema.Schema{Type: "string"}, MinItems: ptr(uint64(1)), Description: "program and arguments"},
		},
		Description: `A command: a list (["pg_dumpall", "--globals-only"]) runs the program directly; a string ("pg_dumpall | gzip") runs through /bin/sh -c.`,
	}
}

// kindName names the type in "expected ..., got ..." problems.
func (Command) kindName() string { return "a command (a string or a list)" }

// Backup sources, as Source returns them.
const (
	SourceFiles    = "files"
	SourcePostgres = "postgres"
	SourceMySQL    = "mysql"
	SourceSQLite   = "sqlite"
	SourceCommand  = "command"
)

var allSources = []string{SourceFiles, SourcePostgres, SourceMySQL, SourceSQLite, SourceCommand}

func (b *Backup) sources() []string {
	var out []string
	add := func(name string, isNil bool) {
		if !isNil {
			out = append(out, name)
		}
	}
	add(SourceFiles, b.Files == nil)
	add(SourcePostgres, b.Postgres == nil)
	add(SourceMySQL, b.MySQL == nil)
	add(SourceSQLite, b.SQLite == nil)
	add(SourceCommand, b.Command == nil)
	return out
}

// Source names the backup's source kind ("files", "postgres", ...).
func (b *Backup) Source() string {
	if s := b.sources(); len(s) > 0 {
		return s[0]
	}
	return ""
}

// CatchUpEnabled reports whether a run missed while Upkeep was down starts at startup.
func (b *Backup) CatchUpEnabled() bool { return b.CatchUp == nil || *b.CatchUp }

// Cron returns the parsed schedule of the backup.
func (b *Backup) Cron() (*cron.Schedule, error) {
	loc, err := LoadLocation(b.TZ)
	if err != nil {
		return nil, err
	}
	return cron.Parse(b.Schedule, loc)
}

// Backup returns the backup with the given name, or nil.
func (p *Policy) Backup(name string) *Backup {
	for i := range p.Backups {
		if p.Backups[i].Name == name {
			return &p.Backups[i]
		}
	}
	return nil
}

// minBackupTimeout is the shortest run time a backup may be given.
const minBackupTimeout = time.Second

func (d *decoder) checkBackups(bs []Backup) {
	for i := range bs {
		b := &bs[i]
		path := fmt.Sprintf("backups[%d]", i)
		srcs := b.sources()
		d.exactlyOne(path, srcs, d.posAt(path), !d.hasProblemUnder(path), oneOf{what: "backup", kind: "source", all: allSources,
			split: "split it into one backup per source"})
		if b.Files != nil {
			for j, p := range b.Files.Paths {
				d.checkAbsPath(fmt.Sprintf("%s.files.paths[%d]", path, j), p)
			}
			if fp := path + ".files.paths"; d.isSet(fp) && len(b.Files.Paths) == 0 {
				d.add(d.posAt(fp), fp, "no paths", "add at least one directory or file")
			}
		}
		if b.SQLite != nil {
			d.checkAbsPath(path+".sqlite.path", b.SQLite.Path)
		}
		if b.Command != nil {
			if rp := path + ".command.run"; d.isSet(rp) && b.Command.Run.IsZero() {
				d.add(d.posAt(rp), rp, "the command is empty", `e.g. run: ["/usr/local/bin/export", "--all"]`)
			}
			if np := path + ".command.name"; d.isSet(np) && !validEntryName(b.Command.Name) {
				d.add(d.posAt(np), np, fmt.Sprintf("invalid file name %s", d.show(np, b.Command.Name)), "a file name without / such as export.json")
			}
		}
		d.checkBackupSchedule(path, b)
		if tp := path + ".to"; d.isSet(tp) && len(b.To) == 0 {
			d.add(d.posAt(tp), tp, "no destinations", "add at least one destination; two in different places are better")
		}
		seen := map[string]bool{}
		for j, t := range b.To {
			if seen[t] {
				p := fmt.Sprintf("%s.to[%d]", path, j)
				d.add(d.posAt(p), p, fmt.Sprintf("destination %s is listed twice", d.show(p, t)), "list each destination once")
			}
			seen[t] = true
		}
		// A zero written in the file has been replaced by the default already: look at the text.
		if timeout, ok := d.writtenDuration(path+".timeout", b.Timeout); ok && timeout < minBackupTimeout {
			tp := path + ".timeout"
			d.add(d.posAt(tp), tp, fmt.Sprintf("timeout %s is too short", d.show(tp, b.Timeout.String())), `at least "1s"; e.g. "6h"`)
		}
		if grace, ok := d.writtenDuration(path+".grace", b.Grace); ok && grace < minHeartbeatGrace {
			gp := path + ".grace"
			d.add(d.posAt(gp), gp, fmt.Sprintf("grace %s is too short", d.show(gp, b.Grace.String())), `at least "1s"; e.g. "1h"`)
		}
		for key, n := range map[string]int{"last": b.Keep.Last, "hourly": b.Keep.Hourly, "daily": b.Keep.Daily,
			"weekly": b.Keep.Weekly, "monthly": b.Keep.Monthly, "yearly": b.Keep.Yearly} {
			if kp := path + ".keep." + key; n < -1 && !d.hasProblem(kp) {
				d.add(d.posAt(kp), kp, fmt.Sprintf("%s %d is negative", key, n), "a number of snapshots, or -1 for no limit")
			}
		}
		if b.Verify != nil {
			d.checkCron(path+".verify.schedule", b.Verify.Schedule, b.TZ)
		}
		if b.Maintenance != nil {
			d.checkCron(path+".maintenance.schedule", b.Maintenance.Schedule, b.TZ)
		}
	}
}

// validEntryName reports whether s can name a file in a snapshot.
func validEntryName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00")
}

func (d *decoder) checkBackupSchedule(path string, b *Backup) {
	tzPath := path + ".tz"
	if d.isSet(tzPath) || b.TZ != "UTC" {
		if _, err := LoadLocation(b.TZ); err != nil {
			d.add(d.posAt(tzPath), tzPath, fmt.Sprintf("unknown time zone %s", d.show(tzPath, b.TZ)),
				`an IANA time zone name such as "UTC", "Europe/Berlin" or "America/New_York"`)
			return
		}
	}
	d.checkCron(path+".schedule", b.Schedule, b.TZ)
}

// checkCron reports a cron expression that does not parse.
func (d *decoder) checkCron(path, expr, tz string) {
	if !d.isSet(path) {
		return
	}
	loc, err := LoadLocation(tz)
	if err != nil {
		return // reported at tz
	}
	if _, err := cron.Parse(expr, loc); err != nil {
		d.add(d.posAt(path), path, fmt.Sprintf("invalid cron expression %s: %s", d.show(path, expr), err),
			`five fields: minute hour day-of-month month day-of-week, e.g. "0 6 * * *" (06:00 every day)`)
	}
}

// BackupMonitor marks a monitor that stands for a backup job: its state follows the job's runs.
type BackupMonitor struct {
	Backup string // the backup's name (the same as the monitor's)
}

// addBackupMonitors adds a monitor of kind backup for every backup, and reports a backup whose
// name a monitor already has: the two would share one state and history.
func (d *decoder) addBackupMonitors(p *Policy) {
	monitors := make(map[string]int, len(p.Monitors))
	for i, m := range p.Monitors {
		monitors[m.Name] = i
	}
	for i, b := range p.Backups {
		if b.Name == "" {
			continue
		}
		if j, dup := monitors[b.Name]; dup {
			path := fmt.Sprintf("backups[%d].name", i)
			d.add(d.posAt(path), path, fmt.Sprintf("backup %s has the name of a monitor", d.show(path, b.Name)),
				fmt.Sprintf("every backup is also a monitor of its name; rename the backup or the monitor at line %d", d.posAt(fmt.Sprintf("monitors[%d].name", j)).line))
			continue
		}
		m := jobMonitor(b.Name, b.Service)
		m.Backup = &BackupMonitor{Backup: b.Name}
		p.Monitors = append(p.Monitors, m)
	}
}

// jobMonitor is the monitor the loader adds for a backup or drill: down at the first failure, up
// at the first success, an incident when down.
func jobMonitor(name, service string) Monitor {
	return Monitor{
		Name:       name,
		Service:    service,
		DownAfter:  Confirmation{Count: 1},
		UpAfter:    Confirmation{Count: 1},
		IncidentOn: "down",
		Every:      Duration{time.Minute},
		Timeout:    Duration{10 * time.Second},
	}
}
