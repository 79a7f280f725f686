package statuspage

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"sync"
	"time"
)

var errNoPage = errors.New("the policy has no status_page")

// version identifies the state a response was made from (with the time: see Snapshot.expires).
type version struct{ engine, incidents, maint, page uint64 }

func (p *Page) version() version {
	v := version{page: p.gen.Load(), maint: p.maint.Version()}
	if p.mon != nil {
		v.engine = p.mon.Version()
	}
	if p.incidents != nil {
		v.incidents = p.incidents.Version()
	}
	return v
}

// response is a rendered response, with its gzip-compressed body when that is worth it.
type response struct {
	status int
	ctype  string
	body   []byte
	gz     []byte
	etag   string
}

// cache keeps the responses rendered from the snapshot of one version. When the version moves
// on, or a maintenance window shown starts or ends, everything in it is dropped at once.
type cache struct {
	mu      sync.Mutex
	ver     version
	snap    *Snapshot
	entries map[string]*response

	build sync.Mutex // one render at a time: a burst of requests after a change renders once
}

func (c *cache) lookup(v version, now time.Time, key string) *response {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ver != v || c.snap == nil || !c.snap.current(now) {
		return nil
	}
	return c.entries[key]
}

// render is what turns a snapshot into a response; ok false means "not found" (not cached).
type render func(ctx context.Context, s *Snapshot) (r *response, ok bool, err error)

// serve answers from the cache or renders the response of key with fn. The version is read
// before the snapshot is built, so a cached response is never older than its version.
func (p *Page) serve(w http.ResponseWriter, r *http.Request, key string, fn render) {
	if !p.Enabled() {
		http.NotFound(w, r)
		return
	}
	v := p.version()
	res := p.cache.lookup(v, p.now(), key)
	if res == nil {
		var err error
		var ok bool
		res, ok, err = p.renderCached(r.Context(), v, key, fn)
		if err != nil {
			p.log.Error("status page: rendering", "path", r.URL.Path, "err", err)
			http.Error(w, "the status page is not available right now", http.StatusServiceUnavailable)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", res.ctype)
	h.Set("Cache-Control", "no-cache") // revalidate: the ETag makes that cheap
	h.Set("ETag", res.etag)
	h.Set("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, res.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := res.body
	if res.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = res.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(res.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (p *Page) renderCached(ctx context.Context, v version, key string, fn render) (*response, bool, error) {
	p.cache.build.Lock()
	defer p.cache.build.Unlock()
	if res := p.cache.lookup(v, p.now(), key); res != nil {
		return res, true, nil // rendered while this request waited
	}
	p.cache.mu.Lock()
	snap := p.cache.snap
	if p.cache.ver != v || snap == nil || !snap.current(p.now()) {
		snap = nil
	}
	p.cache.mu.Unlock()
	if snap == nil {
		var err error
		if snap, err = p.Snapshot(ctx); err != nil {
			return nil, false, err
		}
	}
	res, ok, err := fn(ctx, snap)
	if err != nil || !ok {
		return nil, ok, err
	}
	if res.status == 0 {
		res.status = http.StatusOK
	}
	// The body's hash: the same version renders differently once a maintenance window starts.
	sum := fnv.New64a()
	_, _ = sum.Write(res.body)
	res.etag = fmt.Sprintf(`"%x.%x.%x.%x-%x"`, v.engine, v.incidents, v.maint, v.page, sum.Sum64())
	if len(res.body) > 1024 {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		_, _ = zw.Write(res.body)
		_ = zw.Close()
		res.gz = b.Bytes()
	}
	p.cache.mu.Lock()
	if p.cache.ver != v || p.cache.snap != snap {
		p.cache.ver, p.cache.snap, p.cache.entries = v, snap, map[string]*response{}
	}
	p.cache.entries[key] = res
	p.cache.mu.Unlock()
	return res, true, nil
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
