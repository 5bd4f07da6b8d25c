// Package unittest gives tests a real, migrated database: a SQLite file in a
// temp dir by default, or a fresh PostgreSQL database when
// WHARF_TEST_DB=postgres (server from WHARF_TEST_PG_HOST, default
// 127.0.0.1:5432, user WHARF_TEST_PG_USER, default postgres).
package unittest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"wharf/models/db"
	"wharf/models/migrations"
	"wharf/modules/setting"
)

// Backend is the database the tests run on: "sqlite3" or "postgres".
func Backend() string {
	if os.Getenv("WHARF_TEST_DB") == "postgres" {
		return "postgres"
	}
	return "sqlite3"
}

// DatabaseConfig returns the [database] settings of a new, empty database
// that is dropped when the test ends.
func DatabaseConfig(t testing.TB) setting.Database {
	t.Helper()
	cfg := setting.Database{Type: Backend(), MaxIdleConns: 4, SSLMode: "disable"}
	if cfg.Type == "sqlite3" {
		cfg.Path = filepath.Join(t.TempDir(), "wharf.db")
		return cfg
	}
	cfg.Host = envOr("WHARF_TEST_PG_HOST", "127.0.0.1:5432")
	cfg.User = envOr("WHARF_TEST_PG_USER", "postgres")
	cfg.Passwd = os.Getenv("WHARF_TEST_PG_PASSWORD")

	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	cfg.Name = "wharf_test_" + hex.EncodeToString(b)

	admin := cfg
	admin.Name = "postgres"
	adm, err := db.Open(context.Background(), admin)
	if err != nil {
		t.Fatalf("connect to the PostgreSQL test server (WHARF_TEST_DB=postgres): %v", err)
	}
	if _, err := adm.Xorm().Exec("CREATE DATABASE " + cfg.Name); err != nil {
		_ = adm.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		// Registered before the test opens the database, so it runs after
		// the test's own cleanups have closed its connections.
		if _, err := adm.Xorm().Exec("DROP DATABASE IF EXISTS " + cfg.Name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
		_ = adm.Close()
	})
	return cfg
}

// NewDB opens and migrates a new test database.
func NewDB(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), DatabaseConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := migrations.Migrate(context.Background(), d, DiscardLogger()); err != nil {
		t.Fatal(err)
	}
	return d
}

// DiscardLogger is a logger for tests that do not read the log.
func DiscardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
