package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	packages_service "wharf/services/packages"
)

// bulkVersions inserts n versions (1.0.0 … of a generic package) without
// files, in multi-row inserts of a few hundred rows: tens of thousands in
// a second or two, for the pages' cost with very many versions. It
// returns the package.
func bulkVersions(t *testing.T, s *server, owner, name string, n int) *packages_model.Package {
	t.Helper()
	ctx := context.Background()
	o, err := s.App.Users.GetByName(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	var p *packages_model.Package
	err = s.App.DB.WithTx(ctx, func(tx db.Engine) error {
		if p, err = packages_model.GetOrInsertPackage(ctx, tx, &packages_model.Package{OwnerID: o.ID, Type: packages_model.TypeGeneric, Name: name}); err != nil {
			return err
		}
		const chunk = 500 // 8 columns a row: far below any variable limit
		for from := 0; from < n; from += chunk {
			rows := make([]*packages_model.PackageVersion, 0, chunk)
			for i := from; i < min(from+chunk, n); i++ {
				v := fmt.Sprintf("1.%d.%d", i/1000, i%1000)
				rows = append(rows, &packages_model.PackageVersion{PackageID: p.ID, CreatorID: o.ID, Version: v, LowerVersion: v, CreatedUnix: 1_700_000_000 + int64(i)})
			}
			if _, err := tx.Context(ctx).Insert(&rows); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWebListsWithManyVersions: a package with more versions than the
// database binds variables in one statement (SQLite 32,766, PostgreSQL
// 65,535) leaves the home page, the owner's packages and the package's
// versions answering 200, and the yanked highest version is not the
// latest they show.
func TestWebListsWithManyVersions(t *testing.T) {
	s := newServer(t)
	n := 33_000
	if s.App.DB.Type() == "postgres" {
		n = 66_000
	}
	p := bulkVersions(t, s, "root", "big", n)
	top := fmt.Sprintf("1.%d.%d", (n-1)/1000, (n-1)%1000)
	next := fmt.Sprintf("1.%d.%d", (n-2)/1000, (n-2)%1000)
	ctx := context.Background()
	pv, err := packages_model.GetVersion(ctx, s.App.DB.Engine(), p.ID, top)
	if err != nil {
		t.Fatal(err)
	}
	if err := packages_model.SetProperty(ctx, s.App.DB.Engine(), packages_model.PropertyTypeVersion, pv.ID, packages_service.PropYanked, "true"); err != nil {
		t.Fatal(err)
	}
	w := newWebClient(t, s.URL)
	w.signIn("root", "root-password")
	for _, path := range []string{"/", "/root/-/packages", "/root/-/packages/generic/big"} {
		r := w.get(path)
		if r.Status != http.StatusOK {
			t.Fatalf("%s with %d versions: %d %s", path, n, r.Status, pageText(r.Body))
		}
		if !strings.Contains(r.Body, "big") {
			t.Fatalf("%s does not list the package: %s", path, pageText(r.Body))
		}
	}
	r := w.get("/root/-/packages")
	if !strings.Contains(r.Body, next) || strings.Contains(r.Body, top) {
		t.Fatalf("the packages page should show %s as the latest, not the yanked %s: %s", next, top, pageText(r.Body))
	}
}

// TestWebRepositoryListsCostNoQueryPerRow: the lists of repositories
// (an organisation's page, explore, home, a package's settings) cost as
// many queries with 12 repositories as with 2, for a read member of the
// organisation and for its owner.
func TestWebRepositoryListsCostNoQueryPerRow(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	aliceH := basic("alice", "alice-password")
	if status, _, body := s.do(t, "POST", "/api/v1/orgs", `{"username":"acme"}`, aliceH); status != http.StatusCreated {
		t.Fatalf("create org: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/v1/orgs/acme/members/bob", `{"role":"read"}`, aliceH); status != http.StatusNoContent {
		t.Fatalf("add bob: %d %s", status, body)
	}
	s.putGenericFile(t, "acme", "kit", "1.0.0", aliceH)
	q := &queryCounter{}
	s.App.DB.Xorm().AddHook(q)
	bob, alice := newWebClient(t, s.URL), newWebClient(t, s.URL)
	bob.signIn("bob", "bob-password")
	alice.signIn("alice", "alice-password")
	pages := []struct {
		who  *webClient
		path string
	}{
		{bob, "/acme"},
		{bob, "/explore/repos"},
		{bob, "/"},
		{alice, "/acme/-/packages/generic/kit/settings"},
	}
	costs := func() []int64 {
		out := make([]int64, len(pages))
		for i, pg := range pages {
			before := q.n.Load()
			r := pg.who.get(pg.path)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", pg.path, r.Status, pageText(r.Body))
			}
			out[i] = q.n.Load() - before
		}
		return out
	}
	made := 0
	grow := func(to int) {
		for ; made < to; made++ {
			name := fmt.Sprintf("r%02d", made)
			if status, _, body := s.do(t, "POST", "/api/v1/orgs/acme/repos", fmt.Sprintf(`{"name":%q,"private":%t}`, name, made%2 == 0), aliceH); status != http.StatusCreated {
				t.Fatalf("create repository %s: %d %s", name, status, body)
			}
		}
	}
	grow(2)
	few := costs()
	grow(12)
	many := costs()
	for i, pg := range pages {
		t.Logf("%s: %d queries with 2 repositories, %d with 12", pg.path, few[i], many[i])
		if few[i] != many[i] {
			t.Errorf("%s costs %d queries with 2 repositories and %d with 12", pg.path, few[i], many[i])
		}
	}
}
