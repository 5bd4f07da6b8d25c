// Package migrations versions the database schema. The table wharf_version
// records how many steps have run; each step is a Go function with its own
// snapshot of the beans it touches (never the live models, which move on).
// Every command that opens the database calls Migrate.
package migrations

import (
	"context"
	"fmt"
	"log/slog"

	"xorm.io/xorm"

	"wharf/models/db"
)

// step is one schema change. It runs in a transaction with the version
// update, so a crash leaves the schema before or after it, never between
// (both SQLite and PostgreSQL have transactional DDL).
type step struct {
	desc string
	run  func(ctx context.Context, tx *xorm.Session) error
}

// steps is append-only: never edit or reorder a step that has shipped.
var steps = []step{
	{"create users, organisation memberships and access tokens", v1CreateAccounts},
	{"create repositories", v2CreateRepositories},
	{"create the package registry and the jobs tables", v3CreatePackagesAndJobs},
	{"create composer auto-registration sources", v4CreateComposerSources},
	{"record the refs each repository's events announced", v5RecordRefs},
	{"move npm dist-tags to their own table; add Composer's owner change stamp", v6FormatTables},
	{"record each owner's optional Cargo git index", v7CreateCargoIndex},
	{"create each owner's RubyGems compact index", v8CreateRubyGemsIndex},
	{"create package cleanup rules and the record of cleanup runs", v9CreateCleanup},
	{"create the browsers' sign-in sessions", v10CreateSessions},
	{"add change stamps to packages and to Composer's owner stamp", v11AddChangeStamps},
	{"create virtual registries and their upstream documents", v12CreateVirtual},
	{"give each claim of a job a lease token of its own", v13AddLeaseToken},
	{"add the go module proxy's tag notes and sync existing repositories", v14GoModules},
}

// LatestVersion is the schema version this binary writes.
func LatestVersion() int64 { return int64(len(steps)) }

// Version is the single row of the wharf_version table.
type Version struct {
	ID      int64 `xorm:"pk"`
	Version int64 `xorm:"NOT NULL DEFAULT 0"`
}

// TableName is explicit so that the table is never renamed by a mapper.
func (Version) TableName() string { return "wharf_version" }

// Migrate brings the schema up to LatestVersion. It refuses a database
// written by a newer binary. Several processes may call it at once: the
// version row is locked for the duration of each step.
func Migrate(ctx context.Context, d *db.DB, log *slog.Logger) error {
	return MigrateTo(ctx, d, log, LatestVersion())
}

// MigrateTo brings the schema up to version target (at most
// LatestVersion); a schema already past it is left as it is. Tests use it
// to write data as an older release stored it before the steps that
// convert it run.
func MigrateTo(ctx context.Context, d *db.DB, log *slog.Logger, target int64) error {
	target = min(target, LatestVersion())
	// xorm's Sync of a table that exists reads its columns through the
	// pool, not the step's transaction: with [database] MAX_OPEN_CONNS = 1
	// that read would wait forever for the connection the step holds.
	// Migrations get a second connection, and the limit is put back.
	if pool := d.SQL(); pool.Stats().MaxOpenConnections == 1 {
		pool.SetMaxOpenConns(2)
		defer pool.SetMaxOpenConns(1)
	}
	err := d.WithTx(ctx, func(e db.Engine) error {
		tx := e.Context(ctx)
		if err := lock(d, tx); err != nil {
			return err
		}
		if err := tx.Sync(new(Version)); err != nil {
			return fmt.Errorf("create version table: %w", err)
		}
		has, err := tx.ID(1).Exist(new(Version))
		if err != nil || has {
			return err
		}
		_, err = tx.Insert(&Version{ID: 1})
		return err
	})
	if err != nil {
		return fmt.Errorf("initialise version table: %w", err)
	}
	for {
		done, err := runNext(ctx, d, log, target)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// runNext runs the next pending step, if any, and reports whether the schema
// is now current.
func runNext(ctx context.Context, d *db.DB, log *slog.Logger, target int64) (bool, error) {
	done := false
	err := d.WithTx(ctx, func(e db.Engine) error {
		tx := e.Context(ctx)
		if err := lock(d, tx); err != nil {
			return err
		}
		v := &Version{}
		if _, err := tx.ID(1).Get(v); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		switch {
		case v.Version > LatestVersion():
			return fmt.Errorf("database schema version %d is newer than this binary's %d: run a newer wharf", v.Version, LatestVersion())
		case v.Version >= target:
			done = true
			return nil
		}
		s := steps[v.Version]
		log.InfoContext(ctx, "migrating database", "version", v.Version+1, "step", s.desc)
		if err := s.run(ctx, tx); err != nil {
			return fmt.Errorf("migration %d (%s): %w", v.Version+1, s.desc, err)
		}
		if _, err := tx.ID(1).Cols("version").Update(&Version{Version: v.Version + 1}); err != nil {
			return fmt.Errorf("record schema version %d: %w", v.Version+1, err)
		}
		return nil
	})
	return done, err
}

// migrationLockKey is an arbitrary constant naming Wharf's migration lock.
const migrationLockKey = 0x77686172660001

// lock serialises migrating processes for the rest of the transaction. On
// PostgreSQL that takes an advisory lock (concurrent CREATE TABLE races even
// with IF NOT EXISTS); SQLite's immediate transactions already hold the
// database's write lock from BEGIN.
func lock(d *db.DB, tx *xorm.Session) error {
	if d.Type() != "postgres" {
		return nil
	}
	if _, err := tx.Exec("SELECT pg_advisory_xact_lock(?)", int64(migrationLockKey)); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	return nil
}
