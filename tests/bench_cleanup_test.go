package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/setting"
	"wharf/services/packages/cleanup"
)

// BenchmarkCleanupRule10k: one rule over a package of 10,000 versions
// (keep the newest 100): the preview's time and the run's, which removes
// 9,900 versions through the core's removal with the format's hooks.
func BenchmarkCleanupRule10k(b *testing.B) {
	ctx := context.Background()
	var preview, run time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newServer(b)
		s.createUser(b, "acme")
		seedVersions(b, s, "acme", packages_model.TypeGeneric, "lib", 10_000,
			func(string) string { return "{}" }, func(v string) string { return "lib-" + v + ".bin" })
		owner, err := s.App.Users.GetByName(ctx, "acme")
		if err != nil {
			b.Fatal(err)
		}
		typ, keep := "generic", 100
		rule, err := s.App.Cleanup.CreateRule(ctx, owner, "acme", cleanup.RuleOptions{Type: &typ, KeepCount: &keep})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		p, err := s.App.Cleanup.Preview(ctx, owner, "acme", rule.ID)
		if err != nil {
			b.Fatal(err)
		}
		preview += time.Since(start)
		start = time.Now()
		r, err := s.App.Cleanup.Run(ctx, owner, "acme", rule.ID)
		if err != nil {
			b.Fatal(err)
		}
		run += time.Since(start)
		if len(p.Remove) != 9_900 || r.Versions != 9_900 {
			b.Fatalf("preview %d, run %d, want 9900", len(p.Remove), r.Versions)
		}
	}
	b.ReportMetric(preview.Seconds()/float64(b.N), "preview-s")
	b.ReportMetric(run.Seconds()/float64(b.N), "run-s")
}

// BenchmarkCleanupBlobGC100k: the blobs task over 100,000 stored blobs on
// disk (40,000 referenced, 30,000 unreferenced rows, 30,000 bytes without
// a row): its time, and the growth of the Go heap while it runs, sampled,
// which stays small because rows are read in pages and the store is
// walked, never listed whole.
func BenchmarkCleanupBlobGC100k(b *testing.B) {
	const total, referenced, rows = 100_000, 40_000, 30_000
	ctx := context.Background()
	var took time.Duration
	var peak uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var clock atomic.Int64
		clock.Store(time.Now().Unix())
		s := newServerWithClock(b, func() time.Time { return time.Unix(clock.Load(), 0) }, func(c *setting.Config) { c.Packages.BlobGCGrace = time.Hour })
		s.createUser(b, "acme")
		seedBlobs(b, s, total, referenced, rows)
		clock.Add(2 * 3600)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var high atomic.Uint64
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > high.Load() {
					high.Store(m.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		run, err := s.App.Cleanup.RunTask(ctx, cleanup.TaskBlobs)
		took += time.Since(start)
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if run.Blobs != total-referenced {
			b.Fatalf("collected %d blobs, want %d", run.Blobs, total-referenced)
		}
		if h := high.Load(); h > before.HeapInuse && h-before.HeapInuse > peak {
			peak = h - before.HeapInuse
		}
	}
	b.ReportMetric(took.Seconds()/float64(b.N), "gc-s")
	b.ReportMetric(float64(peak)/(1<<20), "heap-growth-MiB")
	if peak > 64<<20 {
		b.Fatalf("the heap grew by %d MiB: the blobs are not streamed", peak>>20)
	}
}

// seedBlobs writes total blobs straight into the disk store (no fsync:
// this is set-up), rows for the first referenced+rows of them, and files
// of one version for the first referenced.
func seedBlobs(b *testing.B, s *server, total, referenced, rows int) {
	b.Helper()
	ctx := context.Background()
	root := s.App.Cfg.Storage.Path
	keys := make([]string, total)
	for i := range keys {
		sum := sha256.Sum256([]byte(fmt.Sprint("blob ", i)))
		k := hex.EncodeToString(sum[:])
		keys[i] = k
		dir := filepath.Join(root, k[0:2], k[2:4])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, k), []byte(fmt.Sprint("blob ", i)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	owner, err := s.App.Users.GetByName(ctx, "acme")
	if err != nil {
		b.Fatal(err)
	}
	old := time.Now().Unix() - 10
	err = s.App.DB.WithTx(ctx, func(tx db.Engine) error {
		p, err := packages_model.GetOrInsertPackage(ctx, tx, &packages_model.Package{OwnerID: owner.ID, Type: packages_model.TypeGeneric, Name: "many"})
		if err != nil {
			return err
		}
		pv := &packages_model.PackageVersion{PackageID: p.ID, Version: "1.0.0", CreatedUnix: old}
		if err := packages_model.InsertVersion(ctx, tx, pv); err != nil {
			return err
		}
		for start := 0; start < referenced+rows; start += 1000 {
			var bs []*packages_model.PackageBlob
			for i := start; i < min(start+1000, referenced+rows); i++ {
				bs = append(bs, &packages_model.PackageBlob{Size: int64(len(fmt.Sprint("blob ", i))), HashMD5: strings.Repeat("0", 32),
					HashSHA1: strings.Repeat("1", 40), HashSHA256: keys[i], HashSHA512: strings.Repeat("3", 128), CreatedUnix: old})
			}
			if _, err := tx.Context(ctx).Insert(&bs); err != nil {
				return err
			}
		}
		var ids []int64
		if err := tx.Context(ctx).Table("package_blob").Cols("id").OrderBy("id").Limit(referenced).Find(&ids); err != nil {
			return err
		}
		for start := 0; start < len(ids); start += 1000 {
			var fs []*packages_model.PackageFile
			for i := start; i < min(start+1000, len(ids)); i++ {
				name := fmt.Sprintf("f%d.bin", i)
				fs = append(fs, &packages_model.PackageFile{VersionID: pv.ID, BlobID: ids[i], Name: name, LowerName: name, CreatedUnix: old})
			}
			if _, err := tx.Context(ctx).Insert(&fs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
