package restore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/upkeep-dev/upkeep/backup/restore"
	"github.com/upkeep-dev/upkeep/backup/source"
	"github.com/upkeep-dev/upkeep/internal/testenv"
)

func myOpen(t *testing.T, dsn string) (*sql.DB, string) {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MultiStatements = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, cfg.DBName
}

type myFacts struct {
	Rows, Audit int64
	Sum         int64
	Total       string
}

func myFactsOf(t *testing.T, db *sql.DB) myFacts {
	t.Helper()
	var f myFacts
	err := db.QueryRow("SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, name, HEX(data), amount))) FROM items").Scan(&f.Rows, &f.Sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM audit").Scan(&f.Audit); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT item_total()").Scan(&f.Total); err != nil {
		t.Fatalf("the routine: %v", err)
	}
	return f
}

// TestMySQLRoundTrip dumps a database with rows (text in several scripts, binary data), a
// function and a trigger, restores it into another database under a user whose password needs
// quoting, and finds the same rows, a working function and a working trigger. The restore runs as
// the administrator: re-creating a routine defined by another user needs that privilege.
func TestMySQLRoundTrip(t *testing.T) {
	ctx := context.Background()
	srcDSN, dstDSN := testenv.MySQL(t), testenv.MySQL(t)
	src, srcName := myOpen(t, srcDSN)
	dst, dstName := myOpen(t, dstDSN)
	_, err := src.Exec(`
		CREATE TABLE items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100) NOT NULL, data BLOB, amount DECIMAL(10,2));
		CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, item_id INT, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
		CREATE TRIGGER items_audit AFTER INSERT ON items FOR EACH ROW INSERT INTO audit (item_id) VALUES (NEW.id);
		CREATE FUNCTION item_total() RETURNS DECIMAL(20,2) READS SQL DATA RETURN (SELECT SUM(amount) FROM items);`)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := src.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		_, err := tx.Exec("INSERT INTO items (name, data, amount) VALUES (?, ?, ?)",
			fmt.Sprintf("item %d ünïcödé 日本 '\"\\ %d", i, i*i), []byte{0, byte(i), '\n', '\'', 0xff}, float64(i)/4)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	want := myFactsOf(t, src)
	if want.Rows != 2000 || want.Audit != 2000 {
		t.Fatalf("source facts %+v", want)
	}

	// The dump runs as a user with a password that needs quoting everywhere it could go.
	user, password := dbUser(t, src, srcName)
	cfg, _ := mysql.ParseDSN(srcDSN)
	cfg.User, cfg.Passwd, cfg.DBName = user, password, srcName
	userDSN := cfg.FormatDSN()

	streams, err := source.MySQL(ctx, userDSN, source.MySQLOptions{Databases: []string{srcName}})
	if err != nil {
		t.Fatal(err)
	}
	b, names := take(t, streams)
	if len(names) != 1 || names[0] != "databases/"+srcName+".sql" {
		t.Fatalf("streams %v", names)
	}
	if dump := string(b[names[0]]); strings.Contains(dump, "CREATE DATABASE") || strings.Contains(dump, "USE `") {
		t.Errorf("the dump names its database, so it cannot be restored under another name")
	}

	server := srcDSN // the database it names is ignored
	opts := restore.Options{Rename: map[string]string{srcName: dstName}}
	if err := restore.MySQL(ctx, server, names, b.open, opts); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got := myFactsOf(t, dst); got != want {
		t.Fatalf("restored %+v, want %+v", got, want)
	}
	if _, err := dst.Exec("INSERT INTO items (name) VALUES ('after')"); err != nil {
		t.Fatal(err)
	}
	if got := myFactsOf(t, dst); got.Audit != want.Audit+1 {
		t.Errorf("the restored trigger did not fire: audit has %d rows", got.Audit)
	}

	err = restore.MySQL(ctx, server, names, b.open, opts)
	if !errors.Is(err, restore.ErrNotEmpty) || !strings.Contains(err.Error(), dstName) {
		t.Fatalf("restore into a non-empty database: %v", err)
	}
	opts.Force = true
	if err := restore.MySQL(ctx, server, names, b.open, opts); err != nil {
		t.Fatalf("restore with force: %v", err)
	}
	if got := myFactsOf(t, dst); got != want {
		t.Fatalf("restored with force %+v, want %+v", got, want)
	}

	// A dump that fails half-way: the client's error, and the database it was for is gone.
	bad := backup{"databases/x.sql": []byte("CREATE TABLE t (id INT);\nTHIS IS NOT SQL;\n")}
	target := dstName + "_bad"
	err = restore.MySQL(ctx, server, []string{"databases/x.sql"}, bad.open, restore.Options{Rename: map[string]string{"x": target}})
	if err == nil || !strings.Contains(err.Error(), "ERROR 1064") || strings.Contains(err.Error(), password) {
		t.Fatalf("restore of bad SQL: %v", err)
	}
	var n int
	if err := src.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", target).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s left behind (%v)", target, err)
	}
}

// dbUser creates a user, dropped at cleanup, with every privilege on the given databases and the
// right to read their routines.
func dbUser(t *testing.T, db *sql.DB, dbs ...string) (user, password string) {
	t.Helper()
	user = dbs[0][len(dbs[0])-16:]
	password = `p"a'ss\w#rd; x`
	lit := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(password) + "'"
	stmts := []string{"CREATE USER '" + user + "'@'%' IDENTIFIED BY " + lit}
	for _, d := range dbs {
		stmts = append(stmts, "GRANT ALL ON `"+d+"`.* TO '"+user+"'@'%'")
	}
	// To read the definitions of routines defined by another user (MariaDB; MySQL 8 has SHOW_ROUTINE).
	stmts = append(stmts, "GRANT SELECT ON mysql.proc TO '"+user+"'@'%'")
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP USER '" + user + "'@'%'") })
	return user, password
}
