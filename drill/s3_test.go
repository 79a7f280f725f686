package drill

import (
	"context"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/upkeep-dev/upkeep/backup/repo"
	"github.com/upkeep-dev/upkeep/internal/testenv"
	"github.com/upkeep-dev/upkeep/policy"
)

// A drill from S3 passes while the repository is there; once its prefix has been emptied, or
// when its bucket is gone, the drill fails at fetch saying that the repository is not found at
// s3://bucket/prefix, and it creates nothing there.
func TestS3DrillDestinationGone(t *testing.T) {
	b := testenv.S3(t)
	ctx := t.Context()
	dest := repo.Destination{Name: "offsite", S3: &repo.S3{Endpoint: b.Endpoint, Bucket: b.Bucket, Prefix: "upkeep/", Region: b.Region,
		AccessKeyID: b.AccessKey, SecretAccessKey: b.SecretKey}}
	src := sourceTree(t)
	w, err := repo.Open(ctx, dest, repo.Options{Password: password, StateDir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.SnapshotFiles(ctx, "files-job", repo.FilesSpec{Paths: []string{src}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "files-job", policy.SourceFiles)
	backups := func(d repo.Destination) RepoBackups {
		return RepoBackups{Jobs: map[string]RepoJob{"files-job": {Job: Job{Name: "files-job", Source: policy.SourceFiles, Paths: []string{src}, Destinations: []string{"offsite"}},
			Repos: map[string]RepoDestination{"offsite": {Destination: d, Password: password}}}}}
	}
	f.runner.Backups = backups(dest)
	if run, err := f.runner.Run(ctx, filesDrill(filepath.Join(t.TempDir(), "target"), sample(100)), ""); err != nil {
		t.Fatalf("drill from S3: %v %+v", err, run)
	}

	u, err := url.Parse(b.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	client, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""), Secure: u.Scheme == "https", Region: b.Region})
	if err != nil {
		t.Fatal(err)
	}
	objects := client.ListObjects(ctx, b.Bucket, minio.ListObjectsOptions{Prefix: "upkeep/", Recursive: true})
	for res := range client.RemoveObjects(ctx, b.Bucket, objects, minio.RemoveObjectsOptions{}) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	_, err = f.runner.Run(ctx, filesDrill(filepath.Join(t.TempDir(), "target")), "")
	wantFailure(t, err, "fetch", `backup destination "offsite": repository not found at s3://`+b.Bucket+`/upkeep/ (was it deleted?)`)
	for obj := range client.ListObjects(context.WithoutCancel(ctx), b.Bucket, minio.ListObjectsOptions{Prefix: "upkeep/", Recursive: true}) {
		t.Errorf("the drill wrote %s to the destination (%v)", obj.Key, obj.Err)
	}

	gone := dest
	gone.S3 = new(*dest.S3)
	gone.S3.Bucket = b.Bucket + "-deleted"
	f.runner.Backups = backups(gone)
	_, err = f.runner.Run(ctx, filesDrill(filepath.Join(t.TempDir(), "target")), "")
	wantFailure(t, err, "fetch", `backup destination "offsite": repository not found at s3://`+gone.S3.Bucket+`/upkeep/ (was it deleted?)`)
	if ok, err := client.BucketExists(context.WithoutCancel(ctx), gone.S3.Bucket); err != nil || ok {
		t.Errorf("the drill created the bucket: %v %v", ok, err)
	}
}

// A drill from an SFTP directory that does not exist (removed) fails at fetch saying that the
// repository is not found there, and does not create the directory.
func TestSFTPDrillDestinationGone(t *testing.T) {
	s := testenv.SFTP(t)
	dest := repo.Destination{Name: "offsite", SFTP: &repo.SFTP{Host: s.Host, Port: s.Port, User: s.User, KeyFile: s.KeyFile,
		KnownHostsFile: s.KnownHostsFile, Path: s.Path}}
	f := newFixture(t, "files-job", policy.SourceFiles)
	f.runner.Backups = RepoBackups{Jobs: map[string]RepoJob{"files-job": {Job: Job{Name: "files-job", Source: policy.SourceFiles, Destinations: []string{"offsite"}},
		Repos: map[string]RepoDestination{"offsite": {Destination: dest, Password: password}}}}}
	_, err := f.runner.Run(t.Context(), filesDrill(filepath.Join(t.TempDir(), "target")), "")
	wantFailure(t, err, "fetch", `backup destination "offsite": repository not found at sftp://`+s.User+"@"+s.Host+":"+strconv.Itoa(s.Port)+"/~/"+s.Path+` (was it deleted?)`)
	if ok, err := s.Exists(); ok || err != nil {
		t.Errorf("the drill created the directory: %v %v", ok, err)
	}

	// Once the backup has written its repository there, the drill passes.
	src := sourceTree(t)
	w, err := repo.Open(t.Context(), dest, repo.Options{Password: password, StateDir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.SnapshotFiles(t.Context(), "files-job", repo.FilesSpec{Paths: []string{src}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if run, err := f.runner.Run(t.Context(), filesDrill(filepath.Join(t.TempDir(), "target")), ""); err != nil {
		t.Errorf("drill from SFTP: %v %+v", err, run)
	}
}
