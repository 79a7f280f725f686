// Package engine runs Upkeep's monitors: it schedules their checks, turns results into states
// with confirmation rules, records results and state changes in the store, and computes exact
// uptime from them.
//
// # Scheduling
//
// One scheduler goroutine serves every monitor from a timer heap (container/heap) ordered by
// next slot; there is no goroutine per monitor. A monitor's slots are the instants
// phase + k*every counted from the Unix epoch, where phase is a hash of its name modulo its
// interval. So:
//   - runs never drift: each slot is computed, not the previous one plus a sleep;
//   - first runs are spread evenly over the first interval after start (10,000 monitors at 60 s
//     start about 6 ms apart; all have run once within one interval), with no stampede;
//   - a monitor keeps its slot across restarts and reloads (changing its interval moves it).
//
// Lag is the time from a slot to the moment its check actually starts, exported as
// upkeep_scheduler_lag_seconds. A due check goes to a pool of worker goroutines. Checks are
// IO-bound, so the pool's cap is sized for the worst case, every check running into its timeout:
// by Little's law that is the sum of timeout/every over the active monitors, plus a quarter,
// between 16 and 4096 (Config.Concurrency overrides it). Workers start only when a check finds
// none idle and extra ones exit after a minute idle, so fast checks use a handful. When the cap is
// reached, due checks wait for a worker, which shows as lag.
//
// A check that overruns does not pile up: while a monitor's check is queued or running, its next
// slots are skipped and counted (upkeep_scheduler_skipped_slots_total{reason="overrun"}). If the
// engine itself falls behind by whole intervals (the machine was suspended), the missed slots are
// counted as reason="late" and the check runs once, not in a burst. A check runs under its
// monitor's timeout; results of checks cut short by shutdown are dropped, not recorded as
// failures.
//
// A check never waits for storage or notifications. Its result goes to a queue; one processor
// goroutine applies results to the state machines (memory only), and one recorder goroutine
// writes the results and transitions to the store in batches, one durable write per batch, every
// second or sooner when 2,000 results wait. If the store fails, the recorder keeps everything and
// retries; beyond 200,000 waiting results the oldest results are dropped and counted
// (upkeep_results_dropped_total), transitions never. Passive monitors (heartbeats) have no check:
// their evaluators are asked every 5 seconds whether a deadline was missed, and their pings
// arrive through Ingest.
//
// # States and confirmation
//
// A result is up, degraded or down; ranked by severity up < degraded < down. A monitor's state
// is unknown (no confirmed result yet), up, degraded, down or paused. For confirmation, unknown
// ranks with up. The rules, applied to each result in time order (a result older than the newest
// one seen changes nothing):
//
//   - From unknown, an up result makes the monitor up at once.
//   - A change to a worse state L needs down_after: the last N results in a row are all at least
//     as bad as L (down_after "N failures"), or such a run has lasted the duration, measured from
//     its first result to the current one (down_after "3m"). If several worse states are
//     confirmed at once, the worst wins. A degraded result continues a run for degraded but breaks
//     a run for down; a down result continues both.
//   - A change to a better state L needs up_after in the same way, with runs of results at most
//     as bad as L; the best confirmed state wins.
//   - From unknown, a first failure (degraded or down) is confirmed by down_after like any other.
//   - Any result that breaks a run starts the count again, so a flapping monitor (up, down, up,
//     down with down_after 2) stays where it is. Durations are checked when results arrive.
//
// A transition is dated at the first result of the run that confirmed it: with down_after
// "3 failures" at 60 s the outage begins at the first failed check, not two minutes later when
// it was confirmed, so that uptime is exact. Its cause is the confirming result's error, code and
// latency. Transitions are stored durably, in order, before subscribers hear of them.
//
// Pausing a monitor (paused: true) makes it paused at once ("paused by policy"); resuming makes
// it unknown ("resumed by policy"). Removing a monitor from the policy stops it and makes it
// unknown ("monitor removed"); its history stays, and it gets it back if it returns under the
// same name. A restart keeps each monitor's last confirmed state: an outage open at a crash is
// still open after it, though the counts of results in a row start again. Results from locations
// other than local (remote agents, later) are stored but do not change the state yet: that needs
// the quorum rules that come with agents.
//
// # History
//
// Raw results are kept for server.history.raw (7 days by default) and pruned hourly, monitor by
// monitor, a few thousand rows per write so that the store's writer is never held long. A result
// is identified by (monitor, location, time in ms); a duplicate is ignored. Transitions are kept
// forever. Hourly and daily rollups (checks, failures, degraded, latency p50/p95/max) are computed
// from raw results when an hour or a UTC day has closed, kept for server.history.rollups; the
// computation is idempotent and, at start, catches up with every closed period not yet rolled up.
//
// # Uptime
//
// Uptime over any window is computed from transitions, not from counting checks: the time
// between two transitions belongs to the earlier one's state. The engine records its own
// sessions (start, a sign of life every 5 seconds, a clean end); time outside every session is
// no data, whatever the state was, and after kill -9 a session ends at its last sign of life.
// A monitor that was down when Upkeep stopped is therefore not "up" while Upkeep was away, nor
// "down": Upkeep does not know. Unknown time is no data too. Availability is
// (up + degraded) / (up + degraded + down); paused, maintenance and no-data time are left out and
// reported beside it (see Uptime).
//
// # Maintenance
//
// SetMaintenance puts monitors in maintenance windows (package maintenance decides which, and
// when). A monitor in a window is recorded as maintenance; its checks go on and its real state is
// confirmed underneath as always, without transitions. When the window ends the monitor takes its
// real state again, so one still down is down at that moment. A monitor in maintenance when
// Upkeep stopped stays in maintenance at start until the windows are applied again; its real
// state is then unknown until its results confirm one.
package engine
