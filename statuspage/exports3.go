package statuspage

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/upkeep-dev/upkeep/policy"
)

// S3 is an export destination in an S3-compatible bucket (status_page.export.to.s3), served as a
// static site by the bucket, a CDN in front of it, or any host that reads it.
//
// Each Publish uploads the files whose content differs from the object of the same key, then
// deletes the objects under the prefix that are no longer in the export. The pages go last,
// index.html very last, and deletions after them, so a reader never gets a page that links to a
// file not uploaded yet, nor a page whose links were deleted. A publish that fails part way
// leaves the previous pages linking to files that are all still there, and the next publish
// uploads what is still missing.
type S3 struct {
	policy.S3Destination
	// Transport carries the requests; nil: minio's default.
	Transport http.RoundTripper
}

// s3CacheControl makes browsers and CDNs revalidate: the export is a live status page.
const s3CacheControl = "no-cache"

// Publish uploads the changed files of the export and deletes the objects it no longer has.
func (d *S3) Publish(ctx context.Context, files []File) error {
	client, err := d.client()
	if err != nil {
		return err
	}
	prefix := d.prefix()
	where := "s3://" + d.Bucket + "/" + prefix
	have := map[string]string{} // key -> ETag of the objects under the prefix
	for obj := range client.ListObjects(ctx, d.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("status export: listing %s: %w", where, obj.Err)
		}
		have[obj.Key] = strings.Trim(obj.ETag, `"`)
	}
	want := make(map[string]bool, len(files))
	for _, f := range uploadOrder(files) {
		p := path.Clean(f.Path)
		if !validExportPath(p) {
			return fmt.Errorf("status export: invalid file path %q", f.Path)
		}
		key := prefix + p
		want[key] = true
		sum := md5.Sum(f.Body)
		if have[key] == hex.EncodeToString(sum[:]) {
			continue
		}
		_, err := client.PutObject(ctx, d.Bucket, key, bytes.NewReader(f.Body), int64(len(f.Body)), minio.PutObjectOptions{
			ContentType: cmp.Or(f.ContentType, "application/octet-stream"), CacheControl: s3CacheControl,
			DisableMultipart: true, SendContentMd5: true,
		})
		if err != nil {
			return fmt.Errorf("status export: uploading %s to %s: %w", p, where, err)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(have)) {
		if want[key] {
			continue
		}
		if err := client.RemoveObject(ctx, d.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("status export: deleting %s from %s: %w", strings.TrimPrefix(key, prefix), where, err)
		}
	}
	return nil
}

// uploadOrder sorts files so that every page comes after the files it links to: first what is
// not HTML (JSON, feeds, badges, the logo), then the pages, index.html (the one everything is
// reached from) last.
func uploadOrder(files []File) []File {
	rank := func(f File) int {
		switch {
		case path.Clean(f.Path) == "index.html":
			return 2
		case strings.HasPrefix(f.ContentType, "text/html"):
			return 1
		}
		return 0
	}
	out := slices.Clone(files)
	slices.SortStableFunc(out, func(a, b File) int { return cmp.Compare(rank(a), rank(b)) })
	return out
}

// prefix is the key prefix of the export's objects: "" or ending in "/".
func (d *S3) prefix() string {
	p := strings.TrimPrefix(d.Prefix, "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// client connects to the endpoint with the policy's keys, or without them with the standard
// AWS environment variables, credential file and instance role.
func (d *S3) client() (*minio.Client, error) {
	host, secure := "s3.amazonaws.com", true
	if d.Endpoint != "" {
		u, err := url.Parse(d.Endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("status export: S3 endpoint %q is not an http(s) URL", d.Endpoint)
		}
		host, secure = u.Host, u.Scheme != "http"
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}, &credentials.IAM{},
	})
	if d.AccessKeyID != "" {
		creds = credentials.NewStaticV4(d.AccessKeyID.Reveal(), d.SecretAccessKey.Reveal(), "")
	}
	lookup := minio.BucketLookupAuto
	if d.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: d.Region, BucketLookup: lookup, Transport: d.Transport})
	if err != nil {
		return nil, fmt.Errorf("status export: S3 endpoint %s: %w", host, err)
	}
	return client, nil
}
