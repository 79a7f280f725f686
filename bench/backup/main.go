// Command backup benchmarks Upkeep's backup repositories (package backup/repo, kopia) against
// restic on the same data, machine and run:
//
//	go run ./bench/backup -size 2GB
//
// It generates a mixed data set (many small files, medium ones, a few large ones; half of the
// bytes compressible text, half incompressible), then measures for each tool, on a repository in
// a local directory: the initial backup, an incremental backup after changing 1% of the data, and
// a full restore of the latest snapshot, in seconds and MB/s (of data set bytes), with the ratio
// restic/Upkeep of the times (above 1: Upkeep is faster). It also compresses a sample of the data
// with kopia's zstd-fastest and s2-default compressors, which is how Upkeep's compressor was
// picked. restic must be in PATH (Debian: apt-get install restic); without it only Upkeep runs.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kopia/kopia/repo/compression"

	"github.com/upkeep-dev/upkeep/backup/repo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "backup:", err)
		os.Exit(1)
	}
}

const password = "bench-password"

func run() error {
	sizeFlag := flag.String("size", "2GB", "size of the generated data set (e.g. 200MB, 500MB, 2GB)")
	dirFlag := flag.String("dir", "", "work directory (default: a new directory under $TMPDIR, removed at the end)")
	resticBin := flag.String("restic", "restic", "restic binary")
	flag.Parse()
	size, err := parseSize(*sizeFlag)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()

	dir := *dirFlag
	if dir == "" {
		if dir, err = os.MkdirTemp("", "upkeep-bench-backup-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	data := filepath.Join(dir, "data")

	fmt.Printf("Go %s, %d CPUs, %s/%s; data set %s in %s\n", runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, human(size), data)
	start := time.Now()
	files, err := generate(data, size)
	if err != nil {
		return fmt.Errorf("generating the data set: %w", err)
	}
	total, err := treeBytes(data)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d files, %s in %.1fs\n", files, human(total), time.Since(start).Seconds())

	if err := compareCompressors(data); err != nil {
		return err
	}

	var results []result
	up, err := benchUpkeep(ctx, dir, data)
	if err != nil {
		return fmt.Errorf("upkeep: %w", err)
	}
	results = append(results, up)

	// Restore the data set as it was before the change for restic: same starting point.
	if _, err := exec.LookPath(*resticBin); err != nil {
		fmt.Printf("\n%s not found: restic is not measured (apt-get install restic)\n", *resticBin)
	} else {
		if err := os.RemoveAll(data); err != nil {
			return err
		}
		if _, err := generate(data, size); err != nil {
			return err
		}
		rs, err := benchRestic(ctx, *resticBin, dir, data)
		if err != nil {
			return fmt.Errorf("restic: %w", err)
		}
		results = append(results, rs)
	}
	report(total, results)
	return nil
}

// result holds the timings of one tool.
type result struct {
	tool                            string
	version                         string
	initial, incremental, restore   time.Duration
	changed                         int64 // bytes changed before the incremental backup
	repoAfterInitial, repoAfterIncr int64
}

func benchUpkeep(ctx context.Context, dir, data string) (result, error) {
	res := result{tool: "upkeep", version: "backup/repo, kopia v0.23.1"}
	d := repo.Destination{Name: "bench", Path: filepath.Join(dir, "upkeep-repo")}
	r, err := repo.Open(ctx, d, repo.Options{Password: password, StateDir: filepath.Join(dir, "upkeep-state")})
	if err != nil {
		return res, err
	}
	defer r.Close(ctx)
	spec := repo.FilesSpec{Paths: []string{data}}

	t := time.Now()
	if _, err := r.SnapshotFiles(ctx, "bench", spec, nil, nil); err != nil {
		return res, err
	}
	res.initial = time.Since(t)
	res.repoAfterInitial, _ = treeBytes(d.Path)
	fmt.Printf("upkeep: initial backup %.1fs\n", res.initial.Seconds())

	if res.changed, err = change(data); err != nil {
		return res, err
	}
	t = time.Now()
	snap, err := r.SnapshotFiles(ctx, "bench", spec, nil, nil)
	if err != nil {
		return res, err
	}
	res.incremental = time.Since(t)
	res.repoAfterIncr, _ = treeBytes(d.Path)
	fmt.Printf("upkeep: incremental backup %.1fs (added %s)\n", res.incremental.Seconds(), human(snap.BytesAdded))

	target := filepath.Join(dir, "upkeep-restore")
	t = time.Now()
	if err := r.RestoreFiles(ctx, snap.ID, target, nil); err != nil {
		return res, err
	}
	res.restore = time.Since(t)
	fmt.Printf("upkeep: restore %.1fs\n", res.restore.Seconds())
	if err := sameTree(data, target); err != nil {
		return res, fmt.Errorf("restored data differs: %w", err)
	}
	return res, os.RemoveAll(target)
}

func benchRestic(ctx context.Context, bin, dir, data string) (result, error) {
	res := result{tool: "restic"}
	repoDir := filepath.Join(dir, "restic-repo")
	env := append(os.Environ(), "RESTIC_PASSWORD="+password, "RESTIC_REPOSITORY="+repoDir, "RESTIC_CACHE_DIR="+filepath.Join(dir, "restic-cache"))
	restic := func(args ...string) error {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("restic %s: %w: %s", strings.Join(args, " "), err, lastLines(out.String(), 5))
		}
		return nil
	}
	if out, err := exec.CommandContext(ctx, bin, "version").Output(); err == nil {
		res.version = strings.TrimSpace(string(out))
	}
	if err := restic("init"); err != nil {
		return res, err
	}
	t := time.Now()
	if err := restic("backup", "--quiet", data); err != nil {
		return res, err
	}
	res.initial = time.Since(t)
	res.repoAfterInitial, _ = treeBytes(repoDir)
	fmt.Printf("restic: initial backup %.1fs\n", res.initial.Seconds())

	var err error
	if res.changed, err = change(data); err != nil {
		return res, err
	}
	t = time.Now()
	if err := restic("backup", "--quiet", data); err != nil {
		return res, err
	}
	res.incremental = time.Since(t)
	res.repoAfterIncr, _ = treeBytes(repoDir)
	fmt.Printf("restic: incremental backup %.1fs\n", res.incremental.Seconds())

	target := filepath.Join(dir, "restic-restore")
	t = time.Now()
	if err := restic("restore", "latest", "--target", target); err != nil {
		return res, err
	}
	res.restore = time.Since(t)
	fmt.Printf("restic: restore %.1fs\n", res.restore.Seconds())
	// restic restores absolute paths under the target.
	if err := sameTree(data, filepath.Join(target, data)); err != nil {
		return res, fmt.Errorf("restored data differs: %w", err)
	}
	return res, os.RemoveAll(target)
}

func report(total int64, rs []result) {
	fmt.Printf("\ndata set: %s; MB/s are data set MB (10^6 bytes) per second\n\n", human(total))
	fmt.Printf("| step | %s |", strings.Join(names(rs), " | "))
	if len(rs) == 2 {
		fmt.Print(" restic time / upkeep time |")
	}
	fmt.Println()
	fmt.Print("|---|")
	for range rs {
		fmt.Print("---|")
	}
	if len(rs) == 2 {
		fmt.Print("---|")
	}
	fmt.Println()
	line := func(step string, bytes int64, d func(result) time.Duration) {
		fmt.Printf("| %s |", step)
		for _, r := range rs {
			fmt.Printf(" %.1f s, %.0f MB/s |", d(r).Seconds(), float64(bytes)/1e6/d(r).Seconds())
		}
		if len(rs) == 2 {
			fmt.Printf(" %.2f |", d(rs[1]).Seconds()/d(rs[0]).Seconds())
		}
		fmt.Println()
	}
	line("initial backup", total, func(r result) time.Duration { return r.initial })
	line("incremental (1% changed)", total, func(r result) time.Duration { return r.incremental })
	line("full restore", total, func(r result) time.Duration { return r.restore })
	fmt.Printf("| repository size after initial / incremental |")
	for _, r := range rs {
		fmt.Printf(" %s / %s |", human(r.repoAfterInitial), human(r.repoAfterIncr))
	}
	if len(rs) == 2 {
		fmt.Print(" |")
	}
	fmt.Println()
	for _, r := range rs {
		fmt.Printf("\n%s: %s; changed before the incremental: %s", r.tool, r.version, human(r.changed))
	}
	fmt.Println()
}

func names(rs []result) []string {
	var n []string
	for _, r := range rs {
		n = append(n, r.tool)
	}
	return n
}

// The data set ----------------------------------------------------------------------------------

// generate writes a deterministic mixed data set of about size bytes under dir and returns the
// number of files: 25% in small files (1-16 KiB), 25% in medium ones (64 KiB-4 MiB), 50% in large
// ones (up to 256 MiB); every second file of each kind is text (compressible), the others random.
func generate(dir string, size int64) (int, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	files := 0
	write := func(path string, n int64, text bool) error {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		var src io.Reader = rand.NewChaCha8(seed(rng))
		if text {
			src = &textReader{rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))}
		}
		if _, err := io.CopyN(f, src, n); err != nil {
			f.Close()
			return err
		}
		files++
		return f.Close()
	}
	budgets := []struct {
		share    float64
		min, max int64
		kind     string
	}{
		{0.25, 1 << 10, 16 << 10, "small"},
		{0.25, 64 << 10, 4 << 20, "medium"},
		{0.50, 32 << 20, 256 << 20, "large"},
	}
	for _, b := range budgets {
		left := int64(float64(size) * b.share)
		for i := 0; left > 0; i++ {
			n := min(b.min+rng.Int64N(b.max-b.min+1), left)
			left -= n
			path := filepath.Join(dir, b.kind, fmt.Sprintf("d%03d", i/500), fmt.Sprintf("f%06d", i))
			text := i%2 == 0
			if text {
				path += ".txt"
			} else {
				path += ".bin"
			}
			if err := write(path, n, text); err != nil {
				return files, err
			}
		}
	}
	return files, nil
}

func seed(rng *rand.Rand) [32]byte {
	var s [32]byte
	for i := range 4 {
		v := rng.Uint64()
		for j := range 8 {
			s[i*8+j] = byte(v >> (8 * j))
		}
	}
	return s
}

var words = strings.Fields(`the backup restore database service monitor incident status error
warning info debug request response latency user order payment invoice customer account session
token cache queue worker job schedule retry timeout connection host region replica primary`)

// textReader produces log-like text lines: compressible, but not repetitive enough to dedup.
type textReader struct {
	rng *rand.Rand
	buf []byte
}

func (t *textReader) Read(p []byte) (int, error) {
	for len(t.buf) < len(p) {
		t.buf = strconv.AppendInt(t.buf, 1_700_000_000+t.rng.Int64N(100_000_000), 10)
		for range 6 + t.rng.IntN(10) {
			t.buf = append(t.buf, ' ')
			t.buf = append(t.buf, words[t.rng.IntN(len(words))]...)
		}
		t.buf = append(t.buf, " id="...)
		t.buf = strconv.AppendUint(t.buf, t.rng.Uint64(), 16)
		t.buf = append(t.buf, '\n')
	}
	n := copy(p, t.buf)
	t.buf = t.buf[:copy(t.buf, t.buf[n:])]
	return n, nil
}

// change modifies about 1% of the data set's bytes, the way files change between two backups:
// every 100th small or medium file is rewritten, and 1% of every large file (a database file, an
// image) is overwritten in the middle. It returns the bytes changed.
func change(dir string) (int64, error) {
	rng := rand.NewChaCha8([32]byte{9})
	var changed int64
	i := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		i++
		n, off := fi.Size(), int64(0) // every 100th small or medium file, whole
		if large := fi.Size() >= 32<<20; large {
			n, off = fi.Size()/100, fi.Size()/2 // 1% in the middle of every large file
		} else if i%100 != 0 {
			return nil
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return err
		}
		if _, err := io.CopyN(f, rng, n); err != nil {
			f.Close()
			return err
		}
		changed += n
		return f.Close()
	})
	return changed, err
}

func treeBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// sameTree checks that got has the files of want with the same sizes (contents are checked by the
// tests; here a cheap check that the restore is complete).
func sameTree(want, got string) error {
	return filepath.WalkDir(want, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(want, path)
		wi, err := d.Info()
		if err != nil {
			return err
		}
		gi, err := os.Stat(filepath.Join(got, rel))
		if err != nil {
			return err
		}
		if wi.Size() != gi.Size() {
			return fmt.Errorf("%s: %d bytes, want %d", rel, gi.Size(), wi.Size())
		}
		return nil
	})
}

// compareCompressors compresses up to 256 MB of the data set's files with the two candidate
// compressors and prints speed and ratio.
func compareCompressors(dir string) error {
	var sample [][]byte
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || total > 256<<20 {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if len(b) > 16<<20 {
			b = b[:16<<20]
		}
		sample = append(sample, b)
		total += int64(len(b))
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("compressing a %s sample of the data set (one core):\n", human(total))
	for _, name := range []compression.Name{"zstd-fastest", "s2-default", "zstd"} {
		c := compression.ByName[name]
		if c == nil {
			return errors.New("no compressor " + string(name))
		}
		var out int64
		t := time.Now()
		for _, b := range sample {
			var buf bytes.Buffer
			if err := c.Compress(&buf, bytes.NewReader(b)); err != nil {
				return err
			}
			out += int64(buf.Len())
		}
		s := time.Since(t).Seconds()
		fmt.Printf("  %-13s %6.0f MB/s, compressed to %4.1f%%\n", name, float64(total)/1e6/s, 100*float64(out)/float64(total))
	}
	return nil
}

func parseSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if strings.HasSuffix(u, suf.s) {
			mult, u = suf.m, strings.TrimSuffix(u, suf.s)
			break
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(u), 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a number with MB or GB, e.g. 500MB", s)
	}
	return int64(n * float64(mult)), nil
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
