// Package source produces the data of a backup as named streams: database dumps made by the
// database's own tools (pg_dump, mariadb-dump), a consistent copy of an SQLite database, or the
// output of any command. A stream is produced when it is opened and read once; nothing is staged
// whole on disk except the SQLite copy. A producer that fails (a dump that exits non-zero) makes
// the stream's Read or Close return an error naming the program and quoting its stderr (without
// passwords), so a failed dump can never be stored as a complete one.
package source

import (
	"context"
	"io"
)

// Stream is one named piece of a backup; Open starts producing it. The repository stores each
// stream as one file of a snapshot, under Name (a slash-separated relative path).
type Stream struct {
	Name string
	Open func(context.Context) (io.ReadCloser, error)
}
