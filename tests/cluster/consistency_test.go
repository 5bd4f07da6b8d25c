//go:build cluster

package cluster

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"testing"
)

// checkConsistency reads the database and the bucket directly: every
// package file has its blob row, and every blob a file points at is in
// MinIO with the recorded size. It returns how many files it checked.
// Stored bytes no row points at are allowed (an upload stores its bytes
// before its row; the blob cleanup collects them after a grace): they are
// counted in the log.
func (c *cluster) checkConsistency(t *testing.T) int {
	t.Helper()
	var dangling int
	if err := c.DB.QueryRow(`SELECT count(*) FROM package_file f LEFT JOIN package_blob b ON b.id = f.blob_id WHERE b.id IS NULL`).Scan(&dangling); err != nil {
		t.Fatal(err)
	}
	if dangling != 0 {
		t.Errorf("%d package_file rows point at no package_blob row", dangling)
	}
	rows, err := c.DB.Query(`SELECT f.id, f.name, b.hash_sha256, b.size FROM package_file f JOIN package_blob b ON b.id = f.blob_id ORDER BY f.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type file struct {
		id         int64
		name, hash string
		size       int64
	}
	var files []file
	for rows.Next() {
		var f file
		if err := rows.Scan(&f.id, &f.name, &f.hash, &f.size); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	referenced := map[string]bool{}
	for _, f := range files {
		referenced[f.hash] = true
		size, err := c.Store.Stat(t.Context(), f.hash)
		switch {
		case err != nil:
			t.Errorf("package_file %d (%s) points at blob %s, which MinIO does not hold: %v", f.id, f.name, f.hash, err)
		case size != f.size:
			t.Errorf("package_file %d (%s): blob %s is %d bytes in MinIO, %d in the database", f.id, f.name, f.hash, size, f.size)
		}
	}
	orphans := 0
	if err := c.Store.Iterate(t.Context(), func(key string, _ int64) error {
		if !referenced[key] {
			orphans++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// No job gave up; what is still queued is logged (the periodic
	// cleanup is always there).
	jobs, err := c.DB.Query(`SELECT kind, failed, last_error FROM job ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer jobs.Close()
	var pending []string
	for jobs.Next() {
		var kind string
		var failed bool
		var lastError sql.NullString
		if err := jobs.Scan(&kind, &failed, &lastError); err != nil {
			t.Fatal(err)
		}
		if failed {
			t.Errorf("job %s gave up: %s", kind, lastError.String)
		}
		pending = append(pending, kind)
	}
	if err := jobs.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("consistency: %d package files, each with its blob in MinIO; %d stored blobs no file points at (left for the blob cleanup); jobs queued: %v",
		len(files), orphans, pending)
	return len(files)
}

// pattern is size deterministic bytes (a xorshift stream seeded by seed):
// an upload body that compresses badly and can be made again to compare.
type pattern struct {
	x    uint64
	left int64
}

func newPattern(seed uint64, size int64) *pattern {
	return &pattern{x: seed*0x9E3779B97F4A7C15 + 1, left: size}
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(b))
	if n > p.left {
		n = p.left
	}
	for i := range b[:n] {
		p.x ^= p.x << 13
		p.x ^= p.x >> 7
		p.x ^= p.x << 17
		b[i] = byte(p.x >> 32)
	}
	p.left -= n
	return int(n), nil
}

func patternSHA256(seed uint64, size int64) string {
	h := sha256.New()
	if _, err := io.Copy(h, newPattern(seed, size)); err != nil {
		panic(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// download fetches u and returns the status and the body's SHA-256.
func download(t *testing.T, u string, h map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, resp.Body); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("GET %s: read: %v", u, err)
	}
	return resp.StatusCode, hex.EncodeToString(sum.Sum(nil))
}
