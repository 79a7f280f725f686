package upkeep

import "time"

// DrillRun is one run of a restore drill: what was restored from where, how long each phase
// took, what the checks said, and the measured recovery point and time.
type DrillRun struct {
	ID          int64
	Drill       string
	Backup      string
	Destination string
	Status      DrillStatus
	// Reason says why a drill failed, was interrupted or missed ("" when it passed).
	Reason string
	// Trigger says what started the run, with the backups' words: schedule, catch_up, manual
	// (the API) or cli (upkeep drill run without a server).
	Trigger BackupTrigger
	// Scheduled is the slot of a scheduled, caught-up or missed run (zero for the others).
	Scheduled time.Time

	SnapshotID   string
	SnapshotTime time.Time

	Started  time.Time
	Finished time.Time // zero while running

	// Phases: fetch (open the destination's repository and find the snapshot), restore (wipe the
	// target and restore into it), verify (the checks).
	Fetch, Restore, Verify time.Duration
	// RTO is from Started until the last check passed (or the restore ended, without checks);
	// RPO is the age of the restored data at Started. Zero until measured.
	RTO, RPO       time.Duration
	MaxRTO, MaxRPO time.Duration // the limits the run was held to; zero: none

	Files int64 // files restored (file targets)
	Bytes int64 // bytes restored
	Steps []DrillStep
}

// DrillStep is the result of one verify step.
type DrillStep struct {
	Kind     string        `json:"kind"`
	Passed   bool          `json:"passed"`
	Duration time.Duration `json:"duration_ns"`
	Message  string        `json:"message,omitempty"`
}

// DrillStatus is the state of a drill run.
type DrillStatus string

// Drill run states. A run still "running" when Upkeep starts was cut short by a crash and is
// marked interrupted. A missed run is a scheduled slot that had no drill (Upkeep was not running,
// or the drill's previous run was still going); its Started is the slot, its Finished when the
// miss was noticed.
const (
	DrillRunning     DrillStatus = "running"
	DrillPassed      DrillStatus = "passed"
	DrillFailed      DrillStatus = "failed"
	DrillInterrupted DrillStatus = "interrupted"
	DrillMissed      DrillStatus = "missed"
)
