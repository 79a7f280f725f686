package check

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/policy"
)

// sqlChecker runs a query through a small pool of its own: one connection kept open between
// checks (so a check measures the query, not a new login), at most two at once.
type sqlChecker struct {
	kind    string
	db      *sql.DB
	query   string
	slow    time.Duration
	secrets []string // strings that must not appear in Result.Error: the password, the DSN
	timeout time.Duration
}

func newSQL(kind string, s *policy.SQLCheck, timeout time.Duration) (Checker, error) {
	dsn := s.DSN.Reveal()
	c := &sqlChecker{kind: kind, query: s.Query, slow: s.SlowAfter.Duration, timeout: timeout}
	if c.query == "" {
		c.query = "select 1"
	}
	var password string
	switch kind {
	case policy.KindPostgres:
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, errors.New("postgres check: invalid DSN") // the error would quote it
		}
		password = cfg.Password
		c.db = stdlib.OpenDB(*cfg)
	case policy.KindMySQL:
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, errors.New("mysql check: invalid DSN")
		}
		password = cfg.Passwd
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, errors.New("mysql check: invalid DSN")
		}
		c.db = sql.OpenDB(conn)
	default:
		return nil, fmt.Errorf("no SQL check of kind %q", kind)
	}
	c.db.SetMaxOpenConns(2)
	c.db.SetMaxIdleConns(1)
	c.db.SetConnMaxIdleTime(10 * time.Minute)
	c.db.SetConnMaxLifetime(time.Hour)
	for _, s := range []string{dsn, password, url.QueryEscape(password), url.PathEscape(password)} {
		if len(s) >= 3 { // shorter ones would blank out ordinary words
			c.secrets = append(c.secrets, s)
		}
	}
	return c, nil
}

func (c *sqlChecker) Close() error { return c.db.Close() }

func (c *sqlChecker) Check(ctx context.Context) upkeep.Result {
	r := run(ctx, c.timeout, c.check)
	for _, s := range c.secrets {
		r.Error = strings.ReplaceAll(r.Error, s, "[redacted]")
	}
	return r
}

func (c *sqlChecker) check(ctx context.Context) outcome {
	start := time.Now()
	var v any
	err := c.db.QueryRowContext(ctx, c.query).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return down("query returned no rows")
	case err != nil:
		return outcome{err: err}
	}
	if msg := falsy(v); msg != "" {
		return outcome{err: problem("query returned " + msg)}
	}
	return outcome{degraded: slow(time.Since(start), c.slow)}
}

// falsy says what the first column held when it is not true or non-zero, or "".
func falsy(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if !x {
			return "false"
		}
	case int64:
		if x == 0 {
			return "0"
		}
	case float64:
		if x == 0 {
			return "0"
		}
	case []byte:
		return falsyText(string(x))
	case string:
		return falsyText(x)
	default:
		if val, ok := v.(driver.Valuer); ok {
			if inner, err := val.Value(); err == nil {
				return falsy(inner)
			}
		}
		return fmt.Sprintf("a %T, not true or a number", v)
	}
	return ""
}

func falsyText(s string) string {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "t", "true", "y", "yes", "on":
		return ""
	case "f", "false", "n", "no", "off":
		return "false"
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		if f == 0 {
			return s
		}
		return ""
	}
	return fmt.Sprintf("%s, not true or a number", quoteShort([]byte(s)))
}
