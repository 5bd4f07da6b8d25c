package tests

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/setting"
	"wharf/modules/storage/miniotest"
)

// storageBackends configures the server for each blob store.
func storageBackends() map[string]func(t *testing.T) func(*setting.Config) {
	return map[string]func(t *testing.T) func(*setting.Config){
		"local": func(t *testing.T) func(*setting.Config) { return func(*setting.Config) {} },
		"minio": func(t *testing.T) func(*setting.Config) {
			m := miniotest.Start(t)
			return func(c *setting.Config) {
				c.Storage.Type = "minio"
				c.Storage.MinioEndpoint, c.Storage.MinioAccessKeyID, c.Storage.MinioSecretAccessKey = m.Endpoint, m.AccessKey, m.SecretKey
				c.Storage.MinioBucket = "wharf"
			}
		},
		"minio-serve-direct": func(t *testing.T) func(*setting.Config) {
			m := miniotest.Start(t)
			return func(c *setting.Config) {
				c.Storage.Type = "minio"
				c.Storage.MinioEndpoint, c.Storage.MinioAccessKeyID, c.Storage.MinioSecretAccessKey = m.Endpoint, m.AccessKey, m.SecretKey
				c.Storage.MinioBucket, c.Storage.ServeDirect = "direct", true
			}
		},
	}
}

func curl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "curl", append([]string{"-sS", "--fail-with-body"}, args...)...).CombinedOutput()
	return string(out), err
}

// TestGenericWithCurl uploads with curl -T and downloads byte-identical
// bytes, on the disk and on MinIO (proxied and presigned).
func TestGenericWithCurl(t *testing.T) {
	requireClient(t, "curl")
	for name, backend := range storageBackends() {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, backend(t))
			s.createUser(t, "alice")
			dir := t.TempDir()
			src := filepath.Join(dir, "tool.tar.gz")
			data := make([]byte, 5<<20+123)
			if _, err := rand.Read(data); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			url := s.URL + "/api/packages/alice/generic/tool/1.0.0/tool.tar.gz"
			if out, err := curl(t, "--user", "alice:alice-password", "-T", src, url); err != nil {
				t.Fatalf("curl -T: %v: %s", err, out)
			}
			out, err := curl(t, "--user", "alice:alice-password", "-T", src, url)
			if err == nil || !strings.Contains(out, "409") && !strings.Contains(out, "already exists") {
				t.Fatalf("uploading the same file again: %v: %s", err, out)
			}
			dst := filepath.Join(dir, "back")
			if out, err := curl(t, "-L", "-o", dst, url); err != nil {
				t.Fatalf("curl download: %v: %s", err, out)
			}
			back, _ := os.ReadFile(dst)
			if !bytes.Equal(back, data) {
				t.Fatalf("downloaded %d bytes, not byte-identical to the %d uploaded", len(back), len(data))
			}
			files, _, err := s.client(t, gitea.SetBasicAuth("alice", "alice-password")).ListPackageFiles("alice", "generic", "tool", "1.0.0")
			sum := sha256.Sum256(data)
			if err != nil || len(files) != 1 || files[0].SHA256 != hex.EncodeToString(sum[:]) || files[0].Size != int64(len(data)) {
				t.Fatalf("ListPackageFiles = %+v, %v", files, err)
			}
			resp, err := noRedirect().Get(url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if direct := name == "minio-serve-direct"; direct != (resp.StatusCode == http.StatusTemporaryRedirect) {
				t.Fatalf("status %d with SERVE_DIRECT=%v", resp.StatusCode, direct)
			}
		})
	}
}

func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestGenericDownloadSemantics: Range, ETag, HEAD and download counting.
func TestGenericDownloadSemantics(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	h := basic("alice", "alice-password")
	body := strings.Repeat("0123456789", 100)
	path := "/api/packages/alice/generic/lib/2.1.0/lib.bin"
	if status, _, out := s.do(t, "PUT", path, body, h); status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, out)
	}
	status, hdr, got := s.do(t, "GET", path, "", map[string]string{"Range": "bytes=10-19"})
	if status != http.StatusPartialContent || got != "0123456789" || hdr.Get("Content-Range") != "bytes 10-19/1000" {
		t.Fatalf("Range: %d %q %v", status, got, hdr)
	}
	sum := sha256.Sum256([]byte(body))
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	if hdr.Get("ETag") != etag {
		t.Fatalf("ETag %q, want %q", hdr.Get("ETag"), etag)
	}
	if status, _, _ := s.do(t, "GET", path, "", map[string]string{"If-None-Match": etag}); status != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", status)
	}
	status, hdr, got = s.do(t, "HEAD", path, "", nil)
	if status != 200 || got != "" || hdr.Get("Content-Length") != "1000" || hdr.Get("Last-Modified") == "" {
		t.Fatalf("HEAD: %d %q %v", status, got, hdr)
	}
	s.do(t, "GET", path, "", nil)
	c := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	pkgs, _, err := c.ListPackages("alice", gitea.ListPackagesOptions{})
	if err != nil || len(pkgs) != 1 {
		t.Fatalf("ListPackages = %v, %v", pkgs, err)
	}
	if status, _, _ := s.do(t, "DELETE", path, "", h); status != http.StatusNoContent {
		t.Fatalf("delete file: %d", status)
	}
	if status, _, _ := s.do(t, "GET", path, "", nil); status != http.StatusNotFound {
		t.Fatalf("deleted file: %d", status)
	}
	if _, _, err := c.GetPackage("alice", "generic", "lib", "2.1.0"); err == nil {
		t.Fatal("a version without files must go with its last file")
	}
}

// TestGenericBadInput: every client mistake is a 4xx with a message, and
// stores nothing.
func TestGenericBadInput(t *testing.T) {
	s := newServer(t, func(c *setting.Config) {
		c.Packages.LimitSize = map[string]int64{"generic": 1000}
		c.Packages.LimitTotalOwnerSize = 1500
	})
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "secret-org", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	readTok, _, err := alice.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "ro", Scopes: []gitea.AccessTokenScope{"read:package"}})
	if err != nil {
		t.Fatal(err)
	}
	h := basic("alice", "alice-password")
	base := "/api/packages/alice/generic/"
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		msg                      string
	}{
		{"traversal version raw", "PUT", base + "tool/../../x/f.bin", "x", h, 404, ""},
		{"traversal version encoded", "PUT", base + "tool/..%2F..%2F/f.bin", "x", h, 400, "invalid package version"},
		{"dot-dot version", "PUT", base + "tool/%2e%2e/f.bin", "x", h, 400, "invalid package version"},
		{"slash in name", "PUT", base + "a%2Fb/1.0/f.bin", "x", h, 400, "invalid package name"},
		{"dot-dot file", "PUT", base + "tool/1.0/%2e%2e", "x", h, 400, "invalid file name"},
		{"slash in file", "PUT", base + "tool/1.0/a%2Fb", "x", h, 400, "invalid file name"},
		{"backslash in file", "PUT", base + "tool/1.0/a%5Cb", "x", h, 400, "invalid file name"},
		{"NUL in file", "PUT", base + "tool/1.0/a%00b", "x", h, 400, "must not hold NUL"},
		{"NUL in file read", "GET", base + "tool/1.0/a%00b", "", h, 404, "not found"},
		{"control in version", "PUT", base + "tool/1.0%0A/f", "x", h, 400, "invalid package version"},
		{"over-long name", "PUT", base + strings.Repeat("n", 256) + "/1.0/f", "x", h, 400, "invalid package name"},
		{"over the size limit", "PUT", base + "tool/1.0/big.bin", strings.Repeat("x", 1001), h, 413, "limit of 1000 bytes"},
		{"anonymous upload", "PUT", base + "tool/1.0/f.bin", "x", nil, 401, "sign in"},
		{"upload without write", "PUT", base + "tool/1.0/f.bin", "x", basic("bob", "bob-password"), 403, "may not publish"},
		{"token without write:package", "PUT", base + "tool/1.0/f.bin", "x", tokenHeader(readTok.Token), 403, "write:package"},
		{"private owner", "GET", "/api/packages/secret-org/generic/tool/1.0/f.bin", "", basic("bob", "bob-password"), 404, "does not exist"},
		{"unknown owner", "GET", "/api/packages/nobody/generic/tool/1.0/f.bin", "", nil, 404, "does not exist"},
		{"unknown file", "GET", base + "tool/1.0/none.bin", "", nil, 404, "does not exist"},
		{"delete unknown version", "DELETE", base + "tool/9.9", "", h, 404, "does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := s.do(t, c.method, c.path, c.body, c.header)
			if status != c.status || !strings.Contains(body, c.msg) {
				t.Fatalf("%d %q, want %d containing %q", status, body, c.status, c.msg)
			}
			if status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}

	// The owner quota: 1000 bytes fit, 600 more do not.
	if status, _, body := s.do(t, "PUT", base+"tool/1.0/a.bin", strings.Repeat("a", 1000), h); status != 201 {
		t.Fatalf("%d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", base+"tool/1.0/b.bin", strings.Repeat("b", 600), h); status != 403 || !strings.Contains(body, "quota") {
		t.Fatalf("over the owner quota: %d %s", status, body)
	}

	// A body shorter than its Content-Length, and a client that goes away
	// mid-upload: nothing is stored.
	for _, cut := range []string{"short", "abort"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: 500\r\n\r\n%s", base+"cut/1.0/"+cut+".bin", h["Authorization"], strings.Repeat("z", 100))
		if cut == "short" {
			conn.(*net.TCPConn).CloseWrite()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 400 {
					t.Fatalf("short body: %d %s", resp.StatusCode, b)
				}
			}
		}
		conn.Close()
	}
	pkgs, _, err := alice.ListPackages("alice", gitea.ListPackagesOptions{Q: "cut"})
	if err != nil || len(pkgs) != 0 {
		t.Fatalf("an interrupted upload stored something: %v, %v", pkgs, err)
	}
	entries, _ := os.ReadDir(s.App.Cfg.Packages.UploadTempPath)
	if len(entries) != 0 {
		t.Fatalf("temp files left: %v", entries)
	}
}

// TestStorageDown: with the object storage gone, an upload fails with a
// 5xx and commits nothing, and everything that does not need the bytes
// keeps working.
func TestStorageDown(t *testing.T) {
	m := miniotest.Start(t)
	s := newServer(t, func(c *setting.Config) {
		c.Storage.Type = "minio"
		c.Storage.MinioEndpoint, c.Storage.MinioAccessKeyID, c.Storage.MinioSecretAccessKey = m.Endpoint, m.AccessKey, m.SecretKey
	})
	s.createUser(t, "alice")
	h := basic("alice", "alice-password")
	if status, _, body := s.do(t, "PUT", "/api/packages/alice/generic/tool/1.0/a.bin", "aaa", h); status != 201 {
		t.Fatalf("%d %s", status, body)
	}
	m.Stop()
	status, _, body := s.do(t, "PUT", "/api/packages/alice/generic/tool/2.0/b.bin", "bbb", h)
	if status < 500 || strings.Contains(body, "dial") || strings.Contains(body, m.Endpoint) {
		t.Fatalf("upload with storage down: %d %q (want a 5xx that names no internals)", status, body)
	}
	c := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	list, _, err := c.ListPackages("alice", gitea.ListPackagesOptions{})
	if err != nil || len(list) != 1 || list[0].Version != "1.0" {
		t.Fatalf("reads with storage down: %+v, %v (and nothing of the failed upload may be committed)", list, err)
	}
	if _, _, err := c.GetMyUserInfo(); err != nil {
		t.Fatal(err)
	}
}
