package repo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/blob/filesystem"
	"github.com/kopia/kopia/repo/blob/s3"
	"github.com/kopia/kopia/repo/blob/sftp"
	"github.com/kopia/kopia/repo/format"
	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// dialTimeout bounds the reachability probe made before handing a network destination to kopia,
// whose SSH dial has no timeout and whose S3 client retries for minutes.
const dialTimeout = 10 * time.Second

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// newStorage returns kopia's blob storage for d. Errors match ErrUnreachable when the
// destination cannot be reached. Without create, a directory destination (path or SFTP) is not
// created when missing.
func newStorage(ctx context.Context, d Destination, create bool) (blob.Storage, error) {
	kinds := 0
	if d.Path != "" {
		kinds++
	}
	if d.S3 != nil {
		kinds++
	}
	if d.SFTP != nil {
		kinds++
	}
	if kinds != 1 {
		return nil, fmt.Errorf("exactly one of path, s3 and sftp must be given (got %d)", kinds)
	}
	switch {
	case d.Path != "":
		return pathStorage(ctx, d.Path, create)
	case d.S3 != nil:
		return s3Storage(ctx, d.S3)
	default:
		return sftpStorage(ctx, d.SFTP, create)
	}
}

func pathStorage(ctx context.Context, path string, create bool) (blob.Storage, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if !create {
		// Opening kopia's storage writes its sharding file: look for the repository first.
		if _, err := os.Stat(filepath.Join(abs, format.KopiaRepositoryBlobID+".f")); err != nil {
			return nil, fmt.Errorf("directory %s: %w", abs, err)
		}
	}
	st, err := filesystem.New(ctx, &filesystem.Options{Path: abs}, create)
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w: %w", abs, ErrUnreachable, err)
	}
	return st, nil
}

func s3Storage(ctx context.Context, c *S3) (blob.Storage, error) {
	if c.Bucket == "" {
		return nil, errors.New("s3: no bucket given")
	}
	endpoint, noTLS, err := s3Endpoint(c.Endpoint)
	if err != nil {
		return nil, err
	}
	noTLS = noTLS || c.DisableTLS
	port := "443"
	if noTLS {
		port = "80"
	}
	if err := probe(ctx, endpoint, port); err != nil {
		return nil, fmt.Errorf("s3 endpoint %s: %w: %w", endpoint, ErrUnreachable, err)
	}
	opts := &s3.Options{
		BucketName:      c.Bucket,
		Prefix:          c.Prefix,
		Endpoint:        endpoint,
		DoNotUseTLS:     noTLS,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Region:          c.Region,
	}
	st, err := s3.New(ctx, opts, true)
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s at %s: %w: %w", c.Bucket, endpoint, ErrUnreachable, err)
	}
	return st, nil
}

// s3Endpoint accepts host[:port] or http(s)://host[:port][/], and reports whether the URL's scheme
// asks for plain HTTP.
func s3Endpoint(e string) (hostport string, noTLS bool, err error) {
	if e == "" {
		return "s3.amazonaws.com", false, nil
	}
	if !strings.Contains(e, "://") {
		return strings.TrimSuffix(e, "/"), false, nil
	}
	u, err := url.Parse(e)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", false, fmt.Errorf("s3: endpoint %q is not host[:port] nor http(s)://host[:port]", e)
	}
	switch u.Scheme {
	case "https":
		return u.Host, false, nil
	case "http":
		return u.Host, true, nil
	}
	return "", false, fmt.Errorf("s3: endpoint %q: scheme must be http or https", e)
}

func sftpStorage(ctx context.Context, c *SFTP, create bool) (blob.Storage, error) {
	if c.Host == "" || c.User == "" || c.Path == "" {
		return nil, errors.New("sftp: host, user and path are required")
	}
	if c.KeyFile == "" || c.KnownHostsFile == "" {
		return nil, errors.New("sftp: key file and known_hosts file are required")
	}
	port := c.Port
	if port == 0 {
		port = 22
	}
	if err := probe(ctx, c.Host, strconv.Itoa(port)); err != nil {
		return nil, fmt.Errorf("sftp server %s: %w: %w", net.JoinHostPort(c.Host, strconv.Itoa(port)), ErrUnreachable, err)
	}
	opts := &sftp.Options{
		Path:           c.Path,
		Host:           c.Host,
		Port:           port,
		Username:       c.User,
		Keyfile:        c.KeyFile,
		KnownHostsFile: c.KnownHostsFile,
	}
	if !create {
		// Opening kopia's storage writes its sharding file (creating the directory): look for the
		// repository first.
		if err := sftpHasRepository(ctx, c, port); err != nil {
			return nil, fmt.Errorf("sftp %s@%s:%s: %w", c.User, net.JoinHostPort(c.Host, strconv.Itoa(port)), c.Path, err)
		}
	}
	st, err := sftp.New(ctx, opts, create)
	if err != nil {
		return nil, fmt.Errorf("sftp %s@%s:%s: %w: %w", c.User, net.JoinHostPort(c.Host, strconv.Itoa(port)), c.Path, ErrUnreachable, sftpError(err))
	}
	return st, nil
}

// sftpError drops the dump of the SSH client configuration that kopia appends to dial errors.
func sftpError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, ": &ssh.ClientConfig{"); i >= 0 {
		rest := msg[i:]
		// keep the cause that follows the configuration dump
		if j := strings.LastIndex(rest, "}: "); j >= 0 {
			return errors.New(msg[:i] + ": " + rest[j+3:])
		}
		return errors.New(msg[:i])
	}
	return err
}

// probe dials host:port (the port of an endpoint that names one wins) once, to fail fast and
// clearly on an unreachable destination.
func probe(ctx context.Context, host, defaultPort string) error {
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(host, defaultPort)
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// sftpHasRepository checks that the directory of c holds a repository's format blob; an error
// matching os.ErrNotExist says that it does not.
func sftpHasRepository(ctx context.Context, c *SFTP, port int) error {
	key, err := os.ReadFile(c.KeyFile)
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return fmt.Errorf("key file %s: %w", c.KeyFile, err)
	}
	hostKeys, err := knownhosts.New(c.KnownHostsFile)
	if err != nil {
		return err
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	addr := net.JoinHostPort(c.Host, strconv.Itoa(port))
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	conn, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{User: c.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hostKeys, Timeout: dialTimeout})
	if err != nil {
		nc.Close()
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	client := ssh.NewClient(conn, chans, reqs)
	defer client.Close()
	sc, err := pkgsftp.NewClient(client)
	if err != nil {
		return err
	}
	defer sc.Close()
	_, err = sc.Stat(path.Join(c.Path, format.KopiaRepositoryBlobID+".f"))
	return err
}
