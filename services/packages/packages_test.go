package packages_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/models/unittest"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	packages_module "wharf/modules/packages"
	"wharf/modules/setting"
	"wharf/modules/storage"
	jobs_service "wharf/services/jobs"
	org_service "wharf/services/org"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
)

type fixture struct {
	db    *db.DB
	pkgs  *packages_service.Service
	users *user_service.Service
	orgs  *org_service.Service
	repos *repo_service.Service
	store storage.Store
}

func newFixture(t *testing.T, cfg setting.Packages) *fixture {
	t.Helper()
	return newFixtureWith(t, cfg, semverFormat{})
}

// newFixtureWith is newFixture with the formats given.
func newFixtureWith(t *testing.T, cfg setting.Packages, formats ...packages_service.Format) *fixture {
	t.Helper()
	d := unittest.NewDB(t)
	log := unittest.DiscardLogger()
	now := func() time.Time { return time.Unix(1_800_000_000, 0) }
	if cfg.UploadTempPath == "" {
		cfg.UploadTempPath = t.TempDir()
	}
	if cfg.LimitSize == nil {
		cfg.LimitSize = map[string]int64{}
	}
	store, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: d, store: store}
	f.users = user_service.New(user_service.Deps{DB: d, Log: log, Now: now, MinPasswordLength: 8})
	f.orgs = org_service.New(org_service.Deps{DB: d, Now: now, Users: f.users})
	f.repos = repo_service.New(repo_service.Deps{DB: d, Log: log, Now: now, Users: f.users, Jobs: jobs_service.NewRunner(d, log, now),
		Root: t.TempDir(), DefaultBranch: "main", RootURL: "http://localhost/"})
	if err := f.repos.Init(); err != nil {
		t.Fatal(err)
	}
	f.pkgs, err = packages_service.New(packages_service.Deps{DB: d, Store: store, Log: log, Now: now, Users: f.users, Repos: f.repos, Cfg: cfg,
		Formats: formats})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// semverFormat orders npm's versions in these tests: the core's own tests
// do not wire the real formats.
type semverFormat struct{}

func (semverFormat) Type() packages_model.Type       { return packages_model.TypeNpm }
func (semverFormat) CompareVersions(a, b string) int { return packages_module.CompareSemver(a, b) }

func (f *fixture) user(t *testing.T, name string, admin bool) *user_model.User {
	t.Helper()
	u, err := f.users.Create(context.Background(), user_service.CreateOptions{Name: name, Email: name + "@example.com", Password: "password1", Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) buf(t *testing.T, data string) *packages_module.HashedBuffer {
	t.Helper()
	b, err := f.pkgs.NewUploadBuffer(bytes.NewReader([]byte(data)), packages_model.TypeGeneric)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func kind(t *testing.T, err error, want apperr.Kind) {
	t.Helper()
	if apperr.KindOf(err) != want {
		t.Fatalf("err = %v (%v), want %v", err, apperr.KindOf(err), want)
	}
}

func TestCreateHelpers(t *testing.T) {
	f := newFixture(t, setting.Packages{LimitTotalOwnerCount: -1, LimitTotalOwnerSize: -1})
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	v := func(version string) *packages_service.VersionInfo {
		return &packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeGeneric, Name: "Tool", Version: version,
			Metadata: map[string]string{"k": "v"}, Properties: map[string]string{"p": version}}
	}
	file := func(name, data string) *packages_service.FileInfo {
		return &packages_service.FileInfo{Name: name, IsLead: true, Data: f.buf(t, data)}
	}

	added, err := f.pkgs.CreatePackageAndAddFile(ctx, v("1.0.0"), file("a.bin", "aaa"), nil)
	if err != nil || added.Version.Version != "1.0.0" || added.File.Name != "a.bin" || added.Version.MetadataJSON != `{"k":"v"}` ||
		!added.VersionCreated || added.Package.Name != "Tool" {
		t.Fatalf("CreatePackageAndAddFile = %+v %v", added, err)
	}
	_, err = f.pkgs.CreatePackageAndAddFile(ctx, v("1.0.0"), file("b.bin", "bbb"), nil)
	kind(t, err, apperr.Conflict)
	_, err = f.pkgs.CreatePackageAndAddFile(ctx, v("1.0.0"), file("b.bin", "bbb"), nil)
	if !errors.Is(err, packages_model.ErrVersionExists) {
		t.Fatalf("want ErrVersionExists, got %v", err)
	}

	if _, err := f.pkgs.CreatePackageOrAddFileToExisting(ctx, v("1.0.0"), file("b.bin", "bbb"), nil); err != nil {
		t.Fatalf("adding a file to an existing version: %v", err)
	}
	_, err = f.pkgs.CreatePackageOrAddFileToExisting(ctx, v("1.0.0"), file("B.BIN", "other"), nil)
	if !errors.Is(err, packages_model.ErrFileExists) {
		t.Fatalf("file names are case-insensitive: %v", err)
	}
	if _, err := f.pkgs.CreatePackageOrAddFileToExisting(ctx, v("2.0.0"), file("a.bin", "aaa"), nil); err != nil {
		t.Fatalf("a new version through CreatePackageOrAddFileToExisting: %v", err)
	}

	_, err = f.pkgs.AddFileToExistingPackage(ctx, v("3.0.0"), file("a.bin", "x"), nil)
	kind(t, err, apperr.NotFound)
	if _, err := f.pkgs.AddFileToExistingPackage(ctx, v("2.0.0"), file("c.bin", "ccc"), nil); err != nil {
		t.Fatal(err)
	}
	_, err = f.pkgs.AddFileToExistingPackage(ctx, v("2.0.0"), file("c.bin", "ccc"), nil)
	kind(t, err, apperr.Conflict)

	a, err := f.pkgs.Access(ctx, alice, "alice")
	if err != nil {
		t.Fatal(err)
	}
	p, got, err := f.pkgs.GetVersion(ctx, a, packages_model.TypeGeneric, "tool", "1.0.0")
	if err != nil || got.ID != added.Version.ID || p.Name != "Tool" {
		t.Fatalf("GetVersion = %+v, %v", got, err)
	}
	files, err := f.pkgs.ListFiles(ctx, got)
	if err != nil || len(files) != 2 || files[0].Blob.Size != 3 || files[0].Blob.HashSHA256 == "" {
		t.Fatalf("ListFiles = %+v, %v", files, err)
	}
	// Identical bytes share one blob.
	_, v2, err := f.pkgs.GetVersion(ctx, a, packages_model.TypeGeneric, "tool", "2.0.0")
	if err != nil {
		t.Fatal(err)
	}
	f2, err := f.pkgs.ListFiles(ctx, v2)
	if err != nil || f2[0].Blob.ID != files[0].Blob.ID {
		t.Fatal("the same bytes must share a blob")
	}

	// Downloads: GET counts lead files, HEAD does not.
	for _, count := range []bool{true, false, true} {
		d, err := f.pkgs.OpenFile(ctx, a, packages_model.TypeGeneric, "tool", "1.0.0", "a.bin", "", count)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(d.Content)
		d.Content.Close()
		if string(b) != "aaa" {
			t.Fatalf("download %q", b)
		}
	}
	_, got, _ = f.pkgs.GetVersion(ctx, a, packages_model.TypeGeneric, "tool", "1.0.0")
	if got.DownloadCount != 2 {
		t.Fatalf("download count %d, want 2", got.DownloadCount)
	}

	// Removal: a file, then the last file takes the version, the last
	// version the package.
	if err := f.pkgs.RemoveFile(ctx, a, got, "b.bin", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.pkgs.RemoveFile(ctx, a, got, "a.bin", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.pkgs.GetVersion(ctx, a, packages_model.TypeGeneric, "tool", "1.0.0"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("the version without files must be gone: %v", err)
	}
	if err := f.pkgs.RemoveVersion(ctx, a, v2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pkgs.GetPackage(ctx, a, packages_model.TypeGeneric, "tool"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("the package without versions must be gone: %v", err)
	}
}

// TestConcurrentUploadsOneWinner: many uploads of the same version at once;
// exactly one succeeds, every other gets a conflict, never an internal
// error.
func TestConcurrentUploadsOneWinner(t *testing.T) {
	f := newFixture(t, setting.Packages{LimitTotalOwnerCount: -1, LimitTotalOwnerSize: -1})
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	for _, mode := range []string{"CreatePackageAndAddFile", "CreatePackageOrAddFileToExisting"} {
		t.Run(mode, func(t *testing.T) {
			const n = 16
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v := &packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeGeneric, Name: "race-" + mode, Version: "1.0.0"}
					file := &packages_service.FileInfo{Name: "f.bin", Data: f.buf(t, fmt.Sprint("content ", i))}
					if mode == "CreatePackageAndAddFile" {
						_, errs[i] = f.pkgs.CreatePackageAndAddFile(ctx, v, file, nil)
					} else {
						_, errs[i] = f.pkgs.CreatePackageOrAddFileToExisting(ctx, v, file, nil)
					}
				}()
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case apperr.KindOf(err) != apperr.Conflict:
					t.Fatalf("a loser got %v (%v), want a conflict", err, apperr.KindOf(err))
				}
			}
			if wins != 1 {
				t.Fatalf("%d uploads won, want 1", wins)
			}
		})
	}
}

func TestQuotasAndLimits(t *testing.T) {
	f := newFixture(t, setting.Packages{LimitTotalOwnerCount: 2, LimitTotalOwnerSize: 10, LimitSize: map[string]int64{"generic": 8}})
	ctx := context.Background()
	bob := f.user(t, "bob", false)
	root := f.user(t, "root", true)
	_, err := f.pkgs.NewUploadBuffer(bytes.NewReader([]byte("123456789")), packages_model.TypeGeneric)
	kind(t, err, apperr.TooLarge)
	up := func(u *user_model.User, version, data string) error {
		_, err := f.pkgs.CreatePackageAndAddFile(ctx,
			&packages_service.VersionInfo{Owner: bob, Creator: u, Type: packages_model.TypeGeneric, Name: "q", Version: version},
			&packages_service.FileInfo{Name: "f", Data: f.buf(t, data)}, nil)
		return err
	}
	if err := up(bob, "1", "12345"); err != nil {
		t.Fatal(err)
	}
	err = up(bob, "2", "123456")
	kind(t, err, apperr.Forbidden)
	if !errors.Is(err, packages_service.ErrQuotaExceeded) {
		t.Fatalf("size quota: %v", err)
	}
	if err := up(bob, "2", "1234"); err != nil {
		t.Fatal(err)
	}
	err = up(bob, "3", "1")
	if !errors.Is(err, packages_service.ErrQuotaExceeded) {
		t.Fatalf("count quota: %v", err)
	}
	if err := up(root, "3", "1"); err != nil {
		t.Fatalf("administrators are exempt from quotas: %v", err)
	}
}

func TestAccessAndLatest(t *testing.T) {
	f := newFixture(t, setting.Packages{LimitTotalOwnerCount: -1, LimitTotalOwnerSize: -1})
	ctx := context.Background()
	alice, bob, carol := f.user(t, "alice", false), f.user(t, "bob", false), f.user(t, "carol", false)
	if _, err := f.orgs.Create(ctx, alice, org_service.CreateOptions{Name: "corp", Visibility: user_model.VisibilityPrivate}); err != nil {
		t.Fatal(err)
	}
	if err := f.orgs.SetMember(ctx, alice, "corp", "bob", 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		u    *user_model.User
		mode packages_service.Mode
	}{{alice, packages_service.ModeWrite}, {bob, packages_service.ModeRead}} {
		a, err := f.pkgs.Access(ctx, c.u, "corp")
		if err != nil || a.Mode != c.mode {
			t.Fatalf("Access(%s) = %+v, %v", c.u.Name, a, err)
		}
	}
	_, err := f.pkgs.Access(ctx, carol, "corp")
	kind(t, err, apperr.NotFound)
	_, err = f.pkgs.Access(ctx, nil, "corp")
	kind(t, err, apperr.NotFound)
	a, _ := f.pkgs.Access(ctx, bob, "corp")
	kind(t, a.RequireWrite(), apperr.Forbidden)
	anon, _ := f.pkgs.Access(ctx, nil, "alice")
	kind(t, anon.RequireWrite(), apperr.Unauthorized)

	// Latest is the highest by the format's rules, not the last upload.
	for _, version := range []string{"1.10.0", "2.0.0-rc.1", "1.9.0", "1.2.0"} {
		_, err := f.pkgs.CreatePackageAndAddFile(ctx,
			&packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeNpm, Name: "lib", Version: version},
			&packages_service.FileInfo{Name: "lib.tgz", Data: f.buf(t, version)}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	aa, _ := f.pkgs.Access(ctx, alice, "alice")
	p, err := f.pkgs.GetPackage(ctx, aa, packages_model.TypeNpm, "lib")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := f.pkgs.ListVersions(ctx, p)
	if err != nil || len(vs) != 4 || vs[0].Version != "2.0.0-rc.1" || vs[1].Version != "1.10.0" || vs[3].Version != "1.2.0" {
		t.Fatalf("ListVersions order: %v", vs)
	}
	latest, err := f.pkgs.Latest(ctx, p)
	if err != nil || latest.Version != "2.0.0-rc.1" {
		t.Fatalf("Latest = %v, %v", latest, err)
	}
}
