package migrations_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"wharf/models/auth"
	"wharf/models/db"
	"wharf/models/jobs"
	"wharf/models/migrations"
	"wharf/models/organization"
	"wharf/models/packages"
	cargo "wharf/models/packages/cargo"
	composer "wharf/models/packages/composer"
	goproxy "wharf/models/packages/go"
	npm "wharf/models/packages/npm"
	rubygems "wharf/models/packages/rubygems"
	"wharf/models/repo"
	"wharf/models/unittest"
	"wharf/models/user"
)

// TestSchemaMatchesModels proves the migration steps build exactly the
// tables, columns and indexes the models expect, so that no code relies on
// auto-sync to paper over a missing step.
func TestSchemaMatchesModels(t *testing.T) {
	d := unittest.NewDB(t)
	x := d.Xorm()
	metas, err := x.DBMetas()
	if err != nil {
		t.Fatal(err)
	}
	actual := map[string][]string{}
	actualIdx := map[string][]string{}
	for _, tb := range metas {
		actual[tb.Name] = tb.ColumnsSeq()
		for _, idx := range tb.Indexes {
			actualIdx[tb.Name] = append(actualIdx[tb.Name], indexKey(idx.Type, idx.Cols))
		}
	}
	var beans []any
	beans = append(beans, user.Tables()...)
	beans = append(beans, organization.Tables()...)
	beans = append(beans, auth.Tables()...)
	beans = append(beans, repo.Tables()...)
	beans = append(beans, packages.Tables()...)
	beans = append(beans, packages.CleanupTables()...)
	beans = append(beans, packages.VirtualTables()...)
	beans = append(beans, jobs.Tables()...)
	beans = append(beans, composer.Tables()...)
	beans = append(beans, goproxy.Tables()...)
	beans = append(beans, npm.Tables()...)
	beans = append(beans, cargo.Tables()...)
	beans = append(beans, rubygems.Tables()...)
	for _, b := range beans {
		want, err := x.TableInfo(b)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := actual[want.Name]
		if !ok {
			t.Errorf("table %s: no migration creates it", want.Name)
			continue
		}
		wc, gc := slices.Clone(want.ColumnsSeq()), slices.Clone(got)
		slices.Sort(wc)
		slices.Sort(gc)
		if !slices.Equal(wc, gc) {
			t.Errorf("table %s: model columns %v, migrated columns %v", want.Name, wc, gc)
		}
		for _, idx := range want.Indexes {
			k := indexKey(idx.Type, idx.Cols)
			if !slices.Contains(actualIdx[want.Name], k) {
				t.Errorf("table %s: index %s missing after migration (have %v)", want.Name, k, actualIdx[want.Name])
			}
		}
	}
	v := &migrations.Version{}
	if _, err := x.ID(1).Get(v); err != nil || v.Version != migrations.LatestVersion() {
		t.Fatalf("version = %d, %v; want %d", v.Version, err, migrations.LatestVersion())
	}
}

func indexKey(typ int, cols []string) string {
	c := slices.Clone(cols)
	slices.Sort(c)
	kind := "index"
	if typ == 2 {
		kind = "unique"
	}
	return kind + "(" + strings.Join(c, ",") + ")"
}

func TestMigrateIsIdempotentAndRefusesNewer(t *testing.T) {
	d := unittest.NewDB(t)
	ctx := context.Background()
	if err := migrations.Migrate(ctx, d, unittest.DiscardLogger()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if _, err := d.Xorm().ID(1).Cols("version").Update(&migrations.Version{Version: migrations.LatestVersion() + 1}); err != nil {
		t.Fatal(err)
	}
	err := migrations.Migrate(ctx, d, unittest.DiscardLogger())
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("migrate on a newer schema: %v", err)
	}
}

func TestConcurrentMigrate(t *testing.T) {
	cfg := unittest.DatabaseConfig(t)
	ctx := context.Background()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			d, err := db.Open(ctx, cfg)
			if err != nil {
				errs <- err
				return
			}
			defer d.Close()
			errs <- migrations.Migrate(ctx, d, unittest.DiscardLogger())
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestV6MovesDistTags: npm dist-tags stored as version properties by
// schema 5 move to npm_dist_tag, the newest row winning where a tag was on
// two versions; other properties stay.
func TestV6MovesDistTags(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, unittest.DatabaseConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := migrations.MigrateTo(ctx, d, unittest.DiscardLogger(), 5); err != nil {
		t.Fatal(err)
	}
	x := d.Xorm()
	for _, q := range []string{
		`INSERT INTO package (id, owner_id, type, name, lower_name) VALUES (7, 1, 'npm', 'lib', 'lib')`,
		`INSERT INTO package_version (id, package_id, version, lower_version) VALUES (70, 7, '1.0.0', '1.0.0')`,
		`INSERT INTO package_version (id, package_id, version, lower_version) VALUES (71, 7, '2.0.0', '2.0.0')`,
		`INSERT INTO package_property (ref_type, ref_id, name, value) VALUES (0, 70, 'npm.tag', 'latest')`,
		`INSERT INTO package_property (ref_type, ref_id, name, value) VALUES (0, 70, 'npm.tag', 'beta')`,
		`INSERT INTO package_property (ref_type, ref_id, name, value) VALUES (0, 71, 'npm.tag', 'latest')`,
		`INSERT INTO package_property (ref_type, ref_id, name, value) VALUES (0, 71, 'npm.readme', 'hello')`,
	} {
		if _, err := x.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := migrations.Migrate(ctx, d, unittest.DiscardLogger()); err != nil {
		t.Fatal(err)
	}
	var tags []struct {
		Tag       string
		VersionID int64
	}
	if err := x.SQL(`SELECT tag, version_id FROM npm_dist_tag WHERE package_id = 7 ORDER BY tag`).Find(&tags); err != nil {
		t.Fatal(err)
	}
	if len(tags) != 2 || tags[0].Tag != "beta" || tags[0].VersionID != 70 || tags[1].Tag != "latest" || tags[1].VersionID != 71 {
		t.Fatalf("moved dist-tags: %+v", tags)
	}
	var left []string
	if err := x.SQL(`SELECT name FROM package_property ORDER BY id`).Find(&left); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(left, []string{"npm.readme"}) {
		t.Fatalf("properties after the move: %v", left)
	}
}

// TestV14QueuesGoSync: the upgrade that adds the Go module proxy queues one
// job per existing repository, which registers the module versions of the
// tags pushed before (services/packages/go.JobSyncRepository).
func TestV14QueuesGoSync(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, unittest.DatabaseConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := migrations.MigrateTo(ctx, d, unittest.DiscardLogger(), 13); err != nil {
		t.Fatal(err)
	}
	x := d.Xorm()
	for _, q := range []string{
		`INSERT INTO repository (id, owner_id, owner_name, name, lower_name) VALUES (3, 1, 'alice', 'a', 'a')`,
		`INSERT INTO repository (id, owner_id, owner_name, name, lower_name) VALUES (9, 1, 'alice', 'b', 'b')`,
	} {
		if _, err := x.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := migrations.Migrate(ctx, d, unittest.DiscardLogger()); err != nil {
		t.Fatal(err)
	}
	var payloads []string
	if err := x.SQL(`SELECT payload FROM job WHERE kind = 'go.sync_repository' ORDER BY id`).Find(&payloads); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(payloads, []string{`{"repo_id":3}`, `{"repo_id":9}`}) {
		t.Fatalf("queued: %q", payloads)
	}
}
