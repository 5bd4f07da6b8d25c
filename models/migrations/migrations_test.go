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
	composer "wharf/models/packages/composer"
	npm "wharf/models/packages/npm"
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
	beans = append(beans, jobs.Tables()...)
	beans = append(beans, composer.Tables()...)
	beans = append(beans, npm.Tables()...)
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
