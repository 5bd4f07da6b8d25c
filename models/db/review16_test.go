package db_test

import (
	"context"
	"testing"
	"time"

	"wharf/models/auth"
	"wharf/models/db"
	"wharf/models/migrations"
	packages_model "wharf/models/packages"
	composer_model "wharf/models/packages/composer"
	rubygems_model "wharf/models/packages/rubygems"
	"wharf/models/unittest"
	user_model "wharf/models/user"
)

// TestReview16PlainLookupsUseTheTransaction: with a pool of one
// connection, every plain SQL lookup (db.QueryRow, db.Query) made inside
// a transaction must run on the transaction's connection. One that took
// the pool instead would wait for a second connection that never comes
// (on SQLite, for a write lock the transaction holds): the deadline below
// would end it with an error. Each lookup also reads a row the
// transaction wrote and has not committed, which only its own connection
// sees.
func TestReview16PlainLookupsUseTheTransaction(t *testing.T) {
	t.Logf("backend: %s", unittest.Backend())
	cfg := unittest.DatabaseConfig(t)
	// Migrated with the usual pool: xorm's Sync of a table that exists
	// reads the table's columns on the pool, not in the migration's
	// transaction, so a pool of one cannot migrate (see the report).
	m, err := db.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = migrations.Migrate(context.Background(), m, unittest.DiscardLogger())
	_ = m.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxOpenConns = 1
	d, err := db.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	// A generous deadline: it only stops a lookup stuck waiting for the
	// pool, it does not time the lookups.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = d.WithTx(ctx, func(tx db.Engine) error {
		s := tx.Context(ctx)
		u := &user_model.User{LowerName: "carol", Name: "Carol", IsActive: true}
		if _, err := s.Insert(u); err != nil {
			return err
		}
		if _, err := s.Insert(&packages_model.Package{OwnerID: u.ID, Type: packages_model.TypeNpm, Name: "p", LowerName: "p"}); err != nil {
			return err
		}
		if _, err := s.Insert(&auth.AccessToken{UID: u.ID, Name: "t", TokenHash: "h16", TokenSalt: "s", TokenLastEight: "abcdefgh"}); err != nil {
			return err
		}
		if err := packages_model.InsertProperty(ctx, tx, packages_model.PropertyTypePackage, 77, "k", "v"); err != nil {
			return err
		}
		if _, err := s.Insert(&composer_model.Stamp{OwnerID: u.ID, ChangedUnix: 9, Serial: 1}); err != nil {
			return err
		}
		if _, err := s.Insert(&rubygems_model.VersionsFile{OwnerID: u.ID, MD5: "0123456789abcdef0123456789abcdef", SHA256: "x", MD5State: "m", SHA256State: "s"}); err != nil {
			return err
		}
		if got, err := user_model.GetUserByName(ctx, tx, "CAROL"); err != nil || got.ID != u.ID {
			t.Errorf("GetUserByName in the transaction: %+v, %v", got, err)
		}
		if got, err := user_model.GetUserByID(ctx, tx, u.ID); err != nil || got.Name != "Carol" {
			t.Errorf("GetUserByID in the transaction: %+v, %v", got, err)
		}
		if got, err := packages_model.GetPackageByName(ctx, tx, u.ID, packages_model.TypeNpm, "P"); err != nil || got.OwnerID != u.ID {
			t.Errorf("GetPackageByName in the transaction: %+v, %v", got, err)
		}
		if got, err := auth.FindByLastEight(ctx, tx, "abcdefgh"); err != nil || len(got) != 1 {
			t.Errorf("FindByLastEight in the transaction: %v, %v", got, err)
		}
		if got, err := packages_model.GetProperty(ctx, tx, packages_model.PropertyTypePackage, 77, "k"); err != nil || got != "v" {
			t.Errorf("GetProperty in the transaction: %q, %v", got, err)
		}
		if got, err := composer_model.GetOwnerStamp(ctx, tx, u.ID); err != nil || got.Serial != 1 {
			t.Errorf("GetOwnerStamp in the transaction: %+v, %v", got, err)
		}
		if got, err := rubygems_model.GetVersionsFile(ctx, tx, u.ID); err != nil || got == nil {
			t.Errorf("GetVersionsFile in the transaction: %+v, %v", got, err)
		}
		// Not found inside the transaction is still the models' answer.
		if _, err := user_model.GetUserByName(ctx, tx, "nobody"); !isNotFound(err) {
			t.Errorf("unknown user in the transaction: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// And on the pool after the commit, with the one connection back.
	if got, err := user_model.GetUserByName(ctx, d.Engine(), "carol"); err != nil || got.Name != "Carol" {
		t.Fatalf("GetUserByName on the pool: %+v, %v", got, err)
	}
}

// TestReview16MigrateWithPoolOfOne: [database] MAX_OPEN_CONNS = 1 is a
// valid setting, and a new database must migrate with it. xorm's
// Session.Sync of a table that already exists (v5 adds a column to
// repository) reads the table's columns through the engine's pool, not
// the migration's transaction, which holds the only connection: Migrate
// waits for a connection forever and `wharf web` never starts. The wait
// below is not a timing assertion: it only turns "never finishes" into a
// failure instead of a hung test binary.
func TestReview16MigrateWithPoolOfOne(t *testing.T) {
	t.Logf("backend: %s", unittest.Backend())
	cfg := unittest.DatabaseConfig(t)
	cfg.MaxOpenConns = 1
	d, err := db.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- migrations.Migrate(context.Background(), d, unittest.DiscardLogger()) }()
	select {
	case err := <-done:
		_ = d.Close()
		if err != nil {
			t.Fatalf("migrate with a pool of one connection: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = d.Close() // wakes the waiting query with an error
		<-done
		t.Fatal("migrate with a pool of one connection never finished: a schema read waits for a second connection")
	}
}
