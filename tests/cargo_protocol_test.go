package tests

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wharf/modules/packages/cargo/cargotest"
	"wharf/modules/setting"
	"wharf/routers"
)

// cargoErrors decodes cargo's error shape, failing the test when the body
// is not {"errors":[{"detail":…}]} or leaks internals.
func cargoErrors(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		OK     *bool `json:"ok"`
		Errors []struct {
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) != 1 || e.Errors[0].Detail == "" || e.OK == nil || *e.OK {
		t.Fatalf("error body is not cargo's {\"errors\":[{\"detail\"}]}: %q", body)
	}
	lower := strings.ToLower(body)
	for _, leak := range []string{"sql", "goroutine", "panic", "xorm", "pq:", ".go:"} {
		if strings.Contains(lower, leak) {
			t.Fatalf("error body leaks internals (%q): %s", leak, body)
		}
	}
	return e.Errors[0].Detail
}

// cargoAuth is the header cargo sends: the bare token.
func cargoAuth(tok string) map[string]string { return map[string]string{"Authorization": tok} }

// wantCargoError checks a failure: status, cargo's shape, a detail that
// says what it should, and the Cargo challenge on a 401.
func wantCargoError(t *testing.T, what string, status int, hdr http.Header, body string, wantStatus int, wantDetail string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: %d %s, want %d", what, status, body, wantStatus)
	}
	if d := cargoErrors(t, body); !strings.Contains(d, wantDetail) {
		t.Fatalf("%s: detail %q, want it to say %q", what, d, wantDetail)
	}
	if status == http.StatusUnauthorized {
		if c := hdr.Values("WWW-Authenticate"); len(c) != 1 || !strings.HasPrefix(c[0], `Cargo login_url="`) || !strings.HasSuffix(c[0], `/cargo/me"`) {
			t.Fatalf("%s: WWW-Authenticate %q", what, c)
		}
	}
}

// TestCargoProtocol checks the registry's answers byte by byte where cargo
// reads them: config.json, publish, index files and their conditional
// requests, the API's shapes, downloads, /me, and errors in cargo's shape
// with the challenge, in every path.
func TestCargoProtocol(t *testing.T) {
	clock := newTestClock()
	s := newServerWithClock(t, clock.now)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	tok := packageToken(t, s, "alice", "cargo", "write:package")
	h := cargoAuth(tok)
	base := "/api/packages/alice/cargo"

	status, hdr, body := s.do(t, "GET", base+"/config.json", "", nil)
	if want := `{"dl":"` + s.URL + base + `/api/v1/crates","api":"` + s.URL + base + `","auth-required":false}` + "\n"; status != 200 || body != want {
		t.Fatalf("config.json: %d %s, want %s", status, body, want)
	}
	if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("config.json: Content-Type %q", hdr.Get("Content-Type"))
	}

	// Publish, with the token bare (cargo) and as Bearer.
	crate := cargotest.GoodCrate("wharf-ok", "1.0.0")
	status, _, body = s.do(t, "PUT", base+"/api/v1/crates/new", string(cargotest.Body(cargotest.Metadata("wharf-ok", "1.0.0"), crate)), h)
	if status != 200 || body != `{"warnings":{"invalid_categories":[],"invalid_badges":[],"other":[]}}`+"\n" {
		t.Fatalf("publish: %d %s", status, body)
	}
	if status, _, body = s.do(t, "PUT", base+"/api/v1/crates/new", string(cargotest.GoodBody("wharf-ok", "1.0.1")), map[string]string{"Authorization": "Bearer " + tok}); status != 200 {
		t.Fatalf("publish with Bearer: %d %s", status, body)
	}

	// Cargo asks with Accept-Encoding: gzip and gets the cached gzip copy
	// once the file was built (checked below); the protocol's checks ask
	// for the identity bytes, whose validators they compare.
	identity := map[string]string{"Accept-Encoding": "identity"}
	// The index file: text/plain, an ETag, lines in publish order; the
	// path is case-insensitive, its prefix checked. Changed within the
	// last two seconds (the app's clock stands still), it carries no
	// Last-Modified: a second change in the same second would get the same
	// one-second time.
	status, hdr, body = s.do(t, "GET", base+"/wh/ar/wharf-ok", "", identity)
	etag := hdr.Get("ETag")
	if status != 200 || hdr.Get("Content-Type") != "text/plain; charset=utf-8" || etag == "" || hdr.Get("Last-Modified") != "" || strings.Count(body, "\n") != 2 ||
		!strings.HasPrefix(body, `{"name":"wharf-ok","vers":"1.0.0","deps":[],"cksum":"`) {
		t.Fatalf("index file: %d %v\n%s", status, hdr, body)
	}
	changed := clock.now().UTC().Format(http.TimeFormat)
	if status, _, _ := s.do(t, "GET", base+"/wh/ar/wharf-ok", "", map[string]string{"If-Modified-Since": changed, "Accept-Encoding": "identity"}); status != 200 {
		t.Fatalf("If-Modified-Since the change's second, within two seconds of it: %d", status)
	}
	clock.advance(10 * time.Second)
	status, hdr, _ = s.do(t, "GET", base+"/wh/ar/wharf-ok", "", identity)
	modified := hdr.Get("Last-Modified")
	if status != 200 || modified != changed || hdr.Get("ETag") != etag {
		t.Fatalf("10 s later: %d Last-Modified %q (want %q), ETag %q", status, modified, changed, hdr.Get("ETag"))
	}
	sum := sha256.Sum256(crate)
	if !strings.Contains(body, `"cksum":"`+hex.EncodeToString(sum[:])+`"`) {
		t.Fatalf("cksum is not the .crate's SHA-256:\n%s", body)
	}
	if status, _, got := s.do(t, "GET", base+"/WH/Ar/Wharf-OK", "", nil); status != 200 || got != body {
		t.Fatalf("upper-case path: %d %s", status, got)
	}
	for _, p := range []string{"/wh/ar/nothing", "/xx/yy/wharf-ok", "/wh/wharf-ok", "/3/w/wharf-ok", "/1/a", "/2/ab", "/3/a/abc", "/wh/ar/wharf-ok/more", "/wh/ar/wh%2Far"} {
		status, hdr, got := s.do(t, "GET", base+p, "", nil)
		wantCargoError(t, "GET "+p, status, hdr, got, 404, "")
	}
	// Index paths beside the registry's own routes (/me, /api/v1/…).
	for _, c := range []struct{ name, path string }{{"meow", "/me/ow/meow"}, {"apis", "/ap/is/apis"}, {"me", "/2/me"}, {"api", "/3/a/api"}} {
		if status, _, body := s.do(t, "PUT", base+"/api/v1/crates/new", string(cargotest.GoodBody(c.name, "1.0.0")), h); status != 200 {
			t.Fatalf("publish %s: %d %s", c.name, status, body)
		}
		if status, _, got := s.do(t, "GET", base+c.path, "", nil); status != 200 || !strings.HasPrefix(got, `{"name":"`+c.name+`"`) {
			t.Fatalf("GET %s: %d %s", c.path, status, got)
		}
	}
	status, hdr, got := s.do(t, "HEAD", base+"/wh/ar/wharf-ok", "", nil)
	if status != 200 || got != "" || hdr.Get("Content-Length") != lenString(body) || hdr.Get("ETag") != etag {
		t.Fatalf("HEAD: %d %v %q", status, hdr, got)
	}

	// Conditional requests: If-None-Match wins over If-Modified-Since.
	future := clock.now().Add(time.Hour).UTC().Format(http.TimeFormat)
	for _, c := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"If-None-Match current", map[string]string{"If-None-Match": etag}, 304},
		{"If-None-Match in a list, weak", map[string]string{"If-None-Match": `"x", W/` + etag}, 304},
		{"If-None-Match other", map[string]string{"If-None-Match": `"other"`}, 200},
		{"If-None-Match other, If-Modified-Since later", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": future}, 200},
		{"If-None-Match current, If-Modified-Since earlier", map[string]string{"If-None-Match": etag, "If-Modified-Since": "Mon, 02 Jan 2006 15:04:05 GMT"}, 304},
		{"If-Modified-Since Last-Modified", map[string]string{"If-Modified-Since": modified}, 304},
		{"If-Modified-Since earlier", map[string]string{"If-Modified-Since": "Mon, 02 Jan 2006 15:04:05 GMT"}, 200},
	} {
		c.header["Accept-Encoding"] = "identity"
		status, hdr, got := s.do(t, "GET", base+"/wh/ar/wharf-ok", "", c.header)
		if status != c.want || (status == 304) != (got == "") || hdr.Get("ETag") != etag {
			t.Fatalf("%s: %d %q, want %d", c.name, status, got, c.want)
		}
	}

	// What cargo gets (it sends Accept-Encoding: deflate, gzip): the
	// cached gzip copy, with a validator of its own that If-None-Match then
	// matches (cargo sends back the ETag it was given), Vary on both.
	gz := map[string]string{"Accept-Encoding": "deflate, gzip"}
	status, hdr, raw := s.do(t, "GET", base+"/wh/ar/wharf-ok", "", gz)
	gzETag := hdr.Get("ETag")
	if status != 200 || hdr.Get("Content-Encoding") != "gzip" || gzETag == etag || gzETag == "" || hdr.Get("Content-Length") != lenString(raw) ||
		!slices.Contains(hdr.Values("Vary"), "Accept-Encoding") {
		t.Fatalf("gzip copy: %d %v", status, hdr)
	}
	zr, err := gzip.NewReader(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if unzipped, err := io.ReadAll(zr); err != nil || string(unzipped) != body {
		t.Fatalf("the gzip copy decodes to %q, %v; want the identity bytes", unzipped, err)
	}
	for _, tag := range []string{gzETag, etag} {
		gz["If-None-Match"] = tag
		status, hdr, got := s.do(t, "GET", base+"/wh/ar/wharf-ok", "", gz)
		if status != 304 || got != "" || hdr.Get("ETag") != tag || !slices.Contains(hdr.Values("Vary"), "Accept-Encoding") {
			t.Fatalf("If-None-Match %s with gzip: %d %v", tag, status, hdr)
		}
	}

	// A yank changes the file: a new ETag, a later Last-Modified, and the
	// old validators no longer match.
	if status, _, body := s.do(t, "DELETE", base+"/api/v1/crates/wharf-ok/1.0.1/yank", "", h); status != 200 || body != `{"ok":true}`+"\n" {
		t.Fatalf("yank: %d %s", status, body)
	}
	if status, _, body := s.do(t, "DELETE", base+"/api/v1/crates/wharf-ok/1.0.1/yank", "", h); status != 200 || body != `{"ok":true}`+"\n" {
		t.Fatalf("yank again: %d %s", status, body)
	}
	clock.advance(10 * time.Second)
	status, hdr, _ = s.do(t, "GET", base+"/wh/ar/wharf-ok", "", map[string]string{"If-None-Match": etag})
	if status != 200 || hdr.Get("ETag") == etag || hdr.Get("Last-Modified") == modified {
		t.Fatalf("after a yank: %d ETag %s Last-Modified %s", status, hdr.Get("ETag"), hdr.Get("Last-Modified"))
	}
	if status, _, _ := s.do(t, "GET", base+"/wh/ar/wharf-ok", "", map[string]string{"If-Modified-Since": modified}); status != 200 {
		t.Fatalf("after a yank, If-Modified-Since the old Last-Modified: %d", status)
	}
	if status, _, body := s.do(t, "PUT", base+"/api/v1/crates/wharf-ok/1.0.1/unyank", "", h); status != 200 || body != `{"ok":true}`+"\n" {
		t.Fatalf("unyank: %d %s", status, body)
	}

	// Search, owners, download, /me.
	status, _, body = s.do(t, "GET", base+"/api/v1/crates?q=ok&per_page=10", "", nil)
	if status != 200 || body != `{"crates":[{"name":"wharf-ok","max_version":"1.0.1","description":"a test crate"}],"meta":{"total":1}}`+"\n" {
		t.Fatalf("search: %d %s", status, body)
	}
	if status, _, body = s.do(t, "GET", base+"/api/v1/crates?q=nothing", "", nil); status != 200 || body != `{"crates":[],"meta":{"total":0}}`+"\n" {
		t.Fatalf("search for nothing: %d %s", status, body)
	}
	status, hdr, body = s.do(t, "GET", base+"/api/v1/crates?q=ok&per_page=many", "", nil)
	wantCargoError(t, "search per_page=many", status, hdr, body, 400, "per_page")
	if status, _, body = s.do(t, "GET", base+"/api/v1/crates/wharf-ok/owners", "", h); status != 200 || !strings.Contains(body, `"login":"alice"`) {
		t.Fatalf("owners: %d %s", status, body)
	}
	if status, _, body = s.do(t, "PUT", base+"/api/v1/crates/wharf-ok/owners", `{"users":["alice"]}`, h); status != 200 || body != `{"ok":true,"msg":"user alice is already an owner of wharf-ok"}`+"\n" {
		t.Fatalf("owner --add alice: %d %s", status, body)
	}
	for _, c := range []struct{ method, body, detail string }{
		{"PUT", `{"users":["bob"]}`, "bob cannot become an owner of wharf-ok"},
		{"DELETE", `{"users":["alice"]}`, "alice stays an owner"},
		{"PUT", `{"users":[]}`, "name at least one user"},
		{"PUT", `users=bob`, `{"users": ["login", …]}`},
	} {
		status, hdr, body := s.do(t, c.method, base+"/api/v1/crates/wharf-ok/owners", c.body, h)
		wantCargoError(t, c.method+" owners "+c.body, status, hdr, body, 400, c.detail)
	}
	status, hdr, body = s.do(t, "GET", base+"/api/v1/crates/wharf-ok/1.0.0/download", "", nil)
	if status != 200 || body != string(crate) || hdr.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("download: %d %v", status, hdr)
	}
	if status, _, body = s.do(t, "HEAD", base+"/api/v1/crates/wharf-ok/1.0.0/download", "", nil); status != 200 || body != "" {
		t.Fatalf("HEAD download: %d", status)
	}
	status, hdr, body = s.do(t, "GET", base+"/api/v1/crates/wharf-ok/9.9.9/download", "", nil)
	wantCargoError(t, "download of a missing version", status, hdr, body, 404, "")
	status, hdr, body = s.do(t, "GET", base+"/me", "", nil)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || !strings.Contains(body, s.URL+"/api/v1/users/YOUR_NAME/tokens") ||
		!strings.Contains(body, `index = "sparse+`+s.URL+base+`/"`) {
		t.Fatalf("/me: %d %v\n%s", status, hdr, body)
	}
	if _, _, body = s.do(t, "GET", base+"/me", "", h); !strings.Contains(body, s.URL+"/api/v1/users/alice/tokens") {
		t.Fatalf("/me signed in:\n%s", body)
	}

	// Failures, each in cargo's shape.
	pkgRead := packageToken(t, s, "alice", "cargo-read", "read:package")
	repoOnly := packageToken(t, s, "alice", "cargo-repo", "write:repository")
	bobTok := packageToken(t, s, "bob", "cargo", "write:package")
	good := string(cargotest.GoodBody("wharf-new", "1.0.0"))
	for _, c := range []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		detail                   string
	}{
		{"publish anonymously", "PUT", "/api/v1/crates/new", good, nil, 401, "sign in"},
		{"publish with a bad token", "PUT", "/api/v1/crates/new", good, cargoAuth(strings.Repeat("0", 40)), 401, ""},
		{"publish with a read token", "PUT", "/api/v1/crates/new", good, cargoAuth(pkgRead), 403, "write:package"},
		{"publish with a repository token", "PUT", "/api/v1/crates/new", good, cargoAuth(repoOnly), 403, "write:package"},
		{"read the index with a repository token", "GET", "/wh/ar/wharf-ok", "", cargoAuth(repoOnly), 403, "read:package"},
		{"publish to another's registry", "PUT", "/api/v1/crates/new", good, cargoAuth(bobTok), 403, "may not publish"},
		{"yank anonymously", "DELETE", "/api/v1/crates/wharf-ok/1.0.0/yank", "", nil, 401, "sign in"},
		{"yank as another", "DELETE", "/api/v1/crates/wharf-ok/1.0.0/yank", "", cargoAuth(bobTok), 403, "may not publish"},
		{"yank a missing version", "DELETE", "/api/v1/crates/wharf-ok/9.9.9/yank", "", h, 404, ""},
		{"unyank a missing crate", "PUT", "/api/v1/crates/nothing/1.0.0/unyank", "", h, 404, ""},
		{"owners of a missing crate", "GET", "/api/v1/crates/nothing/owners", "", h, 404, ""},
		{"change owners as another", "PUT", "/api/v1/crates/wharf-ok/owners", `{"users":["bob"]}`, cargoAuth(bobTok), 403, ""},
		{"an unknown API path", "GET", "/api/v1/crates/wharf-ok", "", h, 404, "not found"},
		{"a method the path lacks", "POST", "/config.json", "", h, 405, "method not allowed"},
		{"the existing version", "PUT", "/api/v1/crates/new", string(cargotest.GoodBody("wharf-ok", "1.0.0")), h, 409, "crate version `1.0.0` is already uploaded"},
		{"the existing version with build metadata", "PUT", "/api/v1/crates/new", string(cargotest.GoodBody("wharf-ok", "1.0.0+other")), h, 409, "already uploaded as `1.0.0`"},
		{"the name with '_' for '-'", "PUT", "/api/v1/crates/new", string(cargotest.GoodBody("wharf_ok", "2.0.0")), h, 409, "already taken by `wharf-ok`"},
		{"the name in other case", "PUT", "/api/v1/crates/new", string(cargotest.GoodBody("Wharf-OK", "2.0.0")), h, 409, "previously named `wharf-ok`"},
		{"an owner that does not exist", "GET", "/../nobody/cargo/config.json", "", nil, 401, "sign in"},
	} {
		path := base + c.path
		if strings.HasPrefix(c.path, "/../") {
			path = "/api/packages/" + strings.TrimPrefix(c.path, "/../")
		}
		status, hdr, body := s.do(t, c.method, path, c.body, c.header)
		wantCargoError(t, c.name, status, hdr, body, c.status, c.detail)
	}
	if lines := strings.Count(mustGet(t, s, base+"/wh/ar/wharf-ok"), "\n"); lines != 2 {
		t.Fatalf("the refused publishes changed the index: %d lines", lines)
	}
}

func lenString(s string) string { return strconv.Itoa(len(s)) }

func mustGet(t *testing.T, s *server, path string) string {
	t.Helper()
	status, _, body := s.do(t, "GET", path, "", nil)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return body
}

// TestCargoDamagedPublishes: every damaged publish body, a gzip bomb, and
// a .crate over LIMIT_SIZE_CARGO are the publisher's mistake: a 4xx with a
// detail cargo shows, nothing stored, never a 5xx.
func TestCargoDamagedPublishes(t *testing.T) {
	s := newServerWithOptions(t, routers.Options{}, func(c *setting.Config) { c.Packages.LimitSize["cargo"] = 1 << 20 })
	s.createUser(t, "alice")
	h := cargoAuth(packageToken(t, s, "alice", "cargo", "write:package"))
	publish := "/api/packages/alice/cargo/api/v1/crates/new"
	for _, c := range cargotest.DamagedBodies() {
		t.Run(c.Name, func(t *testing.T) {
			status, hdr, body := s.do(t, "PUT", publish, string(c.Body), h)
			wantCargoError(t, c.Name, status, hdr, body, 400, c.Msg)
		})
	}
	t.Run("gzip bomb", func(t *testing.T) {
		bomb := cargotest.GzipBomb("wharf-bomb", "1.0.0", 600<<20)
		if len(bomb) > 1<<20 {
			t.Fatalf("the bomb is %d bytes, over the size limit it must pass", len(bomb))
		}
		status, hdr, body := s.do(t, "PUT", publish, string(cargotest.Body(cargotest.Metadata("wharf-bomb", "1.0.0"), bomb)), h)
		wantCargoError(t, "gzip bomb", status, hdr, body, 400, "unpacks to more than")
	})
	t.Run("over the size limit", func(t *testing.T) {
		big := cargotest.Crate(cargotest.File{Name: "wharf-big-1.0.0/Cargo.toml", Body: cargotest.Manifest("wharf-big", "1.0.0")},
			cargotest.File{Name: "wharf-big-1.0.0/src/lib.rs", Body: randomText(2 << 20)})
		status, hdr, body := s.do(t, "PUT", publish, string(cargotest.Body(cargotest.Metadata("wharf-big", "1.0.0"), big)), h)
		wantCargoError(t, "a .crate over the limit", status, hdr, body, 413, "limit")
	})

	// Nothing stored: no crate, no blob, no upload left behind.
	status, _, body := s.do(t, "GET", "/api/v1/packages/alice?type=cargo", "", basic("alice", "alice-password"))
	var listed []json.RawMessage
	if err := json.Unmarshal([]byte(body), &listed); status != 200 || err != nil || len(listed) != 0 {
		t.Fatalf("package list after damaged publishes: %d %s (%v)", status, body, err)
	}
	var blobs int
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM package_blob").Scan(&blobs); err != nil || blobs != 0 {
		t.Fatalf("%d blobs stored (%v)", blobs, err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.App.Cfg.Packages.UploadTempPath, "*")); len(left) != 0 {
		t.Fatalf("uploads left behind: %v", left)
	}
	if _, err := os.Stat(s.App.Cfg.Packages.UploadTempPath); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	// The same crate undamaged is accepted.
	if status, _, body := s.do(t, "PUT", publish, string(cargotest.GoodBody("wharf-bad", "1.0.0")), h); status != 200 {
		t.Fatalf("the undamaged crate: %d %s", status, body)
	}
}

// randomText is n bytes that do not compress.
func randomText(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = 'a' + byte(x%26)
	}
	return string(b)
}
