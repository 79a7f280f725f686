package tool

import (
	"net/url"
	"path/filepath"
	"strings"
)

// SQLiteDSN builds a modernc.org/sqlite data source name for an absolute path: a file: URI (so any
// character in the path is escaped rather than read as the start of the query) and parameters.
func SQLiteDSN(absPath string, params ...string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(absPath)}
	return u.String() + "?" + strings.Join(params, "&")
}
