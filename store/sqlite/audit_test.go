package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/upkeep-dev/upkeep"
)

func auditEntry(method, path string) upkeep.AuditEntry {
	return upkeep.AuditEntry{Token: "ci", Method: method, Path: path, RequestID: "req-1", RemoteAddr: "127.0.0.1:5555"}
}

func TestAudit(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	if got, err := db.Audit(ctx, 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("empty log: %v, %v", got, err)
	}
	start := time.Date(2026, 3, 1, 12, 0, 0, 987654321, time.FixedZone("CET", 3600))
	const n = 25
	ids := make([]int64, n)
	for i := range n {
		e := upkeep.AuditEntry{
			Time: start.Add(time.Duration(i) * time.Second), Token: fmt.Sprintf("tok%d", i), Method: "POST",
			Path: fmt.Sprintf("/api/v1/things/%d", i), RequestID: fmt.Sprintf("req-%d", i), RemoteAddr: "[::1]:4000",
		}
		id, err := db.AppendAudit(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && id <= ids[i-1] {
			t.Fatalf("id %d after %d", id, ids[i-1])
		}
		ids[i] = id
	}

	// Page back ten at a time.
	var all []upkeep.AuditEntry
	before := int64(0)
	for {
		page, err := db.Audit(ctx, before, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 10 {
			t.Fatalf("page of %d", len(page))
		}
		all = append(all, page...)
		before = page[len(page)-1].ID
	}
	if len(all) != n {
		t.Fatalf("%d entries, want %d", len(all), n)
	}
	for k, e := range all {
		i := n - 1 - k // newest first
		want := upkeep.AuditEntry{
			ID: ids[i], Time: start.Add(time.Duration(i) * time.Second).Truncate(time.Millisecond).UTC(), Token: fmt.Sprintf("tok%d", i),
			Method: "POST", Path: fmt.Sprintf("/api/v1/things/%d", i), RequestID: fmt.Sprintf("req-%d", i), RemoteAddr: "[::1]:4000",
		}
		if e.Time.Equal(want.Time) {
			e.Time = want.Time
		}
		if e != want {
			t.Errorf("entry %d:\n got %+v\nwant %+v", k, e, want)
		}
	}

	if page, err := db.Audit(ctx, 0, 0); err != nil || len(page) != n {
		t.Errorf("default limit: %d entries, %v", len(page), err)
	}
	if page, err := db.Audit(ctx, ids[0], 10); err != nil || len(page) != 0 {
		t.Errorf("before the first id: %d entries, %v", len(page), err)
	}

	// A zero time is filled in.
	id, err := db.AppendAudit(ctx, auditEntry("GET", "/"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := db.Audit(ctx, 0, 1)
	if err != nil || len(page) != 1 || page[0].ID != id || time.Since(page[0].Time) > time.Minute {
		t.Errorf("entry with a zero time: %+v, %v", page, err)
	}
}
