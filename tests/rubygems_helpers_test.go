package tests

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	rubygems_module "wharf/modules/packages/rubygems"
)

// gemFixture reads a .gem made by the real `gem build` (the format's
// testdata) and its parsed spec.
func gemFixture(t testing.TB, name string) ([]byte, *rubygems_module.Spec) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "modules", "packages", "rubygems", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := rubygems_module.ParseGem(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b, spec
}

// gemsPath is an owner's gem source path on the server, ending in "/".
func gemsPath(owner string) string { return "/api/packages/" + owner + "/rubygems/" }

// pushGem sends a .gem as gem push does: the raw key in Authorization.
func (s *server) pushGem(t testing.TB, owner, key string, gem []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+gemsPath(owner)+"api/v1/gems", bytes.NewReader(gem))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mustPushGem pushes and fails the test unless the registry accepted it.
func (s *server) mustPushGem(t testing.TB, owner, key string, gem []byte) {
	t.Helper()
	if status, body := s.pushGem(t, owner, key, gem); status != http.StatusOK {
		t.Fatalf("push: %d %s", status, body)
	}
}

// yankGem sends gem yank's request: DELETE with a form body.
func (s *server) yankGem(t testing.TB, owner, key string, form url.Values) (int, string) {
	t.Helper()
	status, _, body := s.do(t, http.MethodDelete, gemsPath(owner)+"api/v1/gems/yank", form.Encode(),
		map[string]string{"Authorization": key, "Content-Type": "application/x-www-form-urlencoded"})
	return status, body
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func sha256B64(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// checkCompactHeaders checks what Bundler relies on in a 200 of the compact
// index: the ETag is the quoted MD5 of the body, Repr-Digest its SHA-256,
// ranges accepted, plain text.
func checkCompactHeaders(t testing.TB, what string, hdr http.Header, body string) {
	t.Helper()
	if got, want := hdr.Get("ETag"), `"`+md5Hex([]byte(body))+`"`; got != want {
		t.Errorf("%s: ETag %s, want the quoted MD5 of the body %s", what, got, want)
	}
	if got, want := hdr.Get("Repr-Digest"), "sha-256=:"+sha256B64([]byte(body))+":"; got != want {
		t.Errorf("%s: Repr-Digest %s, want %s", what, got, want)
	}
	if hdr.Get("Accept-Ranges") != "bytes" {
		t.Errorf("%s: Accept-Ranges %q", what, hdr.Get("Accept-Ranges"))
	}
	if ct := hdr.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
}

// bundlerCopy keeps a local copy of a compact index file as Bundler's
// CompactIndexClient::Updater does (Bundler 2.3): a refresh asks for the
// bytes from the copy's size - 1 with If-None-Match, appends a 206's body
// after its first byte and accepts the result only if its MD5 is the
// ETag, else fetches the whole file.
type bundlerCopy struct {
	s    *server
	path string
	body []byte
	etag string
}

// refresh updates the copy and returns the statuses it took.
func (c *bundlerCopy) refresh(t testing.TB) []int {
	t.Helper()
	var statuses []int
	for retrying := false; ; retrying = true {
		h := map[string]string{}
		if !retrying && c.body != nil {
			h["If-None-Match"] = `"` + md5Hex(c.body) + `"`
			h["Range"] = "bytes=" + strconv.Itoa(len(c.body)-1) + "-"
		}
		status, hdr, body := c.s.do(t, http.MethodGet, c.path, "", h)
		statuses = append(statuses, status)
		var next []byte
		switch status {
		case http.StatusNotModified:
			return statuses
		case http.StatusPartialContent:
			next = append(append([]byte{}, c.body...), body[1:]...)
		case http.StatusOK:
			next = []byte(body)
		case http.StatusRequestedRangeNotSatisfiable:
			continue
		default:
			t.Fatalf("%s: %d %s", c.path, status, body)
		}
		etag := strings.TrimPrefix(hdr.Get("ETag"), "W/")
		if etag == `"`+md5Hex(next)+`"` {
			c.body, c.etag = next, etag
			return statuses
		}
		if retrying {
			t.Fatalf("%s: the full body's MD5 is not its ETag %s", c.path, etag)
		}
	}
}

// gemTimeout bounds one run of gem or bundle.
const gemTimeout = 4 * time.Minute

func gemContext(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), gemTimeout)
}
