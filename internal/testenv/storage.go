package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Environment variables naming the S3 and SFTP servers to test against (.ci/run sets them).
const (
	// EnvS3Endpoint is the S3 server's URL, e.g. http://127.0.0.1:7070.
	EnvS3Endpoint = "UPKEEP_TEST_S3_ENDPOINT"
	// EnvS3AccessKey and EnvS3SecretKey are credentials allowed to create and delete buckets.
	EnvS3AccessKey = "UPKEEP_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey = "UPKEEP_TEST_S3_SECRET_KEY"
	// EnvSFTPAddr is the SFTP server's host:port.
	EnvSFTPAddr = "UPKEEP_TEST_SFTP_ADDR"
	// EnvSFTPUser is the user that logs in with the private key in the file EnvSFTPKey.
	EnvSFTPUser = "UPKEEP_TEST_SFTP_USER"
	EnvSFTPKey  = "UPKEEP_TEST_SFTP_KEY"
	// EnvSFTPKnownHosts is a known_hosts file holding the server's host key.
	EnvSFTPKnownHosts = "UPKEEP_TEST_SFTP_KNOWN_HOSTS"
)

// S3Bucket is an empty bucket created for one test on the S3 server named by the environment.
type S3Bucket struct {
	Endpoint  string // URL: http://host:port
	Region    string
	AccessKey string
	SecretKey string
	Bucket    string
}

// S3 creates a fresh, empty bucket with a unique name for this test on the server named by
// UPKEEP_TEST_S3_ENDPOINT (with UPKEEP_TEST_S3_ACCESS_KEY and _SECRET_KEY), and deletes it with
// everything in it at cleanup. Without those variables the test is skipped (failed under
// UPKEEP_TEST_REQUIRE_ALL=1).
func S3(t testing.TB) S3Bucket {
	t.Helper()
	return s3Bucket(t, false)
}

// S3ObjectLock is S3 with a bucket created with S3 object lock enabled. Objects still locked at
// cleanup are not deleted (nor is the bucket): a lock cannot be lifted before it expires.
func S3ObjectLock(t testing.TB) S3Bucket {
	t.Helper()
	return s3Bucket(t, true)
}

func s3Bucket(t testing.TB, objectLock bool) S3Bucket {
	t.Helper()
	b := S3Bucket{
		Endpoint:  os.Getenv(EnvS3Endpoint),
		Region:    "us-east-1",
		AccessKey: os.Getenv(EnvS3AccessKey),
		SecretKey: os.Getenv(EnvS3SecretKey),
		Bucket:    strings.ReplaceAll(newDBName(), "_", "-"),
	}
	if b.Endpoint == "" || b.AccessKey == "" || b.SecretKey == "" {
		Require(t, false, "S3 server: %s, %s and %s are not all set (run .ci/run)", EnvS3Endpoint, EnvS3AccessKey, EnvS3SecretKey)
		return b
	}
	client, err := s3Client(b)
	if err != nil {
		t.Fatalf("testenv: %s: %v", EnvS3Endpoint, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := client.MakeBucket(ctx, b.Bucket, minio.MakeBucketOptions{Region: b.Region, ObjectLocking: objectLock}); err != nil {
		Require(t, false, "S3 server at %s cannot create a bucket (set %s or run .ci/run): %v", b.Endpoint, EnvS3Endpoint, err)
		return b
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := removeBucket(ctx, client, b.Bucket); err != nil && !objectLock {
			t.Errorf("testenv: deleting S3 bucket %s: %v", b.Bucket, err)
		}
	})
	return b
}

func s3Client(b S3Bucket) (*minio.Client, error) {
	u, err := url.Parse(b.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%q is not an http(s)://host:port URL", b.Endpoint)
	}
	return minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""),
		Secure: u.Scheme == "https",
		Region: b.Region,
	})
}

// removeBucket deletes every object of a bucket, then the bucket.
func removeBucket(ctx context.Context, client *minio.Client, bucket string) error {
	objects := client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true})
	for res := range client.RemoveObjects(ctx, bucket, objects, minio.RemoveObjectsOptions{}) {
		if res.Err != nil {
			return res.Err
		}
	}
	return client.RemoveBucket(ctx, bucket)
}

// SFTPServer is a fresh directory on the SFTP server named by the environment.
type SFTPServer struct {
	Host           string
	Port           int
	User           string
	KeyFile        string // private key that logs User in
	KnownHostsFile string // holds the server's host key
	// Path is a directory that does not exist yet, unique to this test, relative to the
	// session's start directory.
	Path string
}

// SFTP returns the SFTP server named by UPKEEP_TEST_SFTP_ADDR, _USER, _KEY and _KNOWN_HOSTS with a
// unique directory name for this test, and removes that directory (if created) at cleanup. Without
// those variables the test is skipped (failed under UPKEEP_TEST_REQUIRE_ALL=1).
func SFTP(t testing.TB) SFTPServer {
	t.Helper()
	addr := os.Getenv(EnvSFTPAddr)
	s := SFTPServer{
		User:           os.Getenv(EnvSFTPUser),
		KeyFile:        os.Getenv(EnvSFTPKey),
		KnownHostsFile: os.Getenv(EnvSFTPKnownHosts),
		Path:           strings.ReplaceAll(newDBName(), "_", "-"),
	}
	if addr == "" || s.User == "" || s.KeyFile == "" || s.KnownHostsFile == "" {
		Require(t, false, "SFTP server: %s, %s, %s and %s are not all set (run .ci/run)", EnvSFTPAddr, EnvSFTPUser, EnvSFTPKey, EnvSFTPKnownHosts)
		return s
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("testenv: %s=%q is not host:port", EnvSFTPAddr, addr)
	}
	s.Host = host
	if s.Port, err = strconv.Atoi(port); err != nil {
		t.Fatalf("testenv: %s=%q: bad port", EnvSFTPAddr, addr)
	}
	_, closeFn, err := s.dial()
	if err != nil {
		Require(t, false, "SFTP server at %s not usable (set %s or run .ci/run): %v", addr, EnvSFTPAddr, err)
		return s
	}
	closeFn()
	t.Cleanup(func() {
		client, closeFn, err := s.dial()
		if err != nil {
			t.Errorf("testenv: removing SFTP directory %s: %v", s.Path, err)
			return
		}
		defer closeFn()
		if _, err := client.Stat(s.Path); errors.Is(err, os.ErrNotExist) {
			return
		}
		if err := client.RemoveAll(s.Path); err != nil {
			t.Errorf("testenv: removing SFTP directory %s: %v", s.Path, err)
		}
	})
	return s
}

// dial logs in to the server with the test key, checking its host key.
func (s SFTPServer) dial() (*sftp.Client, func(), error) {
	key, err := os.ReadFile(s.KeyFile)
	if err != nil {
		return nil, nil, err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.KeyFile, err)
	}
	hostKeys, err := knownhosts.New(s.KnownHostsFile)
	if err != nil {
		return nil, nil, err
	}
	conn, err := ssh.Dial("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), &ssh.ClientConfig{
		User:            s.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hostKeys,
		Timeout:         connectTimeout,
	})
	if err != nil {
		return nil, nil, err
	}
	client, err := sftp.NewClient(conn)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return client, func() { client.Close(); conn.Close() }, nil
}

// S3ObjectsLocked tries to delete every object of b with the bucket owner's credentials, and
// counts the deletions the server refuses; it fails if any deletion succeeds.
func S3ObjectsLocked(ctx context.Context, b S3Bucket) (int, error) {
	client, err := s3Client(b)
	if err != nil {
		return 0, err
	}
	n := 0
	for obj := range client.ListObjects(ctx, b.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return n, obj.Err
		}
		err := client.RemoveObject(ctx, b.Bucket, obj.Key, minio.RemoveObjectOptions{})
		if err == nil {
			return n, fmt.Errorf("object %s was deleted", obj.Key)
		}
		if resp := minio.ToErrorResponse(err); resp.Code != "AccessDenied" && !strings.Contains(strings.ToLower(resp.Message), "lock") && !strings.Contains(strings.ToLower(resp.Message), "retention") {
			return n, fmt.Errorf("deleting %s: %w (not an object lock refusal)", obj.Key, err)
		}
		n++
	}
	return n, nil
}

// Exists reports whether the test's directory (Path) exists on the server.
func (s SFTPServer) Exists() (bool, error) {
	client, closeFn, err := s.dial()
	if err != nil {
		return false, err
	}
	defer closeFn()
	_, err = client.Stat(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
