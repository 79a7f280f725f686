package statuspage_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/upkeep-dev/upkeep/incident"
	"github.com/upkeep-dev/upkeep/internal/testenv"
	"github.com/upkeep-dev/upkeep/policy"
	"github.com/upkeep-dev/upkeep/statuspage"
)

// writes records the uploads and deletions the S3 destination sends, in order.
type writes struct {
	mu  sync.Mutex
	ops []string // "PUT key", "DELETE key"
}

func (w *writes) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut || r.Method == http.MethodDelete {
		key := strings.TrimPrefix(r.URL.Path, "/")
		_, key, _ = strings.Cut(key, "/") // path style: /bucket/key
		w.mu.Lock()
		w.ops = append(w.ops, r.Method+" "+key)
		w.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (w *writes) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	ops := w.ops
	w.ops = nil
	return ops
}

func s3TestClient(t *testing.T, b testenv.S3Bucket) *minio.Client {
	t.Helper()
	u, err := url.Parse(b.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""), Secure: u.Scheme == "https",
		Region: b.Region, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bucketHolds checks that the objects under prefix are exactly files, each with its body and
// Content-Type.
func bucketHolds(t *testing.T, c *minio.Client, bucket, prefix string, files []statuspage.File) {
	t.Helper()
	ctx := t.Context()
	want := map[string]statuspage.File{}
	for _, f := range files {
		want[prefix+f.Path] = f
	}
	var got []string
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		got = append(got, obj.Key)
	}
	slices.Sort(got)
	if keys := slices.Sorted(maps.Keys(want)); !slices.Equal(got, keys) {
		t.Fatalf("bucket holds %q\nwant %q", got, keys)
	}
	for key, f := range want {
		obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(obj)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		st, err := obj.Stat()
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		_ = obj.Close()
		if !bytes.Equal(body, f.Body) {
			t.Errorf("%s: the object differs from the exported file", key)
		}
		if st.ContentType != f.ContentType {
			t.Errorf("%s: Content-Type %q, want %q", key, st.ContentType, f.ContentType)
		}
	}
}

// checkOrder checks that ops upload every page after the other files, index.html last, and
// delete only after every upload.
func checkOrder(t *testing.T, ops []string, prefix string) {
	t.Helper()
	lastPut, firstDelete, seenPage := -1, len(ops), false
	for i, op := range ops {
		method, key, _ := strings.Cut(op, " ")
		switch {
		case method == "DELETE":
			firstDelete = min(firstDelete, i)
		case strings.HasSuffix(key, ".html"):
			seenPage = true
			lastPut = i
		default:
			if seenPage {
				t.Errorf("%s uploaded after a page (%q)", key, ops)
			}
			lastPut = i
		}
	}
	if lastPut >= 0 && ops[lastPut] != "PUT "+prefix+"index.html" {
		t.Errorf("last upload %q, want index.html (%q)", ops[lastPut], ops)
	}
	if firstDelete < lastPut {
		t.Errorf("deleted before the last upload: %q", ops)
	}
}

// TestPublishS3 publishes the export to a bucket of a real S3 server: every file with its
// Content-Type, pages last, objects no longer in the export deleted, unchanged files not
// uploaded again, and nothing outside the prefix touched.
func TestPublishS3(t *testing.T) {
	b := testenv.S3(t)
	ctx := t.Context()
	c := s3TestClient(t, b)
	put := func(key string) {
		if _, err := c.PutObject(ctx, b.Bucket, key, strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put("site/old/gone.html") // an export's file that is no longer in it
	put("elsewhere/keep.txt") // not the export's

	f := newFixture(t, nil)
	rec := &writes{}
	dest := &statuspage.S3{S3Destination: policy.S3Destination{Endpoint: b.Endpoint, Bucket: b.Bucket, Prefix: "site", Region: b.Region,
		AccessKeyID: policy.Secret(b.AccessKey), SecretAccessKey: policy.Secret(b.SecretKey), PathStyle: true}, Transport: rec}
	files, err := f.page.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := dest.Publish(ctx, files); err != nil {
		t.Fatal(err)
	}
	bucketHolds(t, c, b.Bucket, "site/", files)
	ops := rec.take()
	checkOrder(t, ops, "site/")
	if !slices.Contains(ops, "DELETE site/old/gone.html") {
		t.Errorf("the stale object is not deleted: %q", ops)
	}
	if _, err := c.StatObject(ctx, b.Bucket, "elsewhere/keep.txt", minio.StatObjectOptions{}); err != nil {
		t.Errorf("an object outside the prefix: %v", err)
	}

	// The same export again: nothing to write.
	if err := dest.Publish(ctx, files); err != nil {
		t.Fatal(err)
	}
	if ops := rec.take(); len(ops) != 0 {
		t.Errorf("an unchanged export wrote %q", ops)
	}

	// A new incident on web, and db no longer on the page: its page is uploaded, the index
	// again, db's badges deleted.
	inc, err := f.inc.Open(ctx, incident.OpenRequest{Title: "Checkout errors", Services: []string{"web"}, Message: "Some payments fail."})
	if err != nil {
		t.Fatal(err)
	}
	f.page.Apply(parsePolicy(t, strings.Replace(testPolicy, "services: [api, db]", "services: [api]", 1)))
	files, err = f.page.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := dest.Publish(ctx, files); err != nil {
		t.Fatal(err)
	}
	bucketHolds(t, c, b.Bucket, "site/", files)
	ops = rec.take()
	checkOrder(t, ops, "site/")
	for _, want := range []string{fmt.Sprintf("PUT site/incidents/%d.html", inc.ID), "PUT site/index.html", "DELETE site/badge/db/status.svg"} {
		if !slices.Contains(ops, want) {
			t.Errorf("no %s in %q", want, ops)
		}
	}
	if slices.Contains(ops, "PUT site/badge/web/uptime-90d.svg") {
		t.Errorf("an unchanged file uploaded again: %q", ops)
	}
}

// TestPublisherS3 publishes status_page.export.to.s3 of a policy, with the keys from the
// policy and, without them, from the standard AWS environment variables; a bucket that does
// not exist is an error counted and retried, never a panic.
func TestPublisherS3(t *testing.T) {
	b := testenv.S3(t)
	ctx := t.Context()
	c := s3TestClient(t, b)
	f := newFixture(t, nil)
	env := map[string]string{"KEY": b.AccessKey, "SECRET": b.SecretKey}
	parse := func(to string) *policy.Policy {
		t.Helper()
		p, err := policy.Parse("t.yaml", []byte(testPolicy+"  export: {to: {s3: "+to+"}}\n"), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	target := func(bucket, prefix, keys string) string {
		return fmt.Sprintf("{endpoint: %q, bucket: %s, prefix: %s, region: %s, path_style: true%s}", b.Endpoint, bucket, prefix, b.Region, keys)
	}
	pub := statuspage.NewPublisher(f.page, nil)
	published := func(prefix string) bool {
		_, err := c.StatObject(ctx, b.Bucket, prefix+"index.html", minio.StatObjectOptions{})
		return err == nil
	}

	f.page.Apply(parse(target(b.Bucket, "a/", `, access_key_id: "${KEY}", secret_access_key: "${SECRET}"`)))
	if !pub.Step(ctx, now) || !published("a/") {
		t.Fatal("not published with the policy's keys")
	}

	t.Setenv("AWS_ACCESS_KEY_ID", b.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", b.SecretKey)
	f.page.Apply(parse(target(b.Bucket, "b", "")))
	if !pub.Step(ctx, now) || !published("b/") {
		t.Fatal("not published with the keys of the environment")
	}

	reg := prometheus.NewRegistry()
	failing := statuspage.NewPublisher(f.page, reg)
	f.page.Apply(parse(target("no-such-bucket-"+b.Bucket[:20], "c", "")))
	if !failing.Step(ctx, now) {
		t.Fatal("not tried")
	}
	if n := counter(t, reg, "upkeep_status_export_errors_total"); n != 1 {
		t.Errorf("%v errors counted, want 1", n)
	}
}

// failAfter lets n uploads through, then refuses every request that writes: a publish
// interrupted part way, as by a crash or a lost connection.
type failAfter struct {
	mu sync.Mutex
	n  int
}

func (f *failAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut || r.Method == http.MethodDelete {
		f.mu.Lock()
		f.n--
		n := f.n
		f.mu.Unlock()
		if n < 0 {
			return nil, errors.New("connection lost")
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestPublishS3Interrupted: a publish that stops part way leaves the previous index.html, every
// link of which still resolves to an object; the next publish completes the new export.
func TestPublishS3Interrupted(t *testing.T) {
	b := testenv.S3(t)
	ctx := t.Context()
	c := s3TestClient(t, b)
	f := newFixture(t, nil)
	s3 := policy.S3Destination{Endpoint: b.Endpoint, Bucket: b.Bucket, Region: b.Region,
		AccessKeyID: policy.Secret(b.AccessKey), SecretAccessKey: policy.Secret(b.SecretKey), PathStyle: true}
	before, err := f.page.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&statuspage.S3{S3Destination: s3}).Publish(ctx, before); err != nil {
		t.Fatal(err)
	}

	// A new incident, and db's badges gone: the publish stops after two uploads.
	if _, err := f.inc.Open(ctx, incident.OpenRequest{Title: "Checkout errors", Services: []string{"web"}, Message: "Some payments fail."}); err != nil {
		t.Fatal(err)
	}
	f.page.Apply(parsePolicy(t, strings.Replace(testPolicy, "services: [api, db]", "services: [api]", 1)))
	after, err := f.page.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&statuspage.S3{S3Destination: s3, Transport: &failAfter{n: 2}}).Publish(ctx, after); err == nil {
		t.Fatal("an interrupted publish reported no error")
	}
	read := func(key string) ([]byte, error) {
		obj, err := c.GetObject(ctx, b.Bucket, key, minio.GetObjectOptions{})
		if err != nil {
			return nil, err
		}
		defer obj.Close()
		return io.ReadAll(obj)
	}
	index, err := read("index.html")
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(before, func(f statuspage.File) bool { return f.Path == "index.html" }); !bytes.Equal(index, before[i].Body) {
		t.Error("index.html changed before the files it links to were uploaded")
	}
	for _, m := range hrefs.FindAllSubmatch(index, -1) {
		target, _, _ := strings.Cut(string(m[1]), "#")
		if target == "" || strings.Contains(target, ":") || strings.HasPrefix(target, "/") {
			continue // a fragment or an address elsewhere
		}
		if _, err := read(target); err != nil {
			t.Errorf("index.html links to %s: %v", target, err)
		}
	}

	if err := (&statuspage.S3{S3Destination: s3}).Publish(ctx, after); err != nil {
		t.Fatal(err)
	}
	bucketHolds(t, c, b.Bucket, "", after)
}
