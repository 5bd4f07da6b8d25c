package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"wharf/modules/storage"
	"wharf/modules/storage/miniotest"
)

func key(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// backends runs the same cases on the local disk and on a real MinIO.
func backends(t *testing.T) map[string]func(t *testing.T, serveDirect bool) storage.Store {
	return map[string]func(t *testing.T, serveDirect bool) storage.Store{
		"local": func(t *testing.T, _ bool) storage.Store {
			s, err := storage.NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"minio": func(t *testing.T, serveDirect bool) storage.Store {
			srv := miniotest.Start(t)
			s, err := storage.NewMinio(context.Background(), storage.MinioConfig{
				Endpoint: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
				Bucket: "wharf", Location: "us-east-1", BasePath: "packages/", ServeDirect: serveDirect,
			})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

func TestStore(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, true)
			data := bytes.Repeat([]byte("wharf "), 200_000)
			k := key(data)

			if _, err := s.Stat(ctx, k); !errors.Is(err, storage.ErrNotExist) {
				t.Fatalf("Stat of a missing blob: %v", err)
			}
			if _, err := s.Open(ctx, k); !errors.Is(err, storage.ErrNotExist) {
				t.Fatalf("Open of a missing blob: %v", err)
			}
			if err := s.Save(ctx, k, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(ctx, k, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatalf("saving again must be a no-op: %v", err)
			}
			if n, err := s.Stat(ctx, k); err != nil || n != int64(len(data)) {
				t.Fatalf("Stat = %d, %v", n, err)
			}
			o, err := s.Open(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(o)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}
			if _, err := o.Seek(600_000, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			tail, _ := io.ReadAll(o)
			if !bytes.Equal(tail, data[600_000:]) {
				t.Fatal("seek then read gave the wrong bytes")
			}
			part := make([]byte, 6)
			if _, err := o.ReadAt(part, 12); err != nil || string(part) != "wharf " {
				t.Fatalf("ReadAt = %q, %v", part, err)
			}
			o.Close()

			var keys []string
			if err := s.Iterate(ctx, func(k string, size int64) error { keys = append(keys, k); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 || keys[0] != k {
				t.Fatalf("Iterate = %v", keys)
			}

			u, err := s.URL(ctx, k, "file.tgz", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if name == "minio" {
				if u == nil {
					t.Fatal("SERVE_DIRECT must give a presigned URL")
				}
				resp, err := http.Get(u.String())
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Equal(body, data) || !strings.Contains(resp.Header.Get("Content-Disposition"), "file.tgz") {
					t.Fatalf("presigned GET: %d, %d bytes, %q", resp.StatusCode, len(body), resp.Header.Get("Content-Disposition"))
				}
			} else if u != nil {
				t.Fatal("the local store serves through Wharf")
			}

			// A short body is an error and leaves nothing behind.
			short := []byte("short")
			if err := s.Save(ctx, key([]byte("other")), bytes.NewReader(short), 100); err == nil {
				t.Fatal("a body shorter than its size was saved")
			}
			if _, err := s.Stat(ctx, key([]byte("other"))); !errors.Is(err, storage.ErrNotExist) {
				t.Fatalf("a failed save left a blob: %v", err)
			}

			if err := s.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, k); err != nil {
				t.Fatalf("deleting a missing blob: %v", err)
			}
			if _, err := s.Stat(ctx, k); !errors.Is(err, storage.ErrNotExist) {
				t.Fatalf("deleted blob still there: %v", err)
			}
			for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), k[:63]} {
				if err := s.Save(ctx, bad, bytes.NewReader(nil), 0); err == nil {
					t.Errorf("Save(%q) accepted", bad)
				}
				if _, err := s.Open(ctx, bad); err == nil || errors.Is(err, storage.ErrNotExist) {
					t.Errorf("Open(%q) = %v", bad, err)
				}
			}
		})
	}
}
