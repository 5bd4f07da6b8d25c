package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	packages_model "wharf/models/packages"
	rubygems_model "wharf/models/packages/rubygems"
	rubygems_module "wharf/modules/packages/rubygems"
	"wharf/modules/packages/rubygems/gemtest"
	rubygems_service "wharf/services/packages/rubygems"
)

// seedGems inserts gems with versions each straight into the database, as
// pushes would have stored them (a file per version with its info line),
// then rebuilds the owner's index from them: quick to make thousands, for
// tests and benchmarks. Version i of a gem is 1.<i/100>.<i%100>.
func seedGems(t testing.TB, s *server, owner string, gems, versions int) {
	t.Helper()
	ctx := context.Background()
	o, err := s.App.Users.GetByName(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	err = s.App.DB.WithTx(ctx, func(tx db.Engine) error {
		blob, err := packages_model.GetOrInsertBlob(ctx, tx, &packages_model.PackageBlob{Size: 1, HashMD5: strings.Repeat("0", 32),
			HashSHA1: strings.Repeat("1", 40), HashSHA256: strings.Repeat("2", 64), HashSHA512: strings.Repeat("3", 128)})
		if err != nil {
			return err
		}
		for g := range gems {
			name := fmt.Sprintf("gem%05d", g)
			if gems == 1 {
				name = "big"
			}
			p, err := packages_model.GetOrInsertPackage(ctx, tx, &packages_model.Package{OwnerID: o.ID, Type: packages_model.TypeRubyGems, Name: name})
			if err != nil {
				return err
			}
			for i := range versions {
				v := fmt.Sprintf("1.%d.%d", i/100, i%100)
				pv := &packages_model.PackageVersion{PackageID: p.ID, CreatorID: o.ID, Version: v, MetadataJSON: "{}", CreatedUnix: 1_700_000_000 + int64(i)}
				if err := packages_model.InsertVersion(ctx, tx, pv); err != nil {
					return err
				}
				f := &packages_model.PackageFile{VersionID: pv.ID, BlobID: blob.ID, Name: rubygems_module.FileName(name, v, "ruby"), IsLead: true}
				if err := packages_model.InsertFile(ctx, tx, f); err != nil {
					return err
				}
				line := rubygems_module.InfoLine(rubygems_module.InfoVersion{Version: v, Platform: "ruby",
					Dependencies: []rubygems_module.Dependency{{Name: "rake", Requirements: []string{">= 12.0", "< 14"}, Type: "runtime"}},
					Checksum:     strings.Repeat("2", 64), RequiredRuby: []string{">= 2.7.0"}})
				if err := packages_model.InsertProperty(ctx, tx, packages_model.PropertyTypeFile, f.ID, rubygems_model.PropInfo, line); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.RubyGems.RebuildIndex(ctx, o); err != nil {
		t.Fatal(err)
	}
}

// TestRubyGemsIndexQueriesAreConstant: info/{name} costs the same number of
// queries for 3 versions as for 300, and versions the same for 3 gems as
// for 300, read in full from the database, from the process's memory, or
// revalidated (304).
func TestRubyGemsIndexQueriesAreConstant(t *testing.T) {
	s := newServer(t)
	for _, u := range []string{"few", "many", "small", "large"} {
		s.createUser(t, u)
	}
	seedGems(t, s, "few", 3, 1)
	seedGems(t, s, "many", 300, 1)
	seedGems(t, s, "small", 1, 3)
	seedGems(t, s, "large", 1, 300)
	q := &queryCounter{}
	s.App.DB.Xorm().AddHook(q)
	count := func(path string, h map[string]string, want int) (int64, http.Header, string) {
		t.Helper()
		before := q.n.Load()
		status, hdr, body := s.do(t, "GET", path, "", h)
		if status != want {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		return q.n.Load() - before, hdr, body
	}
	for _, c := range []struct{ what, small, large string }{
		{"info", gemsPath("small") + "info/big", gemsPath("large") + "info/big"},
		{"versions", gemsPath("few") + "versions", gemsPath("many") + "versions"},
	} {
		small, hs, bodySmall := count(c.small, nil, 200)
		large, hl, bodyLarge := count(c.large, nil, 200)
		if strings.Count(bodyLarge, "\n") < 300 || strings.Count(bodySmall, "\n") > 10 {
			t.Fatalf("%s: %d and %d lines", c.what, strings.Count(bodySmall, "\n"), strings.Count(bodyLarge, "\n"))
		}
		t.Logf("%s read from the database costs %d queries", c.what, large)
		if small != large || large > 5 {
			t.Errorf("%s: %d queries small, %d large", c.what, small, large)
		}
		cachedSmall, _, _ := count(c.small, nil, 200)
		cachedLarge, _, _ := count(c.large, nil, 200)
		t.Logf("%s kept in memory costs %d queries", c.what, cachedLarge)
		if cachedSmall != cachedLarge || cachedLarge >= large {
			t.Errorf("%s in memory: %d queries small, %d large (%d from the database)", c.what, cachedSmall, cachedLarge, large)
		}
		nmSmall, _, _ := count(c.small, map[string]string{"If-None-Match": hs.Get("ETag")}, 304)
		nmLarge, _, _ := count(c.large, map[string]string{"If-None-Match": hl.Get("ETag")}, 304)
		t.Logf("%s revalidated costs %d queries", c.what, nmLarge)
		if nmSmall != nmLarge || nmLarge >= large {
			t.Errorf("%s 304: %d queries small, %d large", c.what, nmSmall, nmLarge)
		}
	}
}

// TestRubyGemsVersionsCompaction: once superseded lines dominate the
// versions file (CompactMinLines lines, at least twice the gems that list
// a version), the change that crosses the mark queues its rebuild; the
// job writes one line per gem under a new created_at, and a client's copy
// (kept as Bundler keeps it) fails its check once and is fetched whole.
func TestRubyGemsVersionsCompaction(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	b, _ := gemFixture(t, "tiny-0.1.2.gem")
	s.mustPushGem(t, "alice", key, b)
	ctx := context.Background()
	alice, err := s.App.Users.GetByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.App.Packages.AccessTo(ctx, alice, alice)
	if err != nil {
		t.Fatal(err)
	}
	_, pv, err := s.App.Packages.GetVersion(ctx, a, packages_model.TypeRubyGems, "tiny", "0.1.2")
	if err != nil {
		t.Fatal(err)
	}
	client := &bundlerCopy{s: s, path: gemsPath("alice") + "versions"}
	client.refresh(t)
	// Each yank and unyank appends a line: the file reaches the mark.
	for i := 1; i <= rubygems_service.CompactMinLines; i++ {
		if err := s.App.Packages.SetYanked(ctx, a, pv, i%2 == 1); err != nil {
			t.Fatal(err)
		}
	}
	if got := client.refresh(t); len(got) != 1 || got[0] != http.StatusPartialContent {
		t.Fatalf("an append: %v", got)
	}
	if n := strings.Count(string(client.body), "\n"); n != rubygems_service.CompactMinLines+3 {
		t.Fatalf("versions holds %d lines", n)
	}
	payload := fmt.Sprintf(`{"owner_id":%d}`, alice.ID)
	if queued, err := jobs_model.HasPendingOfKind(ctx, s.App.DB.Engine(), rubygems_service.JobCompactVersions, payload); err != nil || !queued {
		t.Fatalf("no rebuild queued (%v)", err)
	}
	if _, err := s.App.Jobs.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := client.refresh(t); len(got) != 2 || got[1] != http.StatusOK {
		t.Errorf("the first read after the rebuild: %v, want the whole file after a failed append", got)
	}
	_, spec := gemFixture(t, "tiny-0.1.2.gem")
	want := "tiny 0.1.2 " + md5Hex([]byte(infoOf(pushedGem{b, spec}))) + "\n"
	if body := string(client.body); !createdAt.MatchString(body) || createdAt.ReplaceAllString(body, "") != want {
		t.Errorf("the rebuilt versions file:\n%s", body)
	}
	// Not due any more: nothing queued by the next change.
	if err := s.App.Packages.SetYanked(ctx, a, pv, true); err != nil {
		t.Fatal(err)
	}
	if queued, err := jobs_model.HasPendingOfKind(ctx, s.App.DB.Engine(), rubygems_service.JobCompactVersions, payload); err != nil || queued {
		t.Errorf("a rebuild queued after one more change (%v)", err)
	}
}

// TestRubyGemsConcurrentPushes: pushes of several gems of one owner at
// once (and yanks among them) each append their line: the versions file
// served is the header and one line per change, its ETag the MD5 of that
// body, and every gem's last line names its current info body.
func TestRubyGemsConcurrentPushes(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	const gems, versions = 6, 4
	var wg sync.WaitGroup
	errs := make(chan string, gems*versions)
	for g := range gems {
		wg.Go(func() {
			for v := range versions {
				name := fmt.Sprintf("conc%d", g)
				gem := gemtest.Gem(gemtest.Metadata(name, fmt.Sprintf("1.0.%d", v)))
				if status, body := s.pushGem(t, "alice", key, gem); status != http.StatusOK {
					errs <- fmt.Sprintf("push %s: %d %s", name, status, body)
				}
				if v == 1 {
					if status, body := s.yankGem(t, "alice", key, url.Values{"gem_name": {name}, "version": {"1.0.0"}}); status != http.StatusOK {
						errs <- fmt.Sprintf("yank %s: %d %s", name, status, body)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	status, hdr, body := s.do(t, "GET", gemsPath("alice")+"versions", "", nil)
	if status != http.StatusOK {
		t.Fatal(status)
	}
	checkCompactHeaders(t, "versions", hdr, body)
	lines := strings.Split(strings.TrimSuffix(createdAt.ReplaceAllString(body, ""), "\n"), "\n")
	if len(lines) != gems*(versions+1) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), gems*(versions+1), body)
	}
	last := map[string]string{}
	for _, l := range lines {
		f := strings.Fields(l)
		last[f[0]] = f[2]
	}
	for g := range gems {
		name := fmt.Sprintf("conc%d", g)
		_, _, info := s.do(t, "GET", gemsPath("alice")+"info/"+name, "", nil)
		if last[name] != md5Hex([]byte(info)) || strings.Count(info, "\n") != versions {
			t.Errorf("%s: last line's MD5 %s, info (%s):\n%s", name, last[name], md5Hex([]byte(info)), info)
		}
	}
}
