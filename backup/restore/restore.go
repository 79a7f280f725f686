// Package restore puts the streams of a database backup (made by package source) back into a
// database: PostgreSQL with pg_restore, MariaDB/MySQL with the mariadb client, SQLite by writing
// the file atomically. A target that already holds data is refused unless Options.Force is set,
// and every target is checked before anything is changed.
package restore

import (
	"context"
	"errors"
	"io"
	"strings"
)

// Opener opens the stream of a backup called name (an entry of a snapshot).
type Opener func(ctx context.Context, name string) (io.ReadCloser, error)

// Options tunes a restore.
type Options struct {
	// Force replaces a target that holds data: the database is dropped and created again, the
	// SQLite file replaced. Without it such a target is refused with ErrNotEmpty.
	Force bool
	// Rename restores the database called key in the backup as the value (PostgreSQL, MySQL).
	Rename map[string]string
	// Globals also restores globals.sql (roles, tablespaces; PostgreSQL) before the databases.
	// Off by default: the target server usually has its roles, and re-creating them fails.
	Globals bool
	// NoOwner restores PostgreSQL objects as owned by the connecting role, without their
	// privileges (pg_restore --no-owner --no-privileges): for a server that lacks the roles.
	NoOwner bool
	// BinDir is where pg_restore and psql are; found from the server's version when empty.
	BinDir string
}

// ErrNotEmpty is returned (wrapped, naming the target) when a target holds data and
// Options.Force is not set.
var ErrNotEmpty = errors.New("the target is not empty (use force to replace it)")

// databases returns, for the streams named prefix<db>suffix, each database's name in the backup
// and the name to restore it as.
func databases(names []string, prefix, suffix string, rename map[string]string) (from, to []string) {
	for _, n := range names {
		if db, ok := strings.CutPrefix(n, prefix); ok && strings.HasSuffix(db, suffix) {
			db = strings.TrimSuffix(db, suffix)
			from = append(from, db)
			if r, ok := rename[db]; ok && r != "" {
				to = append(to, r)
			} else {
				to = append(to, db)
			}
		}
	}
	return from, to
}

// feed runs a restore program with a stream as its stdin and returns the stream's error too
// (a failed read is a failed restore even if the program accepted what it got).
func feed(ctx context.Context, open Opener, name string, run func(stdin io.Reader) error) error {
	rc, err := open(ctx, name)
	if err != nil {
		return err
	}
	err = run(rc)
	return errors.Join(err, rc.Close())
}
