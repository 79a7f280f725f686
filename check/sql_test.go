package check

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/internal/testenv"
)

// secretPassword is a password that must never appear in a result.
const secretPassword = "Hunter2-do-not-show"

type sqlCase struct {
	name    string
	query   string
	outcome upkeep.State
	err     string // exact, or a prefix when it ends with "…"
	more    string // more settings of the check, e.g. ", slow_after: 5ms"
}

func runSQL(t *testing.T, kind, dsn string, cases []sqlCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			m := monitorEnv(t, map[string]string{"DSN": dsn}, fmt.Sprintf(`%s: {dsn: "${DSN}", query: %q%s}`, kind, tt.query, tt.more))
			prefix, isPrefix := strings.CutSuffix(tt.err, "…")
			r := want(t, checker(t, m, Options{}), tt.outcome, prefix)
			if !isPrefix && r.Error != tt.err && tt.outcome != upkeep.StateDegraded {
				t.Errorf("error %q, want %q", r.Error, tt.err)
			}
			t.Logf("%s: %s %q", tt.query, r.Outcome, r.Error)
			if strings.Contains(r.Error, secretPassword) {
				t.Errorf("the error shows the password: %q", r.Error)
			}
		})
	}
}

func TestPostgres(t *testing.T) {
	dsn := testenv.Postgres(t)
	runSQL(t, "postgres", dsn, []sqlCase{
		{"default query", "", upkeep.StateUp, "", ""},
		{"true", "select count(*) = 0 from pg_class where false", upkeep.StateUp, "", ""},
		{"false", "select false", upkeep.StateDown, "query returned false", ""},
		{"non-zero", "select 42", upkeep.StateUp, "", ""},
		{"zero", "select 0", upkeep.StateDown, "query returned 0", ""},
		{"numeric zero", "select 0.0::numeric", upkeep.StateDown, "query returned 0…", ""},
		{"text", "select 'yes'", upkeep.StateUp, "", ""},
		{"null", "select null", upkeep.StateDown, "query returned NULL", ""},
		{"no rows", "select 1 where false", upkeep.StateDown, "query returned no rows", ""},
		{"error", "select * from no_such_table", upkeep.StateDown, `ERROR: relation "no_such_table" does not exist (SQLSTATE 42P01)`, ""},
		{"slow", "select true from pg_sleep(0.05)", upkeep.StateDegraded, "slow: …", ", slow_after: 5ms"},
	})

	// Wrong credentials, with the password also used as the database name, which the driver's
	// error quotes.
	u, err := url.Parse(dsn)
	testenv.Require(t, err == nil && u.Scheme != "", "the PostgreSQL test DSN is not a URL")
	u.User = url.UserPassword("upkeep_no_such_user", secretPassword)
	u.Path = "/" + secretPassword
	runSQL(t, "postgres", u.String(), []sqlCase{{"wrong password", "", upkeep.StateDown, "failed to connect to `user=upkeep_no_such_user database=[redacted]`…", ""}})
}

func TestMySQL(t *testing.T) {
	dsn := testenv.MySQL(t)
	runSQL(t, "mysql", dsn, []sqlCase{
		{"default query", "", upkeep.StateUp, "", ""},
		{"true", "select count(*) = 0 from information_schema.tables where false", upkeep.StateUp, "", ""},
		{"false", "select false", upkeep.StateDown, "query returned 0", ""},
		{"non-zero", "select 42", upkeep.StateUp, "", ""},
		{"decimal zero", "select 0.0", upkeep.StateDown, "query returned 0.0", ""},
		{"null", "select null", upkeep.StateDown, "query returned NULL", ""},
		{"no rows", "select 1 from dual where false", upkeep.StateDown, "query returned no rows", ""},
		{"error", "select * from no_such_table", upkeep.StateDown, "Error 1146 (42S02): Table '…", ""},
	})

	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Passwd, cfg.DBName = "upkeep_no_such_user", secretPassword, secretPassword
	runSQL(t, "mysql", cfg.FormatDSN(), []sqlCase{{"wrong password", "", upkeep.StateDown, "Error 1…", ""}})
	r := checker(t, monitorEnv(t, map[string]string{"DSN": cfg.FormatDSN()}, `mysql: {dsn: "${DSN}"}`), Options{}).Check(context.Background())
	if !strings.Contains(r.Error, "Access denied for user 'upkeep_no_such_user'") {
		t.Errorf("wrong password: %q", r.Error)
	}
}
