package sqlite

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkWrite measures durable writes (AppendAudit: one row, synchronous=FULL) from one
// producer and from 64 concurrent producers, and reports writes per second and the average number
// of writes per committed transaction. Each commit is an fsync, so the serial figure is bound by
// the disk's sync latency and the parallel one shows how much batching recovers. Record results in
// docs/benchmarks.md ("Store").
//
//	go test -run '^$' -bench BenchmarkWrite -benchtime 5s ./store/sqlite/
func BenchmarkWrite(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		db := openBenchDB(b)
		entry := auditEntry("POST", "/api/v1/bench")
		start := db.Stats()
		for b.Loop() {
			if _, err := db.AppendAudit(context.Background(), entry); err != nil {
				b.Fatal(err)
			}
		}
		reportWrites(b, db, start)
	})
	b.Run("producers=64", func(b *testing.B) {
		db := openBenchDB(b)
		entry := auditEntry("POST", "/api/v1/bench")
		// RunParallel starts parallelism × GOMAXPROCS goroutines.
		b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		start := db.Stats()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := db.AppendAudit(context.Background(), entry); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportWrites(b, db, start)
	})
}

func reportWrites(b *testing.B, db *DB, start WriterStats) {
	b.Helper()
	end := db.Stats()
	if secs := b.Elapsed().Seconds(); secs > 0 {
		b.ReportMetric(float64(end.Writes-start.Writes)/secs, "writes/s")
	}
	if batches := end.Batches - start.Batches; batches > 0 {
		b.ReportMetric(float64(end.Writes-start.Writes)/float64(batches), "writes/batch")
	}
	b.ReportMetric(float64(end.MaxBatchSize), "max-batch")
}

// openBenchDB opens a store that logs nothing, so benchmark output stays readable.
func openBenchDB(b *testing.B) *DB {
	b.Helper()
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "data"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := db.Close(); err != nil {
			b.Error(err)
		}
	})
	return db
}
