package policy

// Destinations: the places backups are copied to. Each destination holds its own independent,
// encrypted repository (package backup/repo), so damage to one copy cannot spread to another. A
// destination has exactly one kind (path, s3, sftp), checked like the channels' kinds, and the
// password of its repository, which must not be written into the policy itself.

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
)

// Destination is a place backups are copied to: one kind with its settings, and the password
// that encrypts the repository there.
type Destination struct {
	Path string           `yaml:"path" jsonschema:"description=A local or mounted directory (an absolute path) that holds the repository."`
	S3   *S3Destination   `yaml:"s3" jsonschema:"description=An S3-compatible bucket (AWS\\, Backblaze B2\\, Wasabi\\, MinIO\\, versitygw\\, ...)."`
	SFTP *SFTPDestination `yaml:"sftp" jsonschema:"description=A directory on an SSH server\\, over SFTP."`

	Password     Secret `yaml:"password" jsonschema:"description=Password that encrypts the repository. Write it as \"${VAR}\" (from the environment)\\, never literally. Set password or password_file. Without it the backups cannot be read: keep a copy somewhere safe."`
	PasswordFile string `yaml:"password_file" jsonschema:"description=File whose first line is the repository password (an absolute path). Set password or password_file."`
}

// Destination kinds, as Kind returns them.
const (
	DestinationPath = "path"
	DestinationS3   = "s3"
	DestinationSFTP = "sftp"
)

var allDestinationKinds = []string{DestinationPath, DestinationS3, DestinationSFTP}

// Kind names the destination's kind ("path", "s3" or "sftp").
func (d Destination) Kind() string {
	if k := d.kinds(); len(k) > 0 {
		return k[0]
	}
	return ""
}

func (d Destination) kinds() []string {
	var out []string
	if d.Path != "" {
		out = append(out, DestinationPath)
	}
	if d.S3 != nil {
		out = append(out, DestinationS3)
	}
	if d.SFTP != nil {
		out = append(out, DestinationSFTP)
	}
	return out
}

// S3Destination is a bucket of an S3-compatible object store.
type S3Destination struct {
	Endpoint        string `yaml:"endpoint" jsonschema:"description=URL of the S3 service\\, e.g. https://s3.eu-central-1.amazonaws.com. http:// is allowed only for a server on this machine. Default: AWS (https://s3.amazonaws.com)."`
	Bucket          string `yaml:"bucket" jsonschema:"required,description=Name of the bucket."`
	Prefix          string `yaml:"prefix" jsonschema:"description=Prefix of the repository's objects in the bucket\\, e.g. upkeep/; lets several repositories share a bucket."`
	Region          string `yaml:"region" jsonschema:"description=Region of the bucket\\, when the service needs it."`
	AccessKeyID     Secret `yaml:"access_key_id" jsonschema:"description=Access key ID. Use ${VAR}. Default: the standard AWS environment and credential files."`
	SecretAccessKey Secret `yaml:"secret_access_key" jsonschema:"description=Secret access key. Use ${VAR}."`
	PathStyle       bool   `yaml:"path_style" jsonschema:"description=Address the bucket as endpoint/bucket instead of bucket.endpoint (MinIO\\, versitygw and most self-hosted servers need it)."`
	ObjectLockDays  int    `yaml:"object_lock_days" jsonschema:"minimum=0,description=Keep every object locked (immutable\\, S3 Object Lock in compliance mode) for this many days\\, so that ransomware or a stolen key cannot delete backups. The bucket must have Object Lock enabled. 0: no lock."`
}

// SFTPDestination is a directory on an SSH server.
type SFTPDestination struct {
	Host       string `yaml:"host" jsonschema:"required,description=Host name or address of the SSH server."`
	Port       int    `yaml:"port" jsonschema:"minimum=1,maximum=65535,default=22,description=Port of the SSH server."`
	User       string `yaml:"user" jsonschema:"required,description=User to log in as."`
	KeyFile    string `yaml:"key_file" jsonschema:"required,description=Private key file (an absolute path) used to log in."`
	KnownHosts string `yaml:"known_hosts" jsonschema:"required,description=known_hosts file (an absolute path) that holds the server's host key: the connection is refused when the server's key is not in it."`
	Path       string `yaml:"path" jsonschema:"required,description=Directory on the server that holds the repository."`
}

func (d *decoder) checkDestinations(dests map[string]Destination) {
	names := make([]string, 0, len(dests))
	for name := range dests {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		dst := dests[name]
		path := joinPath("destinations", name)
		kinds := dst.kinds()
		d.exactlyOne(path, kinds, d.keyPos("destination", path), !d.hasProblemUnder(path), oneOf{what: "destination", kind: "kind",
			all: allDestinationKinds, split: "split it into one destination per kind"})
		if dst.Path != "" {
			d.checkAbsPath(path+".path", dst.Path)
		}
		if dst.S3 != nil {
			d.checkS3(path+".s3", dst.S3)
		}
		if dst.SFTP != nil {
			d.checkSFTP(path+".sftp", dst.SFTP)
		}
		d.checkPassword(path, &dst)
	}
}

// checkPassword reports a destination without a password, with two, or with one written
// literally into the policy: a policy file is shared, reviewed and committed; a repository
// password in it would be in every copy.
func (d *decoder) checkPassword(path string, dst *Destination) {
	pw, pwFile := path+".password", path+".password_file"
	_, hasPW := d.nodes[pw]
	_, hasFile := d.nodes[pwFile]
	switch {
	case hasPW && hasFile:
		d.add(d.posAt(pwFile), pwFile, "a destination has a password or a password_file, not both", "remove one of them")
	case !hasPW && !hasFile:
		if !d.hasProblemUnder(path) {
			d.add(d.keyPos("destination", path), path, "the destination has no repository password",
				`add password: "${BACKUP_PASSWORD}" or password_file: /etc/upkeep/backup.pass; without the password the backups cannot be read`)
		}
	case hasPW:
		if n := d.nodes[pw]; n.scalar && !n.exp.expanded {
			d.add(n.pos, pw, "the repository password is written literally in the policy",
				`take it from the environment, password: "${BACKUP_PASSWORD}", or use password_file`)
		} else if n.scalar && dst.Password == "" {
			d.add(n.pos, pw, fmt.Sprintf("the repository password %s is empty", shown(n.source, n.exp)), "set the variable to the password")
		}
	case hasFile:
		d.checkAbsPath(pwFile, dst.PasswordFile)
	}
}

// checkAbsPath reports a path that is not absolute: relative paths would depend on the
// directory Upkeep was started from.
func (d *decoder) checkAbsPath(path, value string) {
	if !d.isSet(path) || d.hasProblem(path) {
		return
	}
	if !filepath.IsAbs(value) {
		d.add(d.posAt(path), path, fmt.Sprintf("%s is not an absolute path", d.show(path, value)),
			"write the whole path, starting with /")
	}
}

func (d *decoder) checkS3(path string, s *S3Destination) {
	ep := path + ".endpoint"
	if s.Endpoint != "" && !d.hasProblem(ep) {
		u, err := url.Parse(s.Endpoint)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			d.add(d.posAt(ep), ep, fmt.Sprintf("invalid endpoint %s", d.show(ep, s.Endpoint)),
				`an http or https URL such as "https://s3.eu-central-1.amazonaws.com"`)
		case u.Path != "" && u.Path != "/" || u.RawQuery != "":
			d.add(d.posAt(ep), ep, fmt.Sprintf("endpoint %s has a path or query", d.show(ep, s.Endpoint)),
				"give the service's address only; the bucket and prefix have keys of their own")
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			d.add(d.posAt(ep), ep, fmt.Sprintf("endpoint %s is not encrypted; http:// is allowed only for a server on this machine", d.show(ep, s.Endpoint)),
				"use https://")
		}
	}
	if s.Bucket != "" && !d.hasProblem(path+".bucket") && !validBucket(s.Bucket) {
		d.add(d.posAt(path+".bucket"), path+".bucket", fmt.Sprintf("invalid bucket name %s", d.show(path+".bucket", s.Bucket)),
			"3 to 63 lower-case letters, digits, dots and hyphens")
	}
	if s.ObjectLockDays < 0 && !d.hasProblem(path+".object_lock_days") {
		d.add(d.posAt(path+".object_lock_days"), path+".object_lock_days", "object_lock_days cannot be negative", "0 for no lock, or a number of days")
	}
	switch {
	case s.AccessKeyID != "" && s.SecretAccessKey == "":
		d.add(d.posAt(path+".access_key_id"), path+".access_key_id", "access_key_id needs secret_access_key", `add secret_access_key: "${AWS_SECRET_ACCESS_KEY}"`)
	case s.AccessKeyID == "" && s.SecretAccessKey != "":
		d.add(d.posAt(path+".secret_access_key"), path+".secret_access_key", "secret_access_key needs access_key_id", `add access_key_id: "${AWS_ACCESS_KEY_ID}"`)
	}
	sk := path + ".secret_access_key"
	if n, ok := d.nodes[sk]; ok && n.scalar && !n.exp.expanded {
		d.add(n.pos, sk, "the secret access key is written literally in the policy", `take it from the environment: "${AWS_SECRET_ACCESS_KEY}"`)
	}
}

// validBucket reports whether s follows the S3 bucket naming rules that matter for addressing.
func validBucket(s string) bool {
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return s[0] != '.' && s[0] != '-' && s[len(s)-1] != '.' && s[len(s)-1] != '-'
}

func (d *decoder) checkSFTP(path string, s *SFTPDestination) {
	hp := path + ".host"
	if s.Host != "" && !d.hasProblem(hp) && !isIP(s.Host) && !validDomain(s.Host) {
		d.add(d.posAt(hp), hp, fmt.Sprintf("invalid host %s", d.show(hp, s.Host)), "a host name such as backup.example.com, or an address")
	}
	if s.Host != "" && strings.Contains(s.Host, ":") && !isIP(s.Host) {
		if _, _, err := net.SplitHostPort(s.Host); err == nil && !d.hasProblem(hp) {
			d.add(d.posAt(hp), hp, "the port goes in port", "write host and port separately")
		}
	}
	pp := path + ".port"
	if (s.Port < 1 || s.Port > 65535) && !d.hasProblem(pp) {
		d.add(d.posAt(pp), pp, fmt.Sprintf("port %d is out of range", s.Port), "between 1 and 65535")
	}
	d.checkAbsPath(path+".key_file", s.KeyFile)
	d.checkAbsPath(path+".known_hosts", s.KnownHosts)
}
