package upkeep

import (
	"encoding/json"
	"time"
)

// BackupStatus is the outcome of a backup run.
type BackupStatus string

// The statuses of a backup run.
const (
	BackupRunning   BackupStatus = "running"
	BackupSucceeded BackupStatus = "succeeded" // written to every destination
	BackupPartial   BackupStatus = "partial"   // written to some destinations, not all: a failure for monitoring
	BackupFailed    BackupStatus = "failed"    // written nowhere (or a hook failed, or it was interrupted)
	BackupMissed    BackupStatus = "missed"    // a scheduled run that did not happen (Upkeep was not running)
)

// BackupTrigger says what started a backup run.
type BackupTrigger string

// The triggers of a backup run.
const (
	TriggerSchedule BackupTrigger = "schedule" // its schedule
	TriggerCatchUp  BackupTrigger = "catch_up" // at startup, for a slot missed while Upkeep was down
	TriggerManual   BackupTrigger = "manual"   // POST /api/v1/backups/{job}/run (upkeep backup run with a server)
	TriggerCLI      BackupTrigger = "cli"      // upkeep backup run without a server
)

// BackupRun is one run of a backup job.
type BackupRun struct {
	ID        int64
	Job       string
	Trigger   BackupTrigger
	Status    BackupStatus
	Scheduled time.Time // the schedule slot it was for; zero for manual runs
	Start     time.Time
	End       time.Time // zero while running
	Error     string
	// Destinations are the results per destination, in the order of the job's to.
	Destinations []BackupDestinationResult
}

// BackupDestinationResult is what a run did at one destination.
type BackupDestinationResult struct {
	Destination string
	Status      BackupStatus // running, succeeded or failed
	Snapshot    string       // the snapshot's id; empty when none was written
	Start, End  time.Time
	BytesRead   int64 // read from the source
	BytesAdded  int64 // added to the repository after deduplication and compression
	Files       int64
	Forgotten   int // snapshots retention forgot after the run
	Error       string
}

// DedupRatio is how many bytes were read for every byte stored (BytesRead / BytesAdded); 0 when
// nothing was read. A run that stored nothing new has the ratio of what it read, not infinity:
// it is reported as BytesRead (every byte deduplicated).
func (r BackupDestinationResult) DedupRatio() float64 {
	switch {
	case r.BytesRead == 0:
		return 0
	case r.BytesAdded == 0:
		return float64(r.BytesRead)
	}
	return float64(r.BytesRead) / float64(r.BytesAdded)
}

// MarshalJSON gives the run as the API shows it.
func (r BackupRun) MarshalJSON() ([]byte, error) {
	dests := r.Destinations
	if dests == nil {
		dests = []BackupDestinationResult{}
	}
	return json.Marshal(struct {
		ID           int64                     `json:"id"`
		Job          string                    `json:"job"`
		Trigger      BackupTrigger             `json:"trigger"`
		Status       BackupStatus              `json:"status"`
		Scheduled    *time.Time                `json:"scheduled"`
		Start        time.Time                 `json:"start"`
		End          *time.Time                `json:"end"`
		Error        string                    `json:"error,omitempty"`
		Destinations []BackupDestinationResult `json:"destinations"`
	}{r.ID, r.Job, r.Trigger, r.Status, optionalTime(r.Scheduled), r.Start.UTC(), optionalTime(r.End), r.Error, dests})
}

// MarshalJSON gives the result as the API shows it.
func (r BackupDestinationResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Destination string       `json:"destination"`
		Status      BackupStatus `json:"status"`
		Snapshot    string       `json:"snapshot,omitempty"`
		Start       time.Time    `json:"start"`
		End         *time.Time   `json:"end"`
		BytesRead   int64        `json:"bytes_read"`
		BytesAdded  int64        `json:"bytes_added"`
		Files       int64        `json:"files"`
		DedupRatio  float64      `json:"dedup_ratio"`
		Forgotten   int          `json:"forgotten"`
		Error       string       `json:"error,omitempty"`
	}{r.Destination, r.Status, r.Snapshot, r.Start.UTC(), optionalTime(r.End), r.BytesRead, r.BytesAdded, r.Files, r.DedupRatio(), r.Forgotten, r.Error})
}

// VerifyStatus is the outcome of the verification of one destination's repository.
type VerifyStatus string

// The statuses of a verification.
const (
	VerifyRunning VerifyStatus = "running"
	VerifyIntact  VerifyStatus = "intact" // every snapshot intact, the data read back as written
	VerifyFailed  VerifyStatus = "failed" // damage found, the repository unreadable, or interrupted
)

// BackupVerification is one verification of a backup job's repository at one destination, by
// upkeep backup verify (trigger cli) or the job's verify schedule (trigger schedule).
type BackupVerification struct {
	ID          int64
	Job         string
	Destination string
	Trigger     BackupTrigger
	Status      VerifyStatus
	Start, End  time.Time // End is zero while running
	ReadData    float64   // the share of the content read back, 0 to 1
	Snapshots   int
	Objects     int64 // directories and files checked
	ReadFiles   int64
	ReadBytes   int64
	Error       string
}

// MarshalJSON gives the verification as the API shows it.
func (v BackupVerification) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID          int64         `json:"id"`
		Job         string        `json:"job"`
		Destination string        `json:"destination"`
		Trigger     BackupTrigger `json:"trigger"`
		Status      VerifyStatus  `json:"status"`
		Start       time.Time     `json:"start"`
		End         *time.Time    `json:"end"`
		ReadData    float64       `json:"read_data"`
		Snapshots   int           `json:"snapshots"`
		Objects     int64         `json:"objects"`
		ReadFiles   int64         `json:"read_files"`
		ReadBytes   int64         `json:"read_bytes"`
		Error       string        `json:"error,omitempty"`
	}{v.ID, v.Job, v.Destination, v.Trigger, v.Status, v.Start.UTC(), optionalTime(v.End), v.ReadData, v.Snapshots, v.Objects, v.ReadFiles, v.ReadBytes, v.Error})
}
