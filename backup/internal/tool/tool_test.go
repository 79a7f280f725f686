package tool

import (
	"io"
	"strings"
	"testing"
)

func TestParsePg(t *testing.T) {
	for _, c := range []struct{ dsn, conn, password, db string }{
		{"postgres://app:s%20cr%27t@db:5433/app?sslmode=require", "postgres://app@db:5433/app?sslmode=require", "s cr't", "postgres://app@db:5433/other?sslmode=require"},
		{"postgresql://app@db/app?password=pw&sslmode=disable", "postgresql://app@db/app?sslmode=disable", "pw", "postgresql://app@db/other?sslmode=disable"},
		{"host=db user=app password='it''s' dbname=app", "", "", ""}, // '' is not libpq's escape: invalid
		{`host=db user=app password='a \'b\\c' dbname=app`, `host='db' user='app' dbname='app'`, `a 'b\c`, `host='db' user='app' dbname='app' dbname='other'`},
		{"postgres://app@db/app?pool_max_conns=4&statement_cache_capacity=0", "postgres://app@db/app", "", "postgres://app@db/other"},
		{"host = db port=5432 password=plain", `host='db' port='5432'`, "plain", `host='db' port='5432' dbname='other'`},
	} {
		pc, err := ParsePg(c.dsn)
		if c.conn == "" {
			if err == nil {
				t.Errorf("ParsePg(%q) accepted", c.dsn)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePg(%q): %v", c.dsn, err)
			continue
		}
		if pc.conn != c.conn || pc.Password() != c.password || pc.Database("other") != c.db {
			t.Errorf("ParsePg(%q) = %q, password %q, other %q; want %q, %q, %q", c.dsn, pc.conn, pc.Password(), pc.Database("other"), c.conn, c.password, c.db)
		}
	}
	if _, err := ParsePg("postgres://u:hunter2@db:notaport/x"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("invalid DSN error %v must not quote the password", err)
	}
}

func TestDefaults(t *testing.T) {
	mc, err := ParseMy(`bob:p"a\ss#w@tcp(db.example:3307)/app?tls=true`)
	if err != nil {
		t.Fatal(err)
	}
	opt, pipe, err := mc.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(pipe)
	pipe.Close()
	want := "[client]\nuser=\"bob\"\npassword=\"p\\\"a\\\\ss#w\"\nprotocol=tcp\nhost=\"db.example\"\nport=3307\nssl\nssl-verify-server-cert\n"
	if err != nil || string(b) != want || opt != "--defaults-extra-file=/dev/fd/3" {
		t.Errorf("%s from the pipe:\n%s\nwant:\n%s (%v)", opt, b, want, err)
	}
	if _, err := ParseMy("bob:hunter2@tcp(db"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("invalid DSN error %v must not quote the password", err)
	}
}
