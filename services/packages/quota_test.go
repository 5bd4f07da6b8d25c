package packages_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	packages_model "wharf/models/packages"
	"wharf/models/unittest"
	"wharf/modules/setting"
	packages_service "wharf/services/packages"
)

// TestConcurrentUploadsRespectQuotas: many uploads of distinct versions
// race against LIMIT_TOTAL_OWNER_COUNT and LIMIT_TOTAL_OWNER_SIZE; exactly
// the limit gets in, however the transactions interleave. On PostgreSQL
// this needs the owner lock (count-then-insert alone lets every racer
// see the same count); on SQLite the write lock taken at BEGIN
// (_txlock=immediate) already serializes the uploads. Run it on both:
// WHARF_TEST_DB=postgres.
func TestConcurrentUploadsRespectQuotas(t *testing.T) {
	t.Logf("backend: %s", unittest.Backend())
	const racers, limit = 16, 5
	for _, c := range []struct {
		name string
		cfg  setting.Packages
	}{
		{"count", setting.Packages{LimitTotalOwnerCount: limit, LimitTotalOwnerSize: -1}},
		// Every upload below is 10 bytes: limit uploads fill the quota.
		{"size", setting.Packages{LimitTotalOwnerCount: -1, LimitTotalOwnerSize: limit * 10}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.cfg)
			ctx := context.Background()
			alice := f.user(t, "alice", false)
			// Distinct versions, spread over two packages of one owner
			// and over the two ways of creating a version: the quota is
			// the owner's, whatever package or path an upload takes.
			type upload struct {
				v *packages_service.VersionInfo
				f *packages_service.FileInfo
			}
			ups := make([]upload, racers)
			for i := range racers {
				ups[i] = upload{
					v: &packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeGeneric,
						Name: fmt.Sprint("pkg", i%2), Version: fmt.Sprintf("1.0.%d", i)},
					f: &packages_service.FileInfo{Name: "f.bin", IsLead: true, Data: f.buf(t, fmt.Sprintf("content%03d", i))},
				}
			}
			start := make(chan struct{})
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for i, u := range ups {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if i%3 == 0 {
						_, errs[i] = f.pkgs.CreatePackageOrAddFileToExisting(ctx, u.v, u.f, nil)
					} else {
						_, errs[i] = f.pkgs.CreatePackageAndAddFile(ctx, u.v, u.f, nil)
					}
				}()
			}
			close(start)
			wg.Wait()

			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, packages_service.ErrQuotaExceeded):
					t.Errorf("upload %d: %v, want nil or ErrQuotaExceeded", i, err)
				}
			}
			if wins != limit {
				t.Errorf("%d of %d concurrent uploads got in, the quota allows %d", wins, racers, limit)
			}
			// What is stored agrees with the answers.
			n, err := packages_model.CountVersionsOf(ctx, f.db.Engine(), alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			used, err := packages_model.OwnerUsage(ctx, f.db.Engine(), alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(wins) || used != int64(wins)*10 {
				t.Errorf("stored %d versions, %d bytes; %d uploads succeeded", n, used, wins)
			}
			// The quota still holds afterwards, one at a time.
			_, err = f.pkgs.CreatePackageAndAddFile(ctx,
				&packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeGeneric, Name: "late", Version: "1"},
				&packages_service.FileInfo{Name: "f.bin", Data: f.buf(t, strings.Repeat("x", 10))}, nil)
			if !errors.Is(err, packages_service.ErrQuotaExceeded) {
				t.Errorf("an upload past the filled quota: %v, want ErrQuotaExceeded", err)
			}
		})
	}
}
