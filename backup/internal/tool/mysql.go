package tool

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// MyConn is a MariaDB/MySQL DSN (go-sql-driver/mysql form, as the sql check takes it) ready for
// the client programs, which get it through a private defaults file rather than their command line.
type MyConn struct {
	Config *mysql.Config
}

// ParseMy parses a go-sql-driver/mysql DSN, e.g. user:password@tcp(db:3306)/. Its errors never
// quote the password.
func ParseMy(dsn string) (MyConn, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		var p string
		if i := strings.LastIndexByte(dsn, '@'); i > 0 {
			if j := strings.IndexByte(dsn[:i], ':'); j >= 0 {
				p = dsn[j+1 : i]
			}
		}
		return MyConn{}, fmt.Errorf("invalid MariaDB/MySQL DSN (expected user:password@tcp(host:port)/): %s", redact(err.Error(), []string{p}))
	}
	return MyConn{Config: cfg}, nil
}

// Secrets returns what must never appear in an error.
func (c MyConn) Secrets() []string {
	if c.Config.Passwd == "" {
		return nil
	}
	return []string{c.Config.Passwd}
}

// DefaultsFile writes the connection settings (password included) to a file readable by this
// user only, in a private directory, and returns the option that points a client program at it
// (it must be the program's first argument) and the function that removes it.
func (c MyConn) DefaultsFile() (option string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "upkeep-mysql-")
	if err != nil {
		return "", nil, fmt.Errorf("creating the client defaults file: %w", err)
	}
	remove = func() { _ = os.RemoveAll(dir) }
	var b strings.Builder
	b.WriteString("[client]\n")
	cfg := c.Config
	if cfg.User != "" {
		fmt.Fprintf(&b, "user=%s\n", quoteOption(cfg.User))
	}
	fmt.Fprintf(&b, "password=%s\n", quoteOption(cfg.Passwd)) // an empty one stops a prompt
	switch cfg.Net {
	case "unix":
		fmt.Fprintf(&b, "protocol=socket\nsocket=%s\n", quoteOption(cfg.Addr))
	default:
		host, port := cfg.Addr, ""
		if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
			host, port = host[:i], host[i+1:]
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		fmt.Fprintf(&b, "protocol=tcp\nhost=%s\n", quoteOption(host))
		if port != "" {
			fmt.Fprintf(&b, "port=%s\n", port)
		}
	}
	path := filepath.Join(dir, "client.cnf")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		remove()
		return "", nil, fmt.Errorf("writing the client defaults file: %w", err)
	}
	return "--defaults-extra-file=" + path, remove, nil
}

// quoteOption quotes a value for a MySQL/MariaDB option file.
func quoteOption(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(v) + `"`
}

// MyProgram finds the first of names on PATH (mariadb-dump before mysqldump, for instance).
func MyProgram(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("neither " + strings.Join(names, " nor ") + " is installed: install the Debian package mariadb-client (or default-mysql-client)")
}
