package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
)

// TestVirtualNpmTarballOnce: eight concurrent first downloads of one
// upstream tarball through the virtual URL are one request to the
// upstream, and all eight get the bytes.
func TestVirtualNpmTarballOnce(t *testing.T) {
	f := newVirtualFixture(t)
	up := newServer(t)
	if _, _, err := up.client(t, gitea.SetToken(up.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "pub"}); err != nil {
		t.Fatal(err)
	}
	npmPut(t, up, "pub", "busy", "1.0.0", nil, tokenHeader(up.AdminToken))
	target, _ := url.Parse(up.URL)
	var tarballs atomic.Int64
	release := make(chan struct{})
	var proxyURL string
	rp := httputil.NewSingleHostReverseProxy(target)
	// The upstream's documents name its own URL for tarballs: they are
	// made to name the proxy, which counts them.
	rp.ModifyResponse = func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte(up.URL), []byte(proxyURL))
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", fmt.Sprint(len(b)))
		resp.Header.Del("Content-Encoding")
		return nil
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Accept-Encoding")
		if strings.HasSuffix(r.URL.Path, ".tgz") {
			tarballs.Add(1)
			<-release // hold the first fetch until every caller waits on it
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	proxyURL = proxy.URL
	cfg := fmt.Sprintf(`{"members":[{"url":%q}]}`, proxy.URL+"/api/packages/pub/npm/")
	if status, body := f.putVirtual(t, "hub", "npm", cfg, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	// The document first, so that every download goes straight to the tarball.
	if status, _, body := f.s.do(t, "GET", "/api/packages/hub/npm/busy", "", nil); status != 200 {
		t.Fatalf("packument: %d %s", status, body)
	}
	var wg sync.WaitGroup
	results := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(f.s.URL + "/api/packages/hub/npm/busy/-/busy-1.0.0.tgz")
			if err != nil {
				results <- err.Error()
				return
			}
			_ = resp.Body.Close()
			results <- resp.Status
		}()
	}
	for tarballs.Load() == 0 {
		select {
		case r := <-results:
			t.Fatalf("a download ended before the upstream was asked: %s", r)
		default:
		}
		time.Sleep(time.Millisecond)
	}
	// Give the other seven time to reach the fetch in flight (if one came
	// later it would find the stored file: still no second request).
	time.Sleep(300 * time.Millisecond)
	close(release)
	wg.Wait()
	close(results)
	for r := range results {
		if r != "200 OK" {
			t.Errorf("download: %s", r)
		}
	}
	if n := tarballs.Load(); n != 1 {
		t.Fatalf("%d requests to the upstream for one tarball's concurrent first downloads (want 1)", n)
	}
}

// TestVirtualNpmCacheOfAChangedUpstream: a tarball cached from an
// upstream URL the registry no longer lists (the member's URL changed) is
// fetched again from the URL in force, not refused for ever.
func TestVirtualNpmCacheOfAChangedUpstream(t *testing.T) {
	f := newVirtualFixture(t)
	up := newServer(t)
	if _, _, err := up.client(t, gitea.SetToken(up.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "pub"}); err != nil {
		t.Fatal(err)
	}
	npmPut(t, up, "pub", "moved", "1.0.0", nil, tokenHeader(up.AdminToken))
	const tarball = "/api/packages/hub/npm/moved/-/moved-1.0.0.tgz"
	for i, base := range []string{up.URL, strings.Replace(up.URL, "127.0.0.1", "localhost", 1)} {
		cfg := fmt.Sprintf(`{"members":[{"url":%q}]}`, base+"/api/packages/pub/npm/")
		if status, body := f.putVirtual(t, "hub", "npm", cfg, f.rootH); status != http.StatusOK {
			t.Fatalf("PUT %d: %d %s", i, status, body)
		}
		if status, _, body := f.s.do(t, "GET", "/api/packages/hub/npm/moved", "", nil); status != http.StatusOK {
			t.Fatalf("packument %d: %d %s", i, status, body)
		}
		if status, _, body := f.s.do(t, "GET", tarball, "", nil); status != http.StatusOK {
			t.Fatalf("tarball through upstream URL %d: %d %s", i, status, body)
		}
	}
}
