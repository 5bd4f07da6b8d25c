package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	packages_model "wharf/models/packages"
	"wharf/modules/setting"
	"wharf/modules/storage"
	packages_service "wharf/services/packages"
)

func blobKey(b string) string {
	s := sha256.Sum256([]byte(b))
	return hex.EncodeToString(s[:])
}

// TestCleanupBlobGC: on disk and on MinIO, the blobs task removes the bytes
// of removed versions, of replaced lead files (a rebuilt Composer archive)
// and of uploads that never got a row (a refused or
// crashed upload), once older than BLOB_GC_GRACE, and keeps bytes any file
// still references (a blob shared by two files stays while one remains)
// and bytes younger than the grace period (an upload in flight).
func TestCleanupBlobGC(t *testing.T) {
	for name, backend := range storageBackends() {
		if name == "minio-serve-direct" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var clock atomic.Int64
			clock.Store(time.Now().Unix())
			now := func() time.Time { return time.Unix(clock.Load(), 0) }
			configure := backend(t)
			s := newServerWithClock(t, now, configure, func(c *setting.Config) { c.Packages.BlobGCGrace = time.Hour })
			s.createUser(t, "acme")
			h := basic("acme", "acme-password")
			put := func(path, body string) {
				t.Helper()
				if status, _, got := s.do(t, "PUT", "/api/packages/acme/generic/"+path, body, h); status != http.StatusCreated {
					t.Fatalf("PUT %s: %d %s", path, status, got)
				}
			}
			del := func(path string) {
				t.Helper()
				if status, _, got := s.do(t, "DELETE", "/api/v1/packages/acme/generic/"+path, "", h); status != http.StatusNoContent {
					t.Fatalf("DELETE %s: %d %s", path, status, got)
				}
			}
			shared, removed, kept := "shared bytes", "bytes of a removed version", "bytes still in use"
			put("lib/1.0/a.bin", shared)
			put("lib/2.0/a.bin", shared)
			put("lib/3.0/c.bin", removed)
			put("lib/4.0/d.bin", kept)
			del("lib/1.0") // the shared blob is still referenced by 2.0
			del("lib/3.0")
			// A version whose lead file is replaced (as a Composer archive
			// rebuilt for a moved tag): the old bytes lose their last file.
			archived, rebuilt := "the first archive", "the rebuilt archive"
			put("lib/5.0/archive.zip", archived)
			owner, err := s.App.Users.GetByName(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			a, err := s.App.Packages.AccessTo(ctx, owner, owner)
			if err != nil {
				t.Fatal(err)
			}
			_, pv, err := s.App.Packages.GetVersion(ctx, a, packages_model.TypeGeneric, "lib", "5.0")
			if err != nil {
				t.Fatal(err)
			}
			buf, err := s.App.Packages.NewUploadBuffer(strings.NewReader(rebuilt), packages_model.TypeGeneric)
			if err != nil {
				t.Fatal(err)
			}
			defer buf.Close()
			if err := s.App.Packages.ReplaceLeadFile(ctx, pv, &packages_service.FileInfo{Name: "archive.zip", IsLead: true, Data: buf}, nil); err != nil {
				t.Fatal(err)
			}
			// Bytes saved by an upload that got no row (refused after its
			// bytes were stored, or its process crashed).
			orphan := "bytes of a refused upload"
			if err := s.App.Store.Save(ctx, blobKey(orphan), bytes.NewReader([]byte(orphan)), int64(len(orphan))); err != nil {
				t.Fatal(err)
			}
			runBlobs := func() map[string]any {
				t.Helper()
				status, _, body := s.do(t, "POST", "/api/v1/admin/cleanup/blobs", "", tokenHeader(s.AdminToken))
				if status != http.StatusOK {
					t.Fatalf("run blobs: %d %s", status, body)
				}
				var run map[string]any
				if err := json.Unmarshal([]byte(body), &run); err != nil {
					t.Fatal(err)
				}
				if run["error"] != nil {
					t.Fatalf("blobs run failed: %s", body)
				}
				return run
			}
			exists := func(b string) bool {
				_, err := s.App.Store.Stat(ctx, blobKey(b))
				if err != nil && !errors.Is(err, storage.ErrNotExist) {
					t.Fatal(err)
				}
				return err == nil
			}
			// Within the grace period nothing goes: any of these could be
			// an upload in flight.
			if run := runBlobs(); run["blobs"].(float64) != 0 {
				t.Fatalf("collected within the grace period: %v", run)
			}
			if !exists(removed) || !exists(orphan) {
				t.Fatal("bytes younger than the grace period were removed")
			}
			clock.Add(int64((2 * time.Hour).Seconds()))
			if !time.Unix(clock.Load(), 0).After(time.Now().Add(time.Hour)) {
				t.Fatal("the clock must be past the files' own times plus the grace")
			}
			run := runBlobs()
			if want := len(removed) + len(orphan) + len(archived); run["blobs"].(float64) != 3 || run["bytes"].(float64) != float64(want) {
				t.Errorf("run: %v, want 3 blobs of %d bytes", run, want)
			}
			if exists(removed) || exists(orphan) || exists(archived) {
				t.Error("unreferenced bytes are still stored")
			}
			if !exists(shared) || !exists(kept) || !exists(rebuilt) {
				t.Fatal("referenced bytes were removed")
			}
			for path, want := range map[string]string{"lib/2.0/a.bin": shared, "lib/4.0/d.bin": kept, "lib/5.0/archive.zip": rebuilt} {
				if status, _, got := s.do(t, "GET", "/api/packages/acme/generic/"+path, "", h); status != 200 || got != want {
					t.Errorf("GET %s after the run: %d %q", path, status, got)
				}
			}
			del("lib/2.0") // the shared blob's last file
			if run := runBlobs(); run["blobs"].(float64) != 1 || exists(shared) {
				t.Errorf("the shared blob's last file is gone, the run: %v (still stored: %v)", run, exists(shared))
			}
			// The record of the runs.
			status, _, body := s.do(t, "GET", "/api/v1/admin/cleanup", "", tokenHeader(s.AdminToken))
			var st struct {
				Runs []struct {
					Task     string     `json:"task"`
					Finished *time.Time `json:"finished"`
				} `json:"runs"`
				Storage struct {
					ReferencedBytes   int64 `json:"referenced_bytes"`
					UnreferencedBytes int64 `json:"unreferenced_bytes"`
				} `json:"storage"`
			}
			if err := json.Unmarshal([]byte(body), &st); status != 200 || err != nil {
				t.Fatalf("status: %d %s", status, body)
			}
			if len(st.Runs) != 3 || st.Runs[0].Task != "blobs" || st.Runs[0].Finished == nil {
				t.Errorf("runs: %s", body)
			}
			if st.Storage.ReferencedBytes != int64(len(kept)+len(rebuilt)) || st.Storage.UnreferencedBytes != 0 {
				t.Errorf("storage: %s", body)
			}
		})
	}
}
