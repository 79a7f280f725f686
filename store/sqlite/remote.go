package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/upkeep-dev/upkeep"
)

// StoreResults stores results that remote agents sent, in one durable write, and returns how
// many were new. A result already stored (the same monitor, location and time to the
// millisecond: a batch sent again after a lost answer) is a duplicate and left as it was, so
// retrying a batch never doubles anything. Monitors and locations named for the first time are
// created.
func (db *DB) StoreResults(ctx context.Context, results []upkeep.Result) (int, error) {
	if len(results) == 0 {
		return 0, nil
	}
	names := make([]string, 0, len(results))
	var locs []string
	seen := map[string]bool{}
	for _, r := range results {
		if _, err := outcomeCode(r.Outcome); err != nil {
			return 0, fmt.Errorf("store results: monitor %q: %w", r.Monitor, err)
		}
		names = append(names, r.Monitor)
		if loc := r.Location; !seen[loc] {
			if loc == "" {
				loc = upkeep.LocalLocation
			}
			seen[r.Location] = true
			locs = append(locs, loc)
		}
	}
	now := millis(db.now())
	added := 0
	err := db.Write(ctx, func(tx *sql.Tx) error {
		monitors := make(map[string]int64)
		if err := resolveMonitors(tx, names, now, monitors); err != nil {
			return err
		}
		locations := make(map[string]int64, len(locs))
		if err := resolveLocations(tx, locs, locations); err != nil {
			return err
		}
		var err error
		added, err = insertResults(tx, results, monitors, locations)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store %d results: %w", len(results), err)
	}
	return added, nil
}
