package tool

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PgConn is a PostgreSQL DSN split for the client programs: the connection string without the
// password (it goes on their command line) and the password (it goes in PGPASSWORD).
type PgConn struct {
	dsn      string // as given, for connections made in-process
	conn     string // URL or keyword/value form, password removed
	url      bool
	password string
}

// ParsePg splits a PostgreSQL DSN (URL or keyword/value form). Its errors never quote the password.
func ParsePg(dsn string) (PgConn, error) {
	if _, err := pgconn.ParseConfig(dsn); err != nil {
		return PgConn{}, fmt.Errorf("invalid PostgreSQL DSN: %w", err) // pgconn redacts the password
	}
	c := PgConn{dsn: dsn}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return PgConn{}, errors.New("invalid PostgreSQL DSN: not a valid URL")
		}
		if u.User != nil {
			c.password, _ = u.User.Password()
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		if p := q.Get("password"); p != "" {
			c.password = p
		}
		q.Del("password")
		for k := range q {
			if pgxOnly(k) {
				q.Del(k)
			}
		}
		u.RawQuery = q.Encode()
		c.conn, c.url = u.String(), true
		return c, nil
	}
	pairs, err := parseKeywordValue(dsn)
	if err != nil {
		return PgConn{}, fmt.Errorf("invalid PostgreSQL DSN: %w", err)
	}
	var b strings.Builder
	for _, kv := range pairs {
		if kv[0] == "password" {
			c.password = kv[1]
			continue
		}
		if pgxOnly(kv[0]) {
			continue
		}
		fmt.Fprintf(&b, "%s=%s ", kv[0], quoteValue(kv[1]))
	}
	c.conn = strings.TrimSpace(b.String())
	return c, nil
}

// DSN returns the DSN as given, password included, for connections made in-process.
func (c PgConn) DSN() string { return c.dsn }

// Password returns the password ("" when the DSN has none).
func (c PgConn) Password() string { return c.password }

// Database returns the connection string, without the password, of database name on the same
// server, for the --dbname option of the client programs.
func (c PgConn) Database(name string) string {
	if c.url {
		u, _ := url.Parse(c.conn) // parsed before
		u.Path, u.RawPath = "/"+name, ""
		return u.String()
	}
	return strings.TrimSpace(c.conn + " dbname=" + quoteValue(name))
}

// DSNFor returns the DSN, password included, of database name on the same server.
func (c PgConn) DSNFor(name string) string {
	if c.url {
		u, _ := url.Parse(c.dsn)
		u.Path, u.RawPath = "/"+name, ""
		return u.String()
	}
	return c.dsn + " dbname=" + quoteValue(name)
}

// Env returns the environment that gives the client programs the password.
func (c PgConn) Env() []string {
	if c.password == "" {
		return nil
	}
	return []string{"PGPASSWORD=" + c.password}
}

// Secrets returns what must never appear in an error.
func (c PgConn) Secrets() []string {
	if c.password == "" {
		return nil
	}
	return []string{c.password, url.QueryEscape(c.password), url.PathEscape(c.password)}
}

// pgxOnly reports whether a DSN parameter is one of pgx's own, which libpq (pg_dump, psql)
// refuses as unknown.
func pgxOnly(key string) bool {
	switch key {
	case "default_query_exec_mode", "statement_cache_capacity", "description_cache_capacity", "min_read_buffer_size":
		return true
	}
	return strings.HasPrefix(key, "pool_")
}

// parseKeywordValue splits libpq's keyword/value form: key = value pairs separated by spaces,
// values in single quotes where they hold spaces, with \' and \\ escaped.
func parseKeywordValue(s string) ([][2]string, error) {
	var pairs [][2]string
	s = strings.TrimLeft(s, " \t\n\r")
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, fmt.Errorf("missing \"=\" after %q", strings.Fields(s)[0])
		}
		key := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\n\r")
		var val strings.Builder
		if strings.HasPrefix(s, "'") {
			s = s[1:]
			closed := false
			for len(s) > 0 {
				ch := s[0]
				s = s[1:]
				if ch == '\\' && len(s) > 0 {
					val.WriteByte(s[0])
					s = s[1:]
					continue
				}
				if ch == '\'' {
					closed = true
					break
				}
				val.WriteByte(ch)
			}
			if !closed {
				return nil, fmt.Errorf("unterminated quoted value of %q", key)
			}
		} else {
			for len(s) > 0 && !strings.ContainsRune(" \t\n\r", rune(s[0])) {
				if s[0] == '\\' && len(s) > 1 {
					s = s[1:]
				}
				val.WriteByte(s[0])
				s = s[1:]
			}
		}
		pairs = append(pairs, [2]string{key, val.String()})
		s = strings.TrimLeft(s, " \t\n\r")
	}
	return pairs, nil
}

func quoteValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// PgServerMajor returns the major version of the server (15 for 15.4).
func PgServerMajor(ctx context.Context, conn *pgx.Conn) (int, error) {
	var num int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return 0, fmt.Errorf("asking the server its version: %w", err)
	}
	return num / 10000, nil
}

// pgLibDir is where Debian installs each major version's programs.
const pgLibDir = "/usr/lib/postgresql"

var pgVersion = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// PgProgram finds the client program name (pg_dump, pg_dumpall, pg_restore, psql) that can work
// with a server of version major: from dir if given; else Debian's /usr/lib/postgresql/<major>/bin;
// else the one on PATH if it is that version or newer; else the newest Debian one that is.
func PgProgram(ctx context.Context, name string, major int, dir string) (string, error) {
	hint := fmt.Sprintf("install the Debian package postgresql-client-%d (from apt.postgresql.org if your release lacks it)", major)
	if dir != "" {
		p := filepath.Join(dir, name)
		v, err := pgProgramMajor(ctx, p)
		if err != nil {
			return "", err
		}
		if v < major {
			return "", fmt.Errorf("the PostgreSQL server is version %d but %s is version %d: %s", major, p, v, hint)
		}
		return p, nil
	}
	if p := filepath.Join(pgLibDir, strconv.Itoa(major), "bin", name); isExecutable(p) {
		return p, nil
	}
	found := ""
	if p, err := exec.LookPath(name); err == nil {
		v, err := pgProgramMajor(ctx, p)
		if err == nil && v >= major {
			return p, nil
		}
		if err == nil {
			found = fmt.Sprintf("%s is version %d", p, v)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(pgLibDir, "*", "bin", name))
	sort.Slice(dirs, func(i, j int) bool { return debianMajor(dirs[i]) > debianMajor(dirs[j]) })
	if len(dirs) > 0 && debianMajor(dirs[0]) >= major && isExecutable(dirs[0]) {
		return dirs[0], nil
	}
	if found == "" {
		found = "no " + name + " was found in " + pgLibDir + "/*/bin nor on PATH"
	}
	return "", fmt.Errorf("the PostgreSQL server is version %d, which needs %s of version %d or newer, but %s: %s", major, name, major, found, hint)
}

func debianMajor(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

func pgProgramMajor(ctx context.Context, path string) (int, error) {
	out, err := Run(ctx, Cmd{What: path + " --version", Path: path, Args: []string{"--version"}})
	if err != nil {
		return 0, err
	}
	m := pgVersion.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s --version: no PostgreSQL version in %q", path, strings.TrimSpace(string(out)))
	}
	return strconv.Atoi(string(m[1]))
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
