package cleanup_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/models/unittest"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	packages_module "wharf/modules/packages"
	"wharf/modules/storage"
	jobs_service "wharf/services/jobs"
	packages_service "wharf/services/packages"
	"wharf/services/packages/cleanup"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
)

var testNow = time.Unix(1_800_000_000, 0)

// pinFormat orders npm versions by semver and pins what pins says, as
// npm's dist-tags do.
type pinFormat struct{ pins map[int64]string }

func (pinFormat) Type() packages_model.Type       { return packages_model.TypeNpm }
func (pinFormat) CompareVersions(a, b string) int { return packages_module.CompareSemver(a, b) }
func (f pinFormat) PinnedVersions(_ context.Context, _ db.Engine, p *packages_model.Package) (map[int64]string, error) {
	return f.pins, nil
}

type fixture struct {
	db      *db.DB
	store   storage.Store
	users   *user_service.Service
	pkgs    *packages_service.Service
	cleanup *cleanup.Service
	pins    map[int64]string
	owner   *user_model.User
	jobs    *jobs_service.Runner
	uploads string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	d := unittest.NewDB(t)
	log := unittest.DiscardLogger()
	now := func() time.Time { return testNow }
	store, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: d, store: store, pins: map[int64]string{}}
	f.users = user_service.New(user_service.Deps{DB: d, Log: log, Now: now, MinPasswordLength: 8})
	repos := repo_service.New(repo_service.Deps{DB: d, Log: log, Now: now, Users: f.users, Jobs: jobs_service.NewRunner(d, log, now),
		Root: t.TempDir(), DefaultBranch: "main", RootURL: "http://localhost/"})
	f.pkgs, err = packages_service.New(packages_service.Deps{DB: d, Store: store, Log: log, Now: now, Users: f.users, Repos: repos,
		Formats: []packages_service.Format{pinFormat{pins: f.pins}}})
	if err != nil {
		t.Fatal(err)
	}
	f.jobs = jobs_service.NewRunner(d, log, now)
	f.uploads = t.TempDir()
	f.cleanup = cleanup.New(cleanup.Deps{DB: d, Store: store, Log: log, Now: now, Users: f.users, Packages: f.pkgs,
		BlobGrace: 24 * time.Hour, UploadTempPath: f.uploads, Jobs: f.jobs, Every: 24 * time.Hour})
	f.jobs.Register(cleanup.JobCleanup, f.cleanup.Job)
	f.owner, err = f.users.Create(context.Background(), user_service.CreateOptions{Name: "owner", Email: "owner@example.com", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// seed makes packages with versions of every kind (releases, pre-releases,
// snapshots), of varied ages, directly as rows; it returns them by id.
func (f *fixture) seed(t *testing.T, packages, perPackage int) map[int64]seeded {
	t.Helper()
	ctx := context.Background()
	out := map[int64]seeded{}
	e := f.db.Engine()
	for i := 0; i < packages; i++ {
		p, err := packages_model.GetOrInsertPackage(ctx, e, &packages_model.Package{OwnerID: f.owner.ID, Type: packages_model.TypeNpm, Name: fmt.Sprintf("Pkg-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < perPackage; j++ {
			var v string
			switch j % 4 {
			case 0:
				v = fmt.Sprintf("1.%d.0", j)
			case 1:
				v = fmt.Sprintf("1.%d.0-beta.1", j)
			case 2:
				v = fmt.Sprintf("0.0.%d-SNAPSHOT", j)
			default:
				v = fmt.Sprintf("2.0.%d", j)
			}
			// Ages from 0 to ~60 days, not in version order.
			age := time.Duration((j*37)%60) * 24 * time.Hour
			pv := &packages_model.PackageVersion{PackageID: p.ID, Version: v, CreatedUnix: testNow.Add(-age).Unix()}
			if err := packages_model.InsertVersion(ctx, e, pv); err != nil {
				t.Fatal(err)
			}
			out[pv.ID] = seeded{pkg: p, pv: pv}
			if j%11 == 5 {
				f.pins[pv.ID] = "the dist-tag latest points at it"
			}
		}
	}
	return out
}

type seeded struct {
	pkg *packages_model.Package
	pv  *packages_model.PackageVersion
}

// oracle is the rule's meaning written out independently: what must go.
func oracle(t *testing.T, all map[int64]seeded, r *packages_model.CleanupRule, pins map[int64]string) []int64 {
	byPkg := map[int64][]*packages_model.PackageVersion{}
	names := map[int64]string{}
	for _, s := range all {
		byPkg[s.pkg.ID] = append(byPkg[s.pkg.ID], s.pv)
		names[s.pkg.ID] = strings.ToLower(s.pkg.Name)
	}
	anch := func(p string) *regexp.Regexp {
		if p == "" {
			return nil
		}
		return regexp.MustCompile(`(?i)^(?:` + p + `)$`)
	}
	keep, remove := anch(r.KeepPattern), anch(r.RemovePattern)
	var out []int64
	for pid, vs := range byPkg {
		slices.SortFunc(vs, func(a, b *packages_model.PackageVersion) int {
			return packages_module.CompareSemver(b.Version, a.Version)
		})
		for i, pv := range vs {
			m := strings.ToLower(pv.Version)
			if r.MatchFullName {
				m = names[pid] + "/" + m
			}
			switch {
			case i < r.KeepCount:
			case keep != nil && keep.MatchString(m):
			case testNow.Sub(time.Unix(pv.CreatedUnix, 0)) < time.Duration(r.RemoveDays)*24*time.Hour:
			case remove != nil && !remove.MatchString(m):
			case pins[pv.ID] != "":
			default:
				out = append(out, pv.ID)
			}
		}
	}
	slices.Sort(out)
	return out
}

func ids(cs []cleanup.Candidate) []int64 {
	out := make([]int64, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.VersionID)
	}
	slices.Sort(out)
	return out
}

func ptr[T any](v T) *T { return &v }

// TestPreviewEqualsRun runs the rule matrix over hundreds of versions:
// for each rule the preview is the oracle's list, and the run removes
// exactly the preview's versions and nothing else.
func TestPreviewEqualsRun(t *testing.T) {
	cases := []struct {
		name string
		o    cleanup.RuleOptions
	}{
		{"disabled rule, no terms", cleanup.RuleOptions{}},
		{"keep count", cleanup.RuleOptions{KeepCount: ptr(10)}},
		{"keep pattern", cleanup.RuleOptions{KeepPattern: ptr(`\d+\.\d+\.\d+`)}},
		{"remove days", cleanup.RuleOptions{RemoveDays: ptr(30)}},
		{"remove pattern", cleanup.RuleOptions{RemovePattern: ptr(`.*-snapshot`)}},
		{"full name", cleanup.RuleOptions{MatchFullName: ptr(true), RemovePattern: ptr(`pkg-1/.*`)}},
		{"full name pattern does not match the bare version", cleanup.RuleOptions{MatchFullName: ptr(true), RemovePattern: ptr(`1\..*`)}},
		{"prereleases", cleanup.RuleOptions{RemovePattern: ptr(`.*-beta\.\d+`), KeepCount: ptr(3)}},
		{"mixed", cleanup.RuleOptions{KeepCount: ptr(5), KeepPattern: ptr(`2\.0\.\d+`), RemoveDays: ptr(20), RemovePattern: ptr(`.*-(snapshot|beta\.1)`)}},
		{"keep more than there are", cleanup.RuleOptions{KeepCount: ptr(1000)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			all := f.seed(t, 4, 80) // 320 versions
			tc.o.Type = ptr("npm")
			rule, err := f.cleanup.CreateRule(ctx, f.owner, "owner", tc.o)
			if err != nil {
				t.Fatal(err)
			}
			want := oracle(t, all, rule, f.pins)
			if (len(want) == 0) != (tc.name == "keep more than there are" || strings.HasPrefix(tc.name, "full name pattern")) || len(want) == len(all) {
				t.Fatalf("the case selects %d of %d versions: it tests nothing", len(want), len(all))
			}
			prev, err := f.cleanup.Preview(ctx, f.owner, "owner", rule.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(prev.Remove); !slices.Equal(got, want) {
				t.Fatalf("preview removes %d versions, the rule means %d:\n got %v\nwant %v", len(got), len(want), got, want)
			}
			for _, k := range prev.Kept {
				if f.pins[k.VersionID] == "" || k.Reason != f.pins[k.VersionID] {
					t.Errorf("kept %s@%s for %q: not a pinned version", k.Package, k.Version, k.Reason)
				}
			}
			ran, err := f.cleanup.Run(ctx, f.owner, "owner", rule.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(ran.Remove); !slices.Equal(got, want) {
				t.Fatalf("run removed %v, preview said %v", got, want)
			}
			for id, s := range all {
				_, err := packages_model.GetVersionByID(ctx, f.db.Engine(), id)
				gone := apperr.KindOf(err) == apperr.NotFound
				if err != nil && !gone {
					t.Fatal(err)
				}
				if gone != slices.Contains(want, id) {
					t.Errorf("%s@%s: gone=%v, in preview=%v", s.pkg.Name, s.pv.Version, gone, !gone)
				}
			}
			again, err := f.cleanup.Preview(ctx, f.owner, "owner", rule.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Remove) != 0 {
				t.Errorf("after the run the preview still removes %d versions", len(again.Remove))
			}
		})
	}
}

func TestRulePatternsCompileOnSave(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for field, o := range map[string]cleanup.RuleOptions{
		"keep_pattern":   {Type: ptr("npm"), KeepPattern: ptr(`(`)},
		"remove_pattern": {Type: ptr("npm"), RemovePattern: ptr(`[a-`)},
		"keep_count":     {Type: ptr("npm"), KeepCount: ptr(-1)},
		"type":           {Type: ptr("nope")},
	} {
		_, err := f.cleanup.CreateRule(ctx, f.owner, "owner", o)
		if apperr.KindOf(err) != apperr.Unprocessable || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want Unprocessable naming the field", field, err)
		}
	}
	r, err := f.cleanup.CreateRule(ctx, f.owner, "owner", cleanup.RuleOptions{Type: ptr("npm")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cleanup.UpdateRule(ctx, f.owner, "owner", r.ID, cleanup.RuleOptions{RemovePattern: ptr(`*`)}); apperr.KindOf(err) != apperr.Unprocessable {
		t.Errorf("update with a bad pattern: %v", err)
	}
	if _, err := f.cleanup.CreateRule(ctx, f.owner, "owner", cleanup.RuleOptions{Type: ptr("npm")}); apperr.KindOf(err) != apperr.Conflict {
		t.Errorf("a second npm rule: %v", err)
	}
}
