package packages_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/modules/setting"
	packages_service "wharf/services/packages"
)

// recordingFormat records every hook call and writes a row in the hook's
// transaction (a property on the package), so that the test can see the
// hook's writes commit or roll back with the change. fail makes the named
// hook fail.
type recordingFormat struct {
	calls []string
	fail  string
	guard error
}

func (*recordingFormat) Type() packages_model.Type       { return packages_model.TypeCargo }
func (*recordingFormat) CompareVersions(a, b string) int { return slices.Compare([]byte(a), []byte(b)) }

func (r *recordingFormat) hear(ctx context.Context, tx db.Engine, hook string, c packages_service.Change) error {
	v := ""
	if c.Version != nil {
		v = c.Version.Version
	}
	call := fmt.Sprintf("%s %s %s", hook, c.Package.Name, v)
	if r.fail == hook {
		return errors.New("hook failed: " + call)
	}
	r.calls = append(r.calls, call)
	if hook == "PackageRemoved" {
		return nil // the package row is gone: nothing to write on it
	}
	return packages_model.SetProperty(ctx, tx, packages_model.PropertyTypePackage, c.Package.ID, "rec.last", call)
}

func (r *recordingFormat) VersionAdded(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return r.hear(ctx, tx, "VersionAdded", c)
}
func (r *recordingFormat) VersionRemoved(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return r.hear(ctx, tx, "VersionRemoved", c)
}
func (r *recordingFormat) PackageRemoved(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return r.hear(ctx, tx, "PackageRemoved", c)
}
func (r *recordingFormat) FilesChanged(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return r.hear(ctx, tx, "FilesChanged", c)
}
func (r *recordingFormat) MayRemoveVersion(_ *packages_service.Access, _ *packages_model.PackageVersion) error {
	return r.guard
}

// TestFormatHooks: each create helper and each removal level calls the
// format's hooks once, in the change's transaction (the hook's write is
// there after the change, and gone with it when the hook fails); the
// guard is asked for removals on a caller's behalf, not the system's.
func TestFormatHooks(t *testing.T) {
	rec := &recordingFormat{}
	f := newFixtureWith(t, setting.Packages{LimitTotalOwnerCount: -1, LimitTotalOwnerSize: -1}, rec)
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	a, err := f.pkgs.Access(ctx, alice, "alice")
	if err != nil {
		t.Fatal(err)
	}
	v := func(version string) *packages_service.VersionInfo {
		return &packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeCargo, Name: "crate", Version: version}
	}
	file := func(name string) *packages_service.FileInfo {
		return &packages_service.FileInfo{Name: name, Data: f.buf(t, name)}
	}
	expect := func(step string, want ...string) {
		t.Helper()
		if !slices.Equal(rec.calls, want) {
			t.Fatalf("%s: hooks %q, want %q", step, rec.calls, want)
		}
		rec.calls = nil
	}
	lastWrite := func() string {
		t.Helper()
		p, err := f.pkgs.GetPackage(ctx, a, packages_model.TypeCargo, "crate")
		if err != nil {
			t.Fatal(err)
		}
		got, err := packages_model.GetProperty(ctx, f.db.Engine(), packages_model.PropertyTypePackage, p.ID, "rec.last")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	var alsoSaw *packages_service.Added
	added, err := f.pkgs.CreatePackageAndAddFile(ctx, v("1"), file("a"), func(_ context.Context, _ db.Engine, ad *packages_service.Added) error {
		alsoSaw = ad
		return nil
	})
	if err != nil || alsoSaw == nil || alsoSaw.Package.ID == 0 || alsoSaw.Version.ID != added.Version.ID {
		t.Fatalf("create: %+v %+v %v", added, alsoSaw, err)
	}
	expect("create", "VersionAdded crate 1")
	if got := lastWrite(); got != "VersionAdded crate 1" {
		t.Fatalf("the hook's write: %q", got)
	}
	if _, err := f.pkgs.CreatePackageOrAddFileToExisting(ctx, v("1"), file("b"), nil); err != nil {
		t.Fatal(err)
	}
	expect("a file joins the version", "FilesChanged crate 1")
	if _, err := f.pkgs.CreateVersion(ctx, v("2"), nil); err != nil {
		t.Fatal(err)
	}
	expect("CreateVersion", "VersionAdded crate 2")
	if ad, err := f.pkgs.CreateOrGetVersion(ctx, v("2"), nil); err != nil || ad.VersionCreated {
		t.Fatalf("CreateOrGetVersion of an existing version: %+v %v", ad, err)
	}
	expect("CreateOrGetVersion of an existing version")

	// A failing hook undoes its change, and so does a failing caller part.
	rec.fail = "VersionAdded"
	if _, err := f.pkgs.CreatePackageAndAddFile(ctx, v("3"), file("c"), nil); err == nil {
		t.Fatal("a failing hook must fail the create")
	}
	rec.fail = ""
	if _, _, err := f.pkgs.GetVersion(ctx, a, packages_model.TypeCargo, "crate", "3"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("version 3 after its hook failed: %v", err)
	}
	if _, err := f.pkgs.CreatePackageAndAddFile(ctx, v("3"), file("c"), func(context.Context, db.Engine, *packages_service.Added) error {
		return errors.New("caller's part failed")
	}); err == nil {
		t.Fatal("a failing caller part must fail the create")
	}
	expect("failed creates", "VersionAdded crate 3") // heard, then rolled back with the change
	if got := lastWrite(); got != "VersionAdded crate 2" {
		t.Fatalf("the rolled back hook's write is visible: %q", got)
	}

	_, pv1, err := f.pkgs.GetVersion(ctx, a, packages_model.TypeCargo, "crate", "1")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.pkgs.RemoveFile(ctx, a, pv1, "b", ""); err != nil {
		t.Fatal(err)
	}
	expect("RemoveFile of one of two", "FilesChanged crate 1")

	// The guard: asked for the caller, not for the system.
	rec.guard = apperr.New(apperr.Forbidden, "kept by the format")
	if err := f.pkgs.RemoveVersion(ctx, a, pv1); apperr.KindOf(err) != apperr.Forbidden {
		t.Fatalf("a guarded removal: %v", err)
	}
	if err := f.pkgs.RemoveFile(ctx, a, pv1, "a", ""); apperr.KindOf(err) != apperr.Forbidden {
		t.Fatalf("a guarded removal of the last file: %v", err)
	}
	expect("guarded removals")
	rec.fail = "VersionRemoved"
	if err := f.pkgs.RemoveVersionBySystem(ctx, pv1); err == nil {
		t.Fatal("a failing VersionRemoved must fail the removal")
	}
	rec.fail = ""
	if _, _, err := f.pkgs.GetVersion(ctx, a, packages_model.TypeCargo, "crate", "1"); err != nil {
		t.Fatalf("version 1 after its removal's hook failed: %v", err)
	}
	if err := f.pkgs.RemoveVersionBySystem(ctx, pv1); err != nil {
		t.Fatal(err)
	}
	expect("RemoveVersionBySystem", "VersionRemoved crate 1")
	rec.guard = nil

	p, err := f.pkgs.GetPackage(ctx, a, packages_model.TypeCargo, "crate")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.pkgs.RemovePackage(ctx, a, p); err != nil {
		t.Fatal(err)
	}
	expect("RemovePackage", "VersionRemoved crate 2", "PackageRemoved crate ")
	if _, err := f.pkgs.GetPackage(ctx, a, packages_model.TypeCargo, "crate"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("package after RemovePackage: %v", err)
	}
	if f.pkgs.Compare(packages_model.TypeCargo, "a", "b") >= 0 || f.pkgs.Compare(packages_model.TypeRubyGems, "1.10", "1.9") <= 0 {
		t.Fatal("Compare must use the wired format's order, and natural order for a type without one")
	}
}

// TestFormatsWiredOnce: a type given twice is a wiring mistake New
// reports.
func TestFormatsWiredOnce(t *testing.T) {
	if _, err := packages_service.New(packages_service.Deps{Formats: []packages_service.Format{semverFormat{}, semverFormat{}}}); err == nil {
		t.Fatal("New accepted two formats of one type")
	}
}
