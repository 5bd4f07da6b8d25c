package db_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"wharf/models/auth"
	"wharf/models/db"
	packages_model "wharf/models/packages"
	composer_model "wharf/models/packages/composer"
	rubygems_model "wharf/models/packages/rubygems"
	"wharf/models/unittest"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
)

// allSet fails unless every field of the bean is set: the plain SQL
// lookups name their columns, and a column added to a bean must be added
// to its lookup, which this makes the test say.
func allSet(t *testing.T, bean any) {
	t.Helper()
	v := reflect.ValueOf(bean).Elem()
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("%s.%s is zero in the test row: give it a value, and read it in the plain SQL lookup", v.Type().Name(), v.Type().Field(i).Name)
		}
	}
}

// TestPlainLookupsReadEveryColumn compares the plain SQL lookups (db.Query,
// db.QueryRow) with xorm's reading of the same rows, field by field, on
// the pool and inside a transaction, on this backend (WHARF_TEST_DB).
func TestPlainLookupsReadEveryColumn(t *testing.T) {
	t.Logf("backend: %s", unittest.Backend())
	ctx := context.Background()
	d := unittest.NewDB(t)
	x := d.Xorm()
	u := &user_model.User{LowerName: "alice", Name: "Alice", FullName: "Alice A", Email: "Alice@example.com", LowerEmail: "alice@example.com",
		Passwd: "hash", MustChangePassword: true, Type: user_model.TypeOrganization, IsAdmin: true, IsActive: true, ProhibitLogin: true,
		Visibility: user_model.VisibilityPrivate, Description: "about", Website: "https://example.com", Location: "here",
		CreatedUnix: 1, UpdatedUnix: 2, LastLoginUnix: 3}
	if _, err := x.Insert(u); err != nil {
		t.Fatal(err)
	}
	allSet(t, u)
	p := &packages_model.Package{OwnerID: u.ID, Type: packages_model.TypeNpm, Name: "Left-Pad", LowerName: "left-pad", RepoID: 7, CreatedUnix: 4, Stamp: 5}
	if _, err := x.Insert(p); err != nil {
		t.Fatal(err)
	}
	allSet(t, p)
	tok := &auth.AccessToken{UID: u.ID, Name: "ci", TokenHash: "h", TokenSalt: "s", TokenLastEight: "12345678", Scope: "all", CreatedUnix: 6, UpdatedUnix: 8}
	if _, err := x.Insert(tok); err != nil {
		t.Fatal(err)
	}
	allSet(t, tok)

	vr := &packages_model.Virtual{OwnerID: u.ID + 500, Type: packages_model.TypeNpm, PublishToID: u.ID, UpdatedUnix: 9}
	if _, err := x.Insert(vr); err != nil {
		t.Fatal(err)
	}
	for i, m := range []*packages_model.VirtualMember{{MemberID: u.ID}, {URL: "https://up.example/", Username: "x", Token: "t", AllowPrivate: true}} {
		m.VirtualID, m.Position = vr.ID, i
		if _, err := x.Insert(m); err != nil {
			t.Fatal(err)
		}
	}

	check := func(t *testing.T, e db.Engine) {
		var wantU user_model.User
		if _, err := x.ID(u.ID).Get(&wantU); err != nil {
			t.Fatal(err)
		}
		for _, get := range []func() (*user_model.User, error){
			func() (*user_model.User, error) { return user_model.GetUserByName(ctx, e, "ALICE") },
			func() (*user_model.User, error) { return user_model.GetUserByID(ctx, e, u.ID) },
			func() (*user_model.User, error) {
				m, err := user_model.GetUsersByIDs(ctx, e, []int64{u.ID, u.ID + 1000})
				if err != nil || len(m) != 1 {
					return nil, fmt.Errorf("GetUsersByIDs: %d users, %v", len(m), err)
				}
				return m[u.ID], nil
			},
		} {
			got, err := get()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, wantU) {
				t.Fatalf("plain SQL read %+v, xorm %+v", *got, wantU)
			}
		}
		var wantP packages_model.Package
		if _, err := x.ID(p.ID).Get(&wantP); err != nil {
			t.Fatal(err)
		}
		gotP, err := packages_model.GetPackageByName(ctx, e, u.ID, packages_model.TypeNpm, "LEFT-PAD")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*gotP, wantP) {
			t.Fatalf("plain SQL read %+v, xorm %+v", *gotP, wantP)
		}
		gotV, members, err := packages_model.LoadVirtual(ctx, e, u.ID+500, packages_model.TypeNpm)
		if err != nil || gotV == nil || *gotV != *vr || len(members) != 2 || members[0].Owner == nil || !reflect.DeepEqual(*members[0].Owner, wantU) ||
			members[1].Owner != nil || members[1].URL != "https://up.example/" || !members[1].AllowPrivate || members[1].Token != "t" {
			t.Fatalf("LoadVirtual read %+v %+v (%v); want the member's owner as xorm reads it: %+v", gotV, members, err, wantU)
		}
		named, err := packages_model.PackagesNamed(ctx, e, packages_model.TypeNpm, "LEFT-PAD", []int64{u.ID, u.ID + 1000})
		if err != nil || len(named) != 1 || !reflect.DeepEqual(*named[u.ID], wantP) {
			t.Fatalf("PackagesNamed read %v (%v), xorm %+v", named, err, wantP)
		}
		var wantT auth.AccessToken
		if _, err := x.ID(tok.ID).Get(&wantT); err != nil {
			t.Fatal(err)
		}
		ts, err := auth.FindByLastEight(ctx, e, "12345678")
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 1 || !reflect.DeepEqual(*ts[0], wantT) {
			t.Fatalf("plain SQL read %+v, xorm %+v", ts, wantT)
		}
		// Not found is the models' own error, not sql.ErrNoRows.
		if _, err := user_model.GetUserByName(ctx, e, "nobody"); !isNotFound(err) {
			t.Fatalf("unknown user: %v", err)
		}
		if _, err := packages_model.GetPackageByName(ctx, e, u.ID, packages_model.TypeNpm, "other"); !isNotFound(err) {
			t.Fatalf("unknown package: %v", err)
		}
		if ts, err := auth.FindByLastEight(ctx, e, "00000000"); err != nil || len(ts) != 0 {
			t.Fatalf("unknown token: %v %v", ts, err)
		}
	}
	t.Run("pool", func(t *testing.T) { check(t, d.Engine()) })
	t.Run("transaction", func(t *testing.T) {
		if err := d.WithTx(ctx, func(tx db.Engine) error {
			check(t, tx)
			// A row this transaction wrote is read by its own lookups.
			if _, err := tx.Context(ctx).Table("package").Where("id = ?", p.ID).Update(map[string]any{"stamp": 6}); err != nil {
				return err
			}
			got, err := packages_model.GetPackageByName(ctx, tx, u.ID, packages_model.TypeNpm, "left-pad")
			if err != nil {
				return err
			}
			if got.Stamp != 6 {
				t.Errorf("inside the transaction the stamp reads %d, want 6", got.Stamp)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
}

func isNotFound(err error) bool { return apperr.KindOf(err) == apperr.NotFound }

// TestGetPropertyPlain: the newest of a name's values, "" for none, and a
// NULL value read as "".
func TestGetPropertyPlain(t *testing.T) {
	ctx := context.Background()
	d := unittest.NewDB(t)
	e := d.Engine()
	for _, v := range []string{"old", "new"} {
		if err := packages_model.InsertProperty(ctx, e, packages_model.PropertyTypePackage, 9, "k", v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Xorm().Exec("INSERT INTO package_property (ref_type, ref_id, name, value) VALUES (?, ?, ?, NULL)", packages_model.PropertyTypeVersion, 9, "k"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		t    packages_model.PropertyType
		name string
		want string
	}{{packages_model.PropertyTypePackage, "k", "new"}, {packages_model.PropertyTypeVersion, "k", ""}, {packages_model.PropertyTypePackage, "other", ""}} {
		got, err := packages_model.GetProperty(ctx, e, c.t, 9, c.name)
		if err != nil || got != c.want {
			t.Fatalf("GetProperty(%d, %q) = %q, %v; want %q", c.t, c.name, got, err, c.want)
		}
	}
}

// TestOwnerDocumentStatePlain: Composer's owner stamp and the RubyGems
// versions file read by plain SQL are what xorm reads, and absent is zero
// or nil.
func TestOwnerDocumentStatePlain(t *testing.T) {
	ctx := context.Background()
	d := unittest.NewDB(t)
	e := d.Engine()
	st := &composer_model.Stamp{OwnerID: 3, ChangedUnix: 10, Serial: 4}
	vf := &rubygems_model.VersionsFile{OwnerID: 3, CreatedUnix: 1, FirstLine: 2, LastLine: 3, Size: 4, MD5: "0123456789abcdef0123456789abcdef", SHA256: "s", MD5State: "ms", SHA256State: "ss", ChangedUnix: 5}
	for _, bean := range []any{st, vf} {
		allSet(t, bean)
		if _, err := d.Xorm().Insert(bean); err != nil {
			t.Fatal(err)
		}
	}
	got, err := composer_model.GetOwnerStamp(ctx, e, 3)
	if err != nil || got != *st {
		t.Fatalf("stamp %+v, %v; want %+v", got, err, *st)
	}
	if got, err := composer_model.GetOwnerStamp(ctx, e, 4); err != nil || got != (composer_model.Stamp{OwnerID: 4}) {
		t.Fatalf("no stamp: %+v, %v", got, err)
	}
	gotF, err := rubygems_model.GetVersionsFile(ctx, e, 3)
	if err != nil || gotF == nil || *gotF != *vf {
		t.Fatalf("versions file %+v, %v; want %+v", gotF, err, *vf)
	}
	if gotF, err := rubygems_model.GetVersionsFile(ctx, e, 4); err != nil || gotF != nil {
		t.Fatalf("no versions file: %+v, %v", gotF, err)
	}
}
