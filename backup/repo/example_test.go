package repo_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/upkeep-dev/upkeep/backup/repo"
)

// A backup run of a database job on one destination, then retention and a check.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "upkeep-example-")
	defer os.RemoveAll(dir)

	r, err := repo.Open(ctx, repo.Destination{Name: "onsite", Path: dir + "/repo"},
		repo.Options{Password: "from the policy's password_file", StateDir: dir + "/state/onsite", ExclusiveMaintenance: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(ctx)

	dump := repo.Stream{Name: "databases/app.sql", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("CREATE TABLE orders (id int);\n")), nil // a dump's stdout
	}}
	snap, err := r.SnapshotStreams(ctx, "app-db", []repo.Stream{dump}, map[string]string{"run": "42"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("files:", snap.Files, "bytes:", snap.Bytes)

	names, _ := r.Entries(ctx, snap.ID)
	fmt.Println("entries:", names)

	// Retention decides what to forget (package backup/retention); maintenance frees the space.
	snaps, _ := r.Snapshots(ctx, "app-db")
	_ = r.Forget(ctx, nil)
	_ = r.Maintenance(ctx, false)
	report, err := r.Verify(ctx, 0.1)
	fmt.Println("snapshots:", len(snaps), "verified:", report.Snapshots, err)
	// Output:
	// files: 1 bytes: 30
	// entries: [databases/app.sql]
	// snapshots: 1 verified: 1 <nil>
}
