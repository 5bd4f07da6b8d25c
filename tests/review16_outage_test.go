package tests

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	packages_model "wharf/models/packages"
	"wharf/modules/storage"
	"wharf/modules/storage/miniotest"
	api_packages "wharf/routers/api/packages"
	packages_service "wharf/services/packages"
)

// TestReview16OutageMalformedBodyIsClients sends every upload endpoint a
// body whose chunked encoding breaks after a few bytes (a client's
// mistake: the connection itself stays healthy, so the request's context
// is not cancelled). The answer must be a 4xx in the format's own shape,
// never a 5xx: neither 500 nor the outage's 503.
func TestReview16OutageMalformedBodyIsClients(t *testing.T) {
	s := newServer(t)
	auth := basic(s.AdminName, s.AdminPass)["Authorization"]
	cases := []struct {
		name, method, path, contentType, prefix string
	}{
		{"cargo publish", "PUT", "/api/packages/root/cargo/api/v1/crates/new", "application/octet-stream", "\x10\x00\x00\x00{\"name\""},
		{"npm publish", "PUT", "/api/packages/root/npm/broken-lib", "application/json", `{"name":"broken-lib","versions":{`},
		{"rubygems push", "POST", "/api/packages/root/rubygems/api/v1/gems", "application/octet-stream", "metadata.gz"},
		{"composer upload", "PUT", "/api/packages/root/composer?version=1.0.0", "application/zip", "PK\x03\x04"},
		{"generic upload", "PUT", "/api/packages/root/generic/broken/1.0.0/b.bin", "application/octet-stream", "some bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // detects a hang; measures nothing
			// A first chunk that is well formed, then a chunk size that is
			// not hexadecimal.
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\nzz\r\n",
				c.method, c.path, auth, c.contentType, len(c.prefix), c.prefix)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("a malformed chunked body: status %d, want a 4xx: %s", resp.StatusCode, b)
			}
		})
	}
}

// TestReview16OutageDownloadStartedBeforeMinioStops: a download whose blob
// was opened just before MinIO stops. minio-go sent its GET lazily, from
// http.ServeContent's Seek, which turned the outage into a plain-text 500
// "seeker can't seek". Open now sends the GET itself (a store that is
// down is a 503 there), so what stops afterwards stops a transfer under
// way: the answer is never a 500, and a 200 that cannot be finished is
// visibly short of its Content-Length, which clients treat as a failed
// download.
func TestReview16OutageDownloadStartedBeforeMinioStops(t *testing.T) {
	m := miniotest.Start(t)
	store, err := storage.NewMinio(t.Context(), storage.MinioConfig{Endpoint: m.Endpoint, AccessKeyID: m.AccessKey,
		SecretAccessKey: m.SecretKey, Bucket: "wharf", Location: "us-east-1", BasePath: "packages/"})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("bytes stored before the outage\n")
	sum := sha256.Sum256(data)
	key := hex.EncodeToString(sum[:])
	if err := store.Save(t.Context(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	o, err := store.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	m.Stop()

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/packages/root/generic/tool/1.0.0/tool.bin", nil)
	api_packages.ServeDownload(rec, req, &packages_service.Download{Content: o,
		Blob: &packages_model.PackageBlob{HashSHA256: key, Size: int64(len(data))},
		File: &packages_model.PackageFile{Name: "tool.bin"}})
	switch rec.Code {
	case http.StatusServiceUnavailable:
		if rec.Header().Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After: %q", rec.Body.String())
		}
	case http.StatusOK:
		if n := rec.Header().Get("Content-Length"); n != strconv.Itoa(len(data)) || !bytes.HasPrefix(data, rec.Body.Bytes()) {
			t.Errorf("200 with Content-Length %q and %d bytes %q: want the blob's length, and its bytes or fewer", n, rec.Body.Len(), rec.Body.String())
		}
	default:
		t.Errorf("download opened just before MinIO stopped: %d (Retry-After %q) %q; want 503, or a 200 cut short",
			rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}
}
