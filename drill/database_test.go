package drill

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/upkeep-dev/upkeep"
	"github.com/upkeep-dev/upkeep/backup/source"
	"github.com/upkeep-dev/upkeep/internal/testenv"
	"github.com/upkeep-dev/upkeep/policy"
)

func pgConfig(t *testing.T, dsn string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A pgbench database backed up and restored into a scratch database by a drill: the row counts
// match, freshness_sql measures the RPO, a false check and a database not marked scratch fail.
func TestPostgresDrill(t *testing.T) {
	srcDSN, scratchDSN := testenv.Postgres(t), testenv.Postgres(t)
	src, scratch := pgConfig(t, srcDSN), pgConfig(t, scratchDSN)
	testenv.Pgbench(t, srcDSN, 1)
	db, err := sql.Open("pgx", srcDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE orders (id int, created_at timestamptz); INSERT INTO orders VALUES (1, now() - interval '2 hours')`); err != nil {
		t.Fatal(err)
	}

	f := newFixture(t, "pg-job", "postgres")
	streams, err := source.Postgres(t.Context(), srcDSN, source.PostgresOptions{Databases: []string{src.Database}, NoGlobals: true})
	if err != nil {
		t.Fatal(err)
	}
	f.backupStreams(streams)

	// The scratch database holds something a drill must wipe.
	sdb, err := sql.Open("pgx", scratchDSN)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.Exec(`CREATE TABLE leftover (x int)`); err != nil {
		t.Fatal(err)
	}
	sdb.Close()

	target := &policy.DatabaseTarget{DSN: policy.Secret(srcDSN), Database: scratch.Database, Scratch: true}
	d := &policy.Drill{
		Name: "pg-drill", Backup: "pg-job", Keep: true,
		Into: policy.DrillTarget{Postgres: target},
		Verify: []policy.VerifyStep{
			{SQL: "select count(*) = 100000 from pgbench_accounts"},
			{SQL: "select count(*) = 0 from information_schema.tables where table_name = 'leftover'"},
			{Command: `test -n "$UPKEEP_RESTORED_DSN" && test "$UPKEEP_RESTORED_DATABASE" = ` + scratch.Database},
		},
		FreshnessSQL: "select max(created_at) from orders",
	}
	run, err := f.runner.Run(t.Context(), d, "")
	if err != nil {
		t.Fatalf("drill failed: %v", err)
	}
	if run.Status != upkeep.DrillPassed || len(run.Steps) != 3 || run.Files != 1 || run.Bytes == 0 {
		t.Errorf("run = %+v", run)
	}
	if run.RPO < 2*time.Hour || run.RPO > 3*time.Hour {
		t.Errorf("rpo from freshness_sql = %s, want about 2h", run.RPO)
	}

	t.Run("false check", func(t *testing.T) {
		d := *d
		d.FreshnessSQL = ""
		d.Verify = []policy.VerifyStep{{SQL: "select count(*) = 5 from pgbench_accounts"}}
		run, err := f.runner.Run(t.Context(), &d, "")
		wantFailure(t, err, "verify", `sql check: "select count(*) = 5 from pgbench_accounts" returned false`)
		if len(run.Steps) != 1 || run.Steps[0].Passed {
			t.Errorf("steps %+v", run.Steps)
		}
	})
	t.Run("not scratch", func(t *testing.T) {
		d := *d
		d.Into = policy.DrillTarget{Postgres: &policy.DatabaseTarget{DSN: policy.Secret(srcDSN), Database: scratch.Database}}
		_, err := f.runner.Run(t.Context(), &d, "")
		wantFailure(t, err, "restore", "is not marked scratch: true")
	})
	t.Run("no password in reasons", func(t *testing.T) {
		d := *d
		d.Verify = []policy.VerifyStep{{SQL: "select * from no_such_table"}}
		run, err := f.runner.Run(t.Context(), &d, "")
		wantFailure(t, err, "verify", "no_such_table")
		if src.Password != "" && strings.Contains(run.Reason, src.Password) {
			t.Errorf("reason shows the password: %s", run.Reason)
		}
	})
}

// A MariaDB database restored into a scratch database, checked by row count.
func TestMySQLDrill(t *testing.T) {
	srcDSN, scratchDSN := testenv.MySQL(t), testenv.MySQL(t)
	srcCfg, err := mysql.ParseDSN(srcDSN)
	if err != nil {
		t.Fatal(err)
	}
	scratchCfg, err := mysql.ParseDSN(scratchDSN)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", srcDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(40))`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO orders WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) SELECT i, CONCAT('order ', i) FROM n`); err != nil {
		t.Fatal(err)
	}

	f := newFixture(t, "my-job", "mysql")
	streams, err := source.MySQL(t.Context(), srcDSN, source.MySQLOptions{Databases: []string{srcCfg.DBName}})
	if err != nil {
		t.Fatal(err)
	}
	f.backupStreams(streams)

	d := &policy.Drill{
		Name: "my-drill", Backup: "my-job",
		Into:   policy.DrillTarget{MySQL: &policy.DatabaseTarget{DSN: policy.Secret(srcDSN), Database: scratchCfg.DBName, Scratch: true}},
		Verify: []policy.VerifyStep{{SQL: "select count(*) = 500 and max(note) = 'order 99' from orders"}},
	}
	run, err := f.runner.Run(t.Context(), d, "")
	if err != nil {
		t.Fatalf("drill failed: %v", err)
	}
	if run.Status != upkeep.DrillPassed || len(run.Steps) != 1 {
		t.Errorf("run = %+v", run)
	}
	// Without keep the scratch database is dropped afterwards.
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?`, scratchCfg.DBName).Scan(&n); err != nil || n != 0 {
		t.Errorf("scratch database left: %d %v", n, err)
	}

	d.Verify = []policy.VerifyStep{{SQL: "select count(*) = 501 from orders"}}
	_, err = f.runner.Run(t.Context(), d, "")
	wantFailure(t, err, "verify", "returned 0")
}
