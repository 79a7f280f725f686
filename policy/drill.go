package policy

// Restore drills: a backup restored on a schedule into a target the policy names, verified, and
// measured against the service's RPO and RTO. Package drill runs them.
//
// Wiping is always explicit: a drill empties its target before restoring, so a target must say
// that it may be wiped (path: wipe: true; postgres and mysql: scratch: true). A target without it
// is a policy problem, never a surprise at 07:00.

import (
	"fmt"
	"strings"
	"time"

	"github.com/upkeep-dev/upkeep/heartbeat/cron"
)

// Drill restores a backup somewhere to prove it restores.
type Drill struct {
	Name        string        `yaml:"name" policy:"name" jsonschema:"required,description=Name of the drill; used in URLs and the CLI."`
	Backup      string        `yaml:"backup" policy:"ref=backup" jsonschema:"required,description=Name of the backup this drill restores."`
	Schedule    string        `yaml:"schedule" jsonschema:"description=When the drill runs: a five-field cron expression (\"0 7 * * *\") or @daily\\, @hourly\\, ... Default: only when started by hand (upkeep drill run)."`
	TZ          string        `yaml:"tz" jsonschema:"default=UTC,description=Time zone of the schedule (IANA name such as Europe/Berlin)."`
	Destination string        `yaml:"destination" policy:"ref=destination" jsonschema:"description=The destination (one of the backup's) to restore from. Default: each of the backup's destinations in turn\\, one per run\\, so that every copy is proven."`
	Snapshot    DrillSnapshot `yaml:"snapshot" jsonschema:"default=latest,description=Which snapshot to restore: latest\\, or a point in time before the drill's start such as \"-1h\" (the newest snapshot taken at least that long before)."`
	Into        DrillTarget   `yaml:"into" jsonschema:"required,description=Where the backup is restored: exactly one of path\\, postgres\\, mysql\\, sqlite\\, command. The target is wiped first."`
	Verify      []VerifyStep  `yaml:"verify" jsonschema:"description=Checks of the restored data\\, run in order; the drill fails at the first that fails."`
	// MaxRTO and MaxRPO default to the service's objectives (filled in by check).
	MaxRTO       Duration `yaml:"max_rto" jsonschema:"description=Longest acceptable recovery time: from the drill's start until the last verify step passed. Longer fails the drill. Default: the service's rto objective."`
	MaxRPO       Duration `yaml:"max_rpo" jsonschema:"description=Oldest acceptable data: the age of the restored snapshot (or of freshness_sql's answer) at the drill's start. Older fails the drill. Default: the service's rpo objective."`
	FreshnessSQL string   `yaml:"freshness_sql" jsonschema:"description=Database targets: a query on the restored database returning the newest business timestamp (e.g. select max(created_at) from orders); the RPO is measured from it instead of from the snapshot time."`
	Keep         bool     `yaml:"keep" jsonschema:"description=Leave the restored target in place after the drill (a warm standby until the next drill wipes it). Default: false."`
	Timeout      Duration `yaml:"timeout" jsonschema:"default=1h,description=How long a drill may take; a drill still going then is cancelled and failed."`
	Grace        Duration `yaml:"grace" jsonschema:"default=1h,description=Scheduled drills: how late a run may start before it counts as missed (the drill's monitor goes down)."`
	// CatchUp is a pointer so that an explicit false is not replaced by the default (true).
	CatchUp *bool `yaml:"catch_up" jsonschema:"description=Scheduled drills: run at startup when a scheduled run was missed while Upkeep was not running (the miss is recorded). Default: true."`
}

// CatchUpEnabled reports whether a drill missed while Upkeep was down runs at startup.
func (d *Drill) CatchUpEnabled() bool { return d.CatchUp == nil || *d.CatchUp }

// DrillSnapshot says which snapshot a drill restores: the latest (zero Before), or the newest
// taken at least Before earlier than the drill's start.
type DrillSnapshot struct {
	Before time.Duration
}

// UnmarshalText reads "latest" or "-<duration>" ("-1h", "-2d").
func (s *DrillSnapshot) UnmarshalText(text []byte) error {
	v := strings.TrimSpace(string(text))
	if v == "latest" {
		*s = DrillSnapshot{}
		return nil
	}
	hint := `latest, or a time before the drill's start such as "-1h" or "-2d"`
	rest, ok := strings.CutPrefix(v, "-")
	if !ok {
		return &valueError{what: "snapshot", value: v, hint: hint}
	}
	d, err := ParseDuration(rest)
	if err != nil || d.Duration <= 0 {
		return &valueError{what: "snapshot", value: v, hint: hint}
	}
	*s = DrillSnapshot{Before: d.Duration}
	return nil
}

// MarshalText gives the snapshot choice as written in a policy.
func (s DrillSnapshot) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// String gives "latest" or "-1h".
func (s DrillSnapshot) String() string {
	if s.Before <= 0 {
		return "latest"
	}
	return "-" + Duration{s.Before}.String()
}

// DrillTarget is where a drill restores to. Exactly one kind is set.
type DrillTarget struct {
	Path     *PathTarget     `yaml:"path" jsonschema:"description=A directory (backups of files). Everything in it is deleted first."`
	Postgres *DatabaseTarget `yaml:"postgres" jsonschema:"description=A scratch database on a PostgreSQL server\\, dropped and created again by every drill."`
	MySQL    *DatabaseTarget `yaml:"mysql" jsonschema:"description=A scratch database on a MySQL or MariaDB server\\, dropped and created again by every drill."`
	SQLite   *SQLiteTarget   `yaml:"sqlite" jsonschema:"description=An SQLite database file\\, replaced by every drill."`
	Command  *CommandTarget  `yaml:"command" jsonschema:"description=A custom restore script: the snapshot is restored into a private directory whose path the script gets in UPKEEP_RESTORED_PATH."`
}

// Drill target kinds, as Kind returns them.
const (
	TargetPath     = "path"
	TargetPostgres = "postgres"
	TargetMySQL    = "mysql"
	TargetSQLite   = "sqlite"
	TargetCommand  = "command"
)

var allTargets = []string{TargetPath, TargetPostgres, TargetMySQL, TargetSQLite, TargetCommand}

func (t *DrillTarget) kinds() []string {
	var out []string
	add := func(name string, isNil bool) {
		if !isNil {
			out = append(out, name)
		}
	}
	add(TargetPath, t.Path == nil)
	add(TargetPostgres, t.Postgres == nil)
	add(TargetMySQL, t.MySQL == nil)
	add(TargetSQLite, t.SQLite == nil)
	add(TargetCommand, t.Command == nil)
	return out
}

// Kind names the target's kind ("path", "postgres", ...).
func (t *DrillTarget) Kind() string {
	if k := t.kinds(); len(k) > 0 {
		return k[0]
	}
	return ""
}

// PathTarget is a directory the backup is restored into.
type PathTarget struct {
	Dir  string `yaml:"dir" jsonschema:"required,description=Absolute path of the directory. Created when missing."`
	Wipe bool   `yaml:"wipe" jsonschema:"description=Must be true: confirms that everything in dir may be deleted before each drill."`
}

// DatabaseTarget is a scratch database on a server.
type DatabaseTarget struct {
	DSN      Secret `yaml:"dsn" jsonschema:"required,description=Connection string of the server (it may hold a password: use ${VAR}). The database named in it is only used to connect."`
	Database string `yaml:"database" jsonschema:"required,description=Name of the scratch database the backup is restored into."`
	Scratch  bool   `yaml:"scratch" jsonschema:"description=Must be true: confirms that database may be dropped and created again by each drill."`
	From     string `yaml:"from" jsonschema:"description=The database of the backup to restore\\, when the backup holds several. Default: the only one."`
}

// SQLiteTarget is an SQLite database file.
type SQLiteTarget struct {
	Path string `yaml:"path" jsonschema:"required,description=Absolute path of the database file; replaced by each drill."`
}

// CommandTarget is a custom restore script.
type CommandTarget struct {
	Run string `yaml:"run" jsonschema:"required,description=Shell command (run by /bin/sh -c) that restores from the directory in UPKEEP_RESTORED_PATH; it must exit 0."`
}

// VerifyStep is one check of the restored data. Exactly one kind is set.
type VerifyStep struct {
	Files   *FilesVerify `yaml:"files" jsonschema:"description=Compare the restored tree with the snapshot: file count and total size\\, and the content of a sample re-read from the destination and compared with the live source where it has not changed since the backup."`
	SQL     string       `yaml:"sql" jsonschema:"description=A query on the restored database whose first column of the first row must be true (or non-zero)."`
	Command string       `yaml:"command" jsonschema:"description=A shell command (run by /bin/sh -c) that must exit 0; it gets UPKEEP_DRILL\\, UPKEEP_RESTORED_PATH or UPKEEP_RESTORED_DSN in its environment."`
	HTTP    *HTTPVerify  `yaml:"http" jsonschema:"description=Start an application on the restored data\\, wait until it is ready\\, check an URL\\, stop it."`
}

// Verify step kinds, as Kind returns them.
const (
	VerifyFiles   = "files"
	VerifySQL     = "sql"
	VerifyCommand = "command"
	VerifyHTTP    = "http"
)

func (v *VerifyStep) kinds() []string {
	var out []string
	if v.Files != nil {
		out = append(out, VerifyFiles)
	}
	if v.SQL != "" {
		out = append(out, VerifySQL)
	}
	if v.Command != "" {
		out = append(out, VerifyCommand)
	}
	if v.HTTP != nil {
		out = append(out, VerifyHTTP)
	}
	return out
}

// Kind names the step's kind ("files", "sql", ...).
func (v *VerifyStep) Kind() string {
	if k := v.kinds(); len(k) > 0 {
		return k[0]
	}
	return ""
}

// FilesVerify compares a restored tree with its snapshot.
type FilesVerify struct {
	// Sample has no default tag: check fills in 5% when the key is absent.
	Sample Percent `yaml:"sample" jsonschema:"description=Share of the files whose content is re-read from the destination and compared. Default: 5%."`
}

// DefaultFilesSample is files.sample when the policy does not say.
const DefaultFilesSample Percent = 5

// HTTPVerify starts an application on the restored data and checks it answers.
type HTTPVerify struct {
	Start        string   `yaml:"start" jsonschema:"required,description=Shell command (run by /bin/sh -c) that starts the application in the foreground; it gets the same environment as a command step. It is stopped after the check."`
	ReadyURL     string   `yaml:"ready_url" jsonschema:"description=URL polled until it answers 2xx. Default: check_url."`
	CheckURL     string   `yaml:"check_url" jsonschema:"required,description=URL requested once the application is ready."`
	ExpectStatus int      `yaml:"expect_status" jsonschema:"default=200,description=Status check_url must answer."`
	ReadyWithin  Duration `yaml:"ready_within" jsonschema:"default=60s,description=How long the application may take to become ready."`
}

// Cron returns the parsed schedule of the drill, or nil when it runs only by hand.
func (d *Drill) Cron() (*cron.Schedule, error) {
	if d.Schedule == "" {
		return nil, nil
	}
	loc, err := LoadLocation(d.TZ)
	if err != nil {
		return nil, err
	}
	return cron.Parse(d.Schedule, loc)
}

// DefaultDrillTimeout is a drill's timeout when the policy does not say.
const DefaultDrillTimeout = time.Hour

// postgresSystemDatabases and mysqlSystemDatabases may never be a drill's scratch database.
var (
	postgresSystemDatabases = []string{"postgres", "template0", "template1"}
	mysqlSystemDatabases    = []string{"mysql", "sys", "information_schema", "performance_schema"}
)

// checkDrills reports drills whose target, verify steps or schedule are wrong, and fills in the
// objectives from the backup's service.
func (d *decoder) checkDrills(p *Policy) {
	for i := range p.Drills {
		dr := &p.Drills[i]
		path := fmt.Sprintf("drills[%d]", i)
		d.checkDrillSchedule(dr, path)
		d.checkDrillTarget(dr, path+".into")
		d.checkVerifySteps(dr, path)

		var backup *Backup
		for j := range p.Backups {
			if p.Backups[j].Name == dr.Backup {
				backup = &p.Backups[j]
			}
		}
		if backup != nil && dr.Destination != "" && !d.hasProblem(path+".destination") && len(backup.To) > 0 && !contains(backup.To, dr.Destination) {
			dpath := path + ".destination"
			d.add(d.posAt(dpath), dpath, fmt.Sprintf("backup %s is not written to destination %s", quote(dr.Backup), quote(dr.Destination)),
				"one of: "+strings.Join(backup.To, ", "))
		}
		if backup != nil {
			d.checkDrillSource(dr, backup, path+".into")
		}
		if backup != nil && backup.Service != "" {
			for _, s := range p.Services {
				if s.Name != backup.Service {
					continue
				}
				if !d.isSet(path+".max_rto") && dr.MaxRTO.Duration == 0 {
					dr.MaxRTO = s.Objectives.RTO
				}
				if !d.isSet(path+".max_rpo") && dr.MaxRPO.Duration == 0 {
					dr.MaxRPO = s.Objectives.RPO
				}
			}
		}
		if fpath := path + ".freshness_sql"; dr.FreshnessSQL != "" && !isDatabaseTarget(dr.Into.Kind()) && dr.Into.Kind() != "" {
			d.add(d.posAt(fpath), fpath, "freshness_sql needs a database target", "restore into postgres, mysql or sqlite, or remove freshness_sql")
		}
		if tpath := path + ".timeout"; !d.hasProblem(tpath) && dr.Timeout.Duration < time.Second {
			d.add(d.posAt(tpath), tpath, "the timeout is too short", `at least "1s", e.g. "1h"`)
		}
		if grace, ok := d.writtenDuration(path+".grace", dr.Grace); ok && grace < minHeartbeatGrace {
			gp := path + ".grace"
			d.add(d.posAt(gp), gp, fmt.Sprintf("grace %s is too short", d.show(gp, dr.Grace.String())), `at least "1s"; e.g. "1h"`)
		}
	}
}

// targetsOf lists the drill targets a backup of each source kind restores into: a database
// into a scratch database of the same kind, files and command output into a directory, and
// anything into a command target (which gets the restored files).
var targetsOf = map[string][]string{
	SourceFiles:    {TargetPath, TargetCommand},
	SourceCommand:  {TargetPath, TargetCommand},
	SourcePostgres: {TargetPostgres, TargetCommand},
	SourceMySQL:    {TargetMySQL, TargetCommand},
	SourceSQLite:   {TargetSQLite, TargetCommand},
}

// checkDrillSource reports a target the drill's backup cannot be restored into.
func (d *decoder) checkDrillSource(dr *Drill, b *Backup, path string) {
	target, source := dr.Into.Kind(), b.Source()
	ok, known := targetsOf[source]
	if target == "" || !known || contains(ok, target) || d.hasProblemUnder(path) {
		return
	}
	tpath := path + "." + target
	d.add(d.posAt(tpath), tpath, fmt.Sprintf("backup %s is a %s backup and cannot be restored into a %s target", quote(b.Name), source, target),
		"restore it into one of: "+strings.Join(ok, ", "))
}

func isDatabaseTarget(kind string) bool {
	return kind == TargetPostgres || kind == TargetMySQL || kind == TargetSQLite
}

func (d *decoder) checkDrillSchedule(dr *Drill, path string) {
	tzPath, cronPath := path+".tz", path+".schedule"
	loc, locOK := time.UTC, true
	if d.isSet(tzPath) || dr.TZ != "UTC" {
		var err error
		if loc, err = LoadLocation(dr.TZ); err != nil {
			locOK = false
			d.add(d.posAt(tzPath), tzPath, fmt.Sprintf("unknown time zone %s", d.show(tzPath, dr.TZ)),
				`an IANA time zone name such as "UTC", "Europe/Berlin" or "America/New_York"`)
		}
	}
	if locOK && d.isSet(cronPath) && dr.Schedule != "" {
		if _, err := cron.Parse(dr.Schedule, loc); err != nil {
			d.add(d.posAt(cronPath), cronPath, fmt.Sprintf("invalid cron expression %s: %s", d.show(cronPath, dr.Schedule), err),
				`five fields: minute hour day-of-month month day-of-week, e.g. "0 7 * * *" (07:00 every day)`)
		}
	}
}

func (d *decoder) checkDrillTarget(dr *Drill, path string) {
	t := &dr.Into
	kinds := t.kinds()
	if !d.exactlyOne(path, kinds, d.posAt(path), !d.hasProblemUnder(path) && d.isSet(path), oneOf{what: "drill", kind: "target",
		all: allTargets, several: "a drill restores into exactly one target", split: "split it into one drill per target"}) {
		return
	}
	switch kinds[0] {
	case TargetPath:
		d.checkAbsPath(path+".path.dir", t.Path.Dir)
		if !t.Path.Wipe && !d.hasProblemUnder(path+".path") {
			p := path + ".path"
			d.add(d.keyOrValuePos(p+".wipe", p), p+".wipe", fmt.Sprintf("the drill deletes everything in %s before restoring, but the policy does not say it may", quote(t.Path.Dir)),
				"add wipe: true to confirm that the directory is only for this drill")
		}
	case TargetPostgres, TargetMySQL:
		db := t.Postgres
		system := postgresSystemDatabases
		if kinds[0] == TargetMySQL {
			db, system = t.MySQL, mysqlSystemDatabases
		}
		p := path + "." + kinds[0]
		if d.isSet(p+".dsn") && strings.TrimSpace(db.DSN.Reveal()) == "" {
			d.add(d.posAt(p+".dsn"), p+".dsn", "the DSN is empty", "set it, e.g. with ${SCRATCH_DSN}")
		}
		if db.Database != "" && contains(system, strings.ToLower(db.Database)) {
			d.add(d.posAt(p+".database"), p+".database", fmt.Sprintf("%s is a system database and cannot be a drill's scratch database", quote(db.Database)),
				"name a database used only by this drill, e.g. "+quote(dr.Name+"_drill"))
		}
		if !db.Scratch && !d.hasProblemUnder(p) {
			d.add(d.keyOrValuePos(p+".scratch", p), p+".scratch", fmt.Sprintf("database %s is not marked as scratch: the drill drops and recreates it", quote(db.Database)),
				"add scratch: true if the database is only for this drill; never point a drill at a database that holds real data")
		}
	case TargetSQLite:
		d.checkAbsPath(path+".sqlite.path", t.SQLite.Path)
	}
}

// keyOrValuePos is where the value at path is written, else where its parent is.
func (d *decoder) keyOrValuePos(path, parent string) position {
	if d.isSet(path) {
		return d.posAt(path)
	}
	return d.posAt(parent)
}

func (d *decoder) checkVerifySteps(dr *Drill, path string) {
	target := dr.Into.Kind()
	for i := range dr.Verify {
		s := &dr.Verify[i]
		spath := fmt.Sprintf("%s.verify[%d]", path, i)
		kinds := s.kinds()
		if !d.exactlyOne(spath, kinds, d.posAt(spath), !d.hasProblemUnder(spath), oneOf{what: "verify step", kind: "check",
			all: []string{"files", "sql", "command", "http"}, split: "make it one step per check"}) {
			continue
		}
		kpath := spath + "." + kinds[0]
		switch kinds[0] {
		case VerifyFiles:
			if target != "" && target != TargetPath && target != TargetCommand {
				d.add(d.posAt(kpath), kpath, "a files check needs a path or command target, this drill restores into "+target,
					"use an sql check for databases")
			}
			if !d.isSet(kpath + ".sample") {
				s.Files.Sample = DefaultFilesSample
			} else if s.Files.Sample <= 0 && !d.hasProblem(kpath+".sample") {
				d.add(d.posAt(kpath+".sample"), kpath+".sample", "the sample is empty", `e.g. "5%"; "100%" re-reads every file`)
			}
		case VerifySQL:
			if target != "" && !isDatabaseTarget(target) {
				d.add(d.posAt(kpath), kpath, "an sql check needs a database target, this drill restores into "+target,
					"use a files or command check")
			}
		case VerifyHTTP:
			h := s.HTTP
			for _, u := range []struct{ key, value string }{{"ready_url", h.ReadyURL}, {"check_url", h.CheckURL}} {
				up := kpath + "." + u.key
				if u.value != "" && !strings.HasPrefix(u.value, "http://") && !strings.HasPrefix(u.value, "https://") {
					d.add(d.posAt(up), up, fmt.Sprintf("%s is not an http or https URL", d.show(up, u.value)), `e.g. "http://127.0.0.1:8081/healthz"`)
				}
			}
			if h.ReadyURL == "" {
				h.ReadyURL = h.CheckURL
			}
			if h.ExpectStatus < 100 || h.ExpectStatus > 599 {
				d.add(d.posAt(kpath+".expect_status"), kpath+".expect_status", fmt.Sprintf("%d is not an HTTP status", h.ExpectStatus), "e.g. 200")
			}
		}
	}
}

// DrillMonitor marks a monitor that stands for a restore drill: its state follows the drill's
// runs (and its missed schedules).
type DrillMonitor struct {
	Drill string // the drill's name (the same as the monitor's)
}

// addDrillMonitors adds a monitor of kind drill for every drill, belonging to the service of the
// drill's backup, and reports a drill whose name a monitor (or a backup) already has.
func (d *decoder) addDrillMonitors(p *Policy) {
	monitors := make(map[string]int, len(p.Monitors))
	for i, m := range p.Monitors {
		monitors[m.Name] = i
	}
	services := make(map[string]string, len(p.Backups))
	for _, b := range p.Backups {
		services[b.Name] = b.Service
	}
	for i, dr := range p.Drills {
		if dr.Name == "" {
			continue
		}
		if j, dup := monitors[dr.Name]; dup {
			path := fmt.Sprintf("drills[%d].name", i)
			other := fmt.Sprintf("the monitor at line %d", d.posAt(fmt.Sprintf("monitors[%d].name", j)).line)
			if p.Monitors[j].Backup != nil {
				other = "the backup " + quote(p.Monitors[j].Name)
			}
			d.add(d.posAt(path), path, fmt.Sprintf("drill %s has the name of a monitor or backup", d.show(path, dr.Name)),
				"every drill is also a monitor of its name; rename the drill or "+other)
			continue
		}
		monitors[dr.Name] = len(p.Monitors)
		m := jobMonitor(dr.Name, services[dr.Backup])
		m.Drill = &DrillMonitor{Drill: dr.Name}
		p.Monitors = append(p.Monitors, m)
	}
}
