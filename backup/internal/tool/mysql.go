package tool

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
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

// Defaults returns the option that points a client program at its connection settings
// (password included; it must be the program's first argument) and the pipe they are read from,
// which the program must get as its file descriptor 3 (Cmd.ExtraFiles). Nothing is written to disk
// or put on a command line or in the environment, so nothing is left behind if Upkeep is killed.
func (c MyConn) Defaults() (option string, pipe *os.File, err error) {
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
	switch cfg.TLSConfig {
	case "", "false":
	case "preferred":
		b.WriteString("ssl\n")
	case "skip-verify":
		b.WriteString("ssl\nskip-ssl-verify-server-cert\n")
	case "true":
		b.WriteString("ssl\nssl-verify-server-cert\n")
	default:
		return "", nil, fmt.Errorf("the MariaDB/MySQL DSN's tls=%s names a TLS configuration the client programs cannot use (use true, skip-verify or preferred)", cfg.TLSConfig)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return "", nil, fmt.Errorf("passing the connection settings to the client: %w", err)
	}
	_, err = w.WriteString(b.String()) // far below a pipe's capacity: does not block
	if err = errors.Join(err, w.Close()); err != nil {
		r.Close()
		return "", nil, fmt.Errorf("passing the connection settings to the client: %w", err)
	}
	return "--defaults-extra-file=/dev/fd/3", r, nil
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
