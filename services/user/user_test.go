package user_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wharf/models/db"
	"wharf/models/unittest"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	org_service "wharf/services/org"
	user_service "wharf/services/user"
)

type fixture struct {
	users *user_service.Service
	orgs  *org_service.Service
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	d := unittest.NewDB(t)
	f := &fixture{now: time.Unix(1_800_000_000, 0)}
	clock := func() time.Time { return f.now }
	f.users = user_service.New(user_service.Deps{DB: d, Log: unittest.DiscardLogger(), Now: clock, MinPasswordLength: 8})
	f.orgs = org_service.New(org_service.Deps{DB: d, Now: clock, Users: f.users})
	return f
}

func (f *fixture) mustCreate(t *testing.T, name string, admin bool) *user_model.User {
	t.Helper()
	u, err := f.users.Create(context.Background(), user_service.CreateOptions{Name: name, Email: name + "@example.com", Password: "password1", Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func wantKind(t *testing.T, err error, kind apperr.Kind) {
	t.Helper()
	if apperr.KindOf(err) != kind {
		t.Fatalf("err = %v (%v), want kind %v", err, apperr.KindOf(err), kind)
	}
}

func TestCreateValidates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustCreate(t, "Alice", false)
	cases := []struct {
		name string
		opts user_service.CreateOptions
	}{
		{"taken name, other case", user_service.CreateOptions{Name: "alice", Email: "a2@example.com", Password: "password1"}},
		{"taken e-mail, other case", user_service.CreateOptions{Name: "alice2", Email: "ALICE@example.com", Password: "password1"}},
		{"reserved", user_service.CreateOptions{Name: "api", Email: "x@example.com", Password: "password1"}},
		{"too long", user_service.CreateOptions{Name: strings.Repeat("x", 41), Email: "x@example.com", Password: "password1"}},
		{"bad chars", user_service.CreateOptions{Name: "a/b", Email: "x@example.com", Password: "password1"}},
		{"short password", user_service.CreateOptions{Name: "bob", Email: "bob@example.com", Password: "short"}},
		{"bad e-mail", user_service.CreateOptions{Name: "bob", Email: "bob", Password: "password1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.users.Create(ctx, c.opts)
			wantKind(t, err, apperr.Unprocessable)
		})
	}
}

func TestConcurrentCreateOneWinner(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.users.Create(context.Background(), user_service.CreateOptions{Name: "racer", Email: "racer@example.com", Password: "password1"})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantKind(t, err, apperr.Unprocessable)
	}
	if wins != 1 {
		t.Fatalf("%d creations succeeded, want exactly 1", wins)
	}
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, "carol", false)
	got, err := f.users.Authenticate(ctx, "CAROL", "password1")
	if err != nil || got.ID != u.ID {
		t.Fatalf("Authenticate = %v, %v", got, err)
	}
	_, err = f.users.Authenticate(ctx, "carol", "password2")
	if !errors.Is(err, user_service.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	_, err = f.users.Authenticate(ctx, "nobody", "password1")
	if !errors.Is(err, user_service.ErrBadCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	o, err := f.orgs.Create(ctx, u, org_service.CreateOptions{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.users.Authenticate(ctx, o.Name, ""); !errors.Is(err, user_service.ErrBadCredentials) {
		t.Fatalf("an organisation must not sign in: %v", err)
	}
	if _, err := f.users.Create(ctx, user_service.CreateOptions{Name: "dave", Email: "dave@example.com", Password: "password1", Inactive: true}); err != nil {
		t.Fatal(err)
	}
	_, err = f.users.Authenticate(ctx, "dave", "password1")
	wantKind(t, err, apperr.Forbidden)

	if err := f.users.ChangePassword(ctx, "carol", "new-password", false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.users.Authenticate(ctx, "carol", "password1"); err == nil {
		t.Fatal("old password still works")
	}
	if _, err := f.users.Authenticate(ctx, "carol", "new-password"); err != nil {
		t.Fatal(err)
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, "erin", false)
	tok, plain, err := f.users.CreateToken(ctx, u, "ci", []string{"read:package", "write:repository"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenHash == plain || strings.Contains(tok.TokenHash, plain) || tok.TokenLastEight != plain[32:] {
		t.Fatal("the token must be stored hashed, with only its last eight characters in clear")
	}
	got, set, err := f.users.AuthenticateToken(ctx, plain)
	if err != nil || got.ID != u.ID {
		t.Fatalf("AuthenticateToken = %v, %v", got, err)
	}
	if !set.Has(scope.Package, scope.Read) || set.Has(scope.Package, scope.Write) || !set.Has(scope.Repository, scope.Write) {
		t.Fatalf("scopes = %s", set)
	}
	if _, _, err := f.users.AuthenticateToken(ctx, plain[:39]+"x"); !errors.Is(err, user_service.ErrBadToken) {
		t.Fatalf("tampered token: %v", err)
	}
	_, _, err = f.users.CreateToken(ctx, u, "ci", []string{"all"})
	wantKind(t, err, apperr.Unprocessable)
	_, _, err = f.users.CreateToken(ctx, u, "bad", []string{"root"})
	wantKind(t, err, apperr.Invalid)
	_, _, err = f.users.CreateToken(ctx, u, "none", nil)
	wantKind(t, err, apperr.Invalid)

	f.now = f.now.Add(time.Hour)
	if _, _, err := f.users.AuthenticateToken(ctx, plain); err != nil {
		t.Fatal(err)
	}
	list, total, err := f.users.ListTokens(ctx, u, db.ListOptions{Page: 1, PageSize: 10})
	if err != nil || total != 1 || len(list) != 1 || list[0].UpdatedUnix != f.now.Unix() {
		t.Fatalf("ListTokens = %v, %d, %v; last use must be recorded", list, total, err)
	}

	// Delete by name, then by id.
	_, plain2, err := f.users.CreateToken(ctx, u, "deploy", []string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.users.DeleteToken(ctx, u, "deploy"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.users.AuthenticateToken(ctx, plain2); err == nil {
		t.Fatal("deleted token still works")
	}
	if err := f.users.DeleteToken(ctx, u, itoa(tok.ID)); err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.users.DeleteToken(ctx, u, itoa(tok.ID)), apperr.NotFound)
	other := f.mustCreate(t, "frank", false)
	_, _, err = f.users.CreateToken(ctx, other, "x", []string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.users.DeleteToken(ctx, u, "x"), apperr.NotFound)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDeleteRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.mustCreate(t, "root", true)
	owner := f.mustCreate(t, "grace", false)
	member := f.mustCreate(t, "heidi", false)
	o, err := f.orgs.Create(ctx, owner, org_service.CreateOptions{Name: "widgets"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.orgs.SetMember(ctx, owner, o.Name, member.Name, 2); err != nil {
		t.Fatal(err)
	}
	err = f.users.Delete(ctx, "grace")
	wantKind(t, err, apperr.Unprocessable)
	if !strings.Contains(err.Error(), "widgets") {
		t.Fatalf("the refusal must name what blocks it: %v", err)
	}
	if _, _, err := f.users.CreateToken(ctx, member, "t", []string{"all"}); err != nil {
		t.Fatal(err)
	}
	if err := f.users.Delete(ctx, "heidi"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.users.GetByName(ctx, "heidi"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("deleted user still found: %v", err)
	}
	err = f.users.Delete(ctx, admin.Name)
	wantKind(t, err, apperr.Unprocessable)
	if !strings.Contains(err.Error(), "last active administrator") {
		t.Fatalf("err = %v", err)
	}
	wantKind(t, f.users.Delete(ctx, "widgets"), apperr.Unprocessable)
	wantKind(t, f.users.Delete(ctx, "nobody"), apperr.NotFound)
	if err := f.orgs.Delete(ctx, owner, "widgets"); err != nil {
		t.Fatal(err)
	}
	if err := f.users.Delete(ctx, "grace"); err != nil {
		t.Fatalf("after the org is gone: %v", err)
	}
}

func TestBootstrap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, err := f.users.Bootstrap(ctx, "first", "first@example.com", "")
	if err != nil || a == nil {
		t.Fatalf("Bootstrap = %v, %v", a, err)
	}
	if !a.User.IsAdmin || len(a.Password) < 16 || len(a.Token) != 40 {
		t.Fatalf("bootstrap admin: %+v", a)
	}
	if _, err := f.users.Authenticate(ctx, "first", a.Password); err != nil {
		t.Fatal(err)
	}
	u, set, err := f.users.AuthenticateToken(ctx, a.Token)
	if err != nil || u.ID != a.User.ID || !set.Has(scope.Admin, scope.Write) {
		t.Fatalf("bootstrap token: %v %v", u, err)
	}
	again, err := f.users.Bootstrap(ctx, "second", "second@example.com", "password1")
	if err != nil || again != nil {
		t.Fatalf("a second bootstrap must do nothing: %v, %v", again, err)
	}
}

func TestVisibility(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.mustCreate(t, "root", true)
	owner := f.mustCreate(t, "ivan", false)
	member := f.mustCreate(t, "judy", false)
	stranger := f.mustCreate(t, "mallory", false)
	priv, err := f.orgs.Create(ctx, owner, org_service.CreateOptions{Name: "secret", Visibility: user_model.VisibilityPrivate})
	if err != nil {
		t.Fatal(err)
	}
	lim, err := f.orgs.Create(ctx, owner, org_service.CreateOptions{Name: "internal", Visibility: user_model.VisibilityLimited})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.orgs.SetMember(ctx, owner, "secret", "judy", 1); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		viewer *user_model.User
		org    *user_model.User
		want   bool
	}{
		{nil, priv, false}, {stranger, priv, false}, {member, priv, true}, {owner, priv, true}, {admin, priv, true},
		{nil, lim, false}, {stranger, lim, true},
	}
	for _, c := range cases {
		got, err := f.users.CanSee(ctx, c.viewer, c.org)
		if err != nil || got != c.want {
			name := "anonymous"
			if c.viewer != nil {
				name = c.viewer.Name
			}
			t.Errorf("CanSee(%s, %s) = %v, %v; want %v", name, c.org.Name, got, err, c.want)
		}
	}
	_, err = f.orgs.Get(ctx, stranger, "secret")
	wantKind(t, err, apperr.NotFound)
	orgs, total, err := f.orgs.ListVisible(ctx, stranger, db.ListOptions{Page: 1, PageSize: 10})
	if err != nil || total != 1 || len(orgs) != 1 || orgs[0].Name != "internal" {
		t.Fatalf("stranger sees %v (%d)", orgs, total)
	}
	orgs, total, err = f.orgs.ListForUser(ctx, member, "judy", db.ListOptions{Page: 1, PageSize: 10})
	if err != nil || total != 1 || orgs[0].Name != "secret" {
		t.Fatalf("member's own orgs: %v (%d) %v", orgs, total, err)
	}
	orgs, total, err = f.orgs.ListForUser(ctx, stranger, "judy", db.ListOptions{Page: 1, PageSize: 10})
	if err != nil || total != 0 || len(orgs) != 0 {
		t.Fatalf("a stranger must not see judy's private org: %v (%d) %v", orgs, total, err)
	}
}
