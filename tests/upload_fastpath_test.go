package tests

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	packages_model "wharf/models/packages"
	packages_module "wharf/modules/packages"
)

// TestGenericLargeUploadFastPath: a generic upload larger than the memory
// limit is stored at once with its SHA-256 (the API shows the other
// digests as "" until the job has run, then the right ones), becomes the
// blob without a leftover in the store's temp directory, is shared by a
// second upload of the same bytes, and downloads whole, in ranges and
// conditionally as before; on the disk and on MinIO (proxied).
func TestGenericLargeUploadFastPath(t *testing.T) {
	for _, name := range []string{"local", "minio"} {
		t.Run(name, func(t *testing.T) { testLargeUploadFastPath(t, name) })
	}
}

func testLargeUploadFastPath(t *testing.T, backend string) {
	s := newServer(t, storageBackends()[backend](t))
	s.createUser(t, "alice")
	h := basic("alice", "alice-password")
	var sb strings.Builder
	for i := 0; sb.Len() < packages_module.DefaultMemoryLimit+3<<20; i++ {
		sb.WriteString(hex.EncodeToString([]byte{byte(i), byte(i >> 8), byte(i >> 16)}))
	}
	body := sb.String()
	path := "/api/packages/alice/generic/big/1.0/big.bin"
	if status, _, out := s.do(t, "PUT", path, body, h); status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, out)
	}
	m, s1, s2, s5 := md5.Sum([]byte(body)), sha1.Sum([]byte(body)), sha256.Sum256([]byte(body)), sha512.Sum512([]byte(body))
	type file struct {
		Size                      int64
		MD5, SHA1, SHA256, SHA512 string
	}
	files := func() file {
		t.Helper()
		status, _, out := s.do(t, "GET", "/api/v1/packages/alice/generic/big/1.0/files", "", h)
		var fs []file
		if err := json.Unmarshal([]byte(out), &fs); status != http.StatusOK || err != nil || len(fs) != 1 {
			t.Fatalf("files: %d %s %v", status, out, err)
		}
		return fs[0]
	}
	want := file{Size: int64(len(body)), SHA256: hex.EncodeToString(s2[:])}
	if got := files(); got != want {
		t.Fatalf("files before the digests job: %+v, want %+v", got, want)
	}
	if _, err := s.App.Jobs.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	want.MD5, want.SHA1, want.SHA512 = hex.EncodeToString(m[:]), hex.EncodeToString(s1[:]), hex.EncodeToString(s5[:])
	if got := files(); got != want {
		t.Fatalf("files after the digests job: %+v, want %+v", got, want)
	}

	// The same bytes again: one blob.
	if status, _, out := s.do(t, "PUT", "/api/packages/alice/generic/big/2.0/big.bin", body, h); status != http.StatusCreated {
		t.Fatalf("second upload: %d %s", status, out)
	}
	n, err := s.App.DB.Xorm().Count(new(packages_model.PackageBlob))
	if err != nil || n != 1 {
		t.Fatalf("%d blob rows for one content, %v", n, err)
	}
	if backend == "local" {
		tmp, err := os.ReadDir(filepath.Join(s.App.Cfg.Storage.Path, ".tmp"))
		if err != nil || len(tmp) != 0 {
			t.Fatalf("left in the store's temp directory: %v, %v", tmp, err)
		}
	}

	status, hdr, got := s.do(t, "GET", path, "", nil)
	if status != http.StatusOK || got != body || hdr.Get("ETag") != `"`+want.SHA256+`"` {
		t.Fatalf("download: %d, %d bytes, %v", status, len(got), hdr)
	}
	off := len(body) - 5000
	status, hdr, got = s.do(t, "GET", path, "", map[string]string{"Range": "bytes=" + strconv.Itoa(off) + "-" + strconv.Itoa(off+999)})
	if status != http.StatusPartialContent || got != body[off:off+1000] || hdr.Get("Content-Range") != "bytes "+strconv.Itoa(off)+"-"+strconv.Itoa(off+999)+"/"+strconv.Itoa(len(body)) {
		t.Fatalf("Range: %d, %d bytes, %v", status, len(got), hdr)
	}
	if status, _, _ := s.do(t, "GET", path, "", map[string]string{"If-None-Match": hdr.Get("ETag")}); status != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", status)
	}
	if status, _, _ := s.do(t, "GET", path, "", map[string]string{"If-Modified-Since": hdr.Get("Last-Modified")}); status != http.StatusNotModified {
		t.Fatalf("If-Modified-Since: %d", status)
	}
	status, hdr, got = s.do(t, "HEAD", path, "", nil)
	if status != http.StatusOK || got != "" || hdr.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("HEAD: %d %q %v", status, got, hdr)
	}
}
