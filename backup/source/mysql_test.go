package source

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/upkeep-dev/upkeep/internal/testenv"
)

// A database that disappears between listing and dumping fails its stream with the dump
// program's message, naming the database.
func TestMySQLDumpOfMissingDatabaseFails(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.MySQL(t)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	streams, err := MySQL(ctx, dsn, MySQLOptions{Databases: []string{cfg.DBName}})
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 || streams[0].Name != "databases/"+cfg.DBName+".sql" {
		t.Fatalf("the listed database only: %v", streams)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DROP DATABASE `" + cfg.DBName + "`"); err != nil {
		t.Fatal(err)
	}
	streamFails(t, streams[0], `of database "`+cfg.DBName+`" failed`, "exit status 2", "Unknown database")
}

func TestMySQLDatabaseSelection(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.MySQL(t)
	cfg, _ := mysql.ParseDSN(dsn)
	name := cfg.DBName
	streams, err := MySQL(ctx, cfg.FormatDSN(), MySQLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range streams {
		names = append(names, s.Name)
	}
	if !slices.Contains(names, "databases/"+name+".sql") || slices.Contains(names, "databases/mysql.sql") ||
		slices.Contains(names, "databases/information_schema.sql") {
		t.Errorf("every database but the system schemas: %v", names)
	}
	if _, err := MySQL(ctx, cfg.FormatDSN(), MySQLOptions{Databases: []string{name}, Exclude: []string{name}}); err == nil {
		t.Error("nothing left to back up: accepted")
	}
}
