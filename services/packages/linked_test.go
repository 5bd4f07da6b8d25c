package packages_test

import (
	"context"
	"slices"
	"testing"

	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/setting"
	org_service "wharf/services/org"
	repo_service "wharf/services/repository"
)

// TestLinkedRepositoriesAreCheckedOnTheirOwn: a package of one owner can be
// linked to a repository of another; who may see the package says nothing
// about the repository, whose own owner and privacy decide. The listing of
// bob's packages must not show alice's private repository, nor a public
// repository of a private organisation, to bob or to anonymous callers;
// alice and admins see them.
func TestLinkedRepositoriesAreCheckedOnTheirOwn(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, setting.Packages{})
	alice := f.user(t, "alice", false)
	bob := f.user(t, "bob", false)
	admin := f.user(t, "root", true)
	if _, err := f.orgs.Create(ctx, alice, org_service.CreateOptions{Name: "hidden", Visibility: user_model.VisibilityPrivate}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, r := range []struct {
		owner, name string
		private     bool
	}{{"alice", "secret", true}, {"alice", "open", false}, {"hidden", "pubinpriv", false}} {
		rc, err := f.repos.Create(ctx, alice, r.owner, repo_service.CreateOptions{Name: r.name, Private: r.private})
		if err != nil {
			t.Fatal(err)
		}
		ids[r.name] = rc.Repo.ID
	}
	// bob's packages, each linked to one of the repositories.
	var rows []*packages_model.VersionRow
	for _, name := range []string{"secret", "open", "pubinpriv"} {
		rows = append(rows, &packages_model.VersionRow{
			Package:        packages_model.Package{OwnerID: bob.ID, Type: packages_model.TypeGeneric, Name: "pkg-" + name, RepoID: ids[name]},
			PackageVersion: packages_model.PackageVersion{CreatorID: bob.ID, Version: "1.0"},
		})
	}
	for _, c := range []struct {
		name   string
		viewer *user_model.User
		want   []string
	}{
		{"anonymous", nil, []string{"open"}},
		{"the package's owner", bob, []string{"open"}},
		{"the repositories' owner", alice, []string{"open", "pubinpriv", "secret"}},
		{"an admin", admin, []string{"open", "pubinpriv", "secret"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := f.pkgs.Access(ctx, c.viewer, "bob")
			if err != nil {
				t.Fatal(err)
			}
			l, err := f.pkgs.LoadListing(ctx, a, rows)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rc := range l.Repos {
				got = append(got, rc.Repo.Name)
				if rc.Owner.ID != rc.Repo.OwnerID {
					t.Errorf("%s shown with owner %s", rc.Repo.FullName(), rc.Owner.Name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("listing shows %v, want %v", got, c.want)
			}
			for _, row := range rows {
				rc, err := f.pkgs.LinkedRepository(ctx, c.viewer, &row.Package)
				if err != nil {
					t.Fatal(err)
				}
				if shown := rc != nil; shown != slices.Contains(c.want, row.Package.Name[len("pkg-"):]) {
					t.Errorf("LinkedRepository(%s) = %v", row.Package.Name, rc)
				}
			}
		})
	}
}
