package setting_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/modules/setting"
)

func TestDefaults(t *testing.T) {
	work := t.TempDir()
	cfg, err := setting.Load(setting.LoadOptions{WorkPath: work})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr() != "127.0.0.1:3000" || cfg.Server.RootURL != "http://127.0.0.1:3000/" {
		t.Fatalf("server defaults: %+v", cfg.Server)
	}
	if cfg.Database.Type != "sqlite3" || cfg.Database.Path != filepath.Join(work, "data", "wharf.db") {
		t.Fatalf("database defaults: %+v", cfg.Database)
	}
	if cfg.Storage.Type != "local" || cfg.Storage.Path != filepath.Join(work, "data", "packages") {
		t.Fatalf("storage defaults: %+v", cfg.Storage)
	}
	if cfg.Packages.LimitTotalOwnerSize != -1 || cfg.Packages.LimitTotalOwnerCount != -1 || len(cfg.Packages.LimitSize) != 0 {
		t.Fatalf("package limits must default to unlimited: %+v", cfg.Packages)
	}
	if cfg.Repository.Root != filepath.Join(work, "data", "repos") || cfg.Repository.DefaultBranch != "main" {
		t.Fatalf("repository defaults: %+v", cfg.Repository)
	}
	if cfg.ConfigPath != "" {
		t.Fatalf("no config file exists, got %q", cfg.ConfigPath)
	}
}

func TestFileEnvAndFlags(t *testing.T) {
	work := t.TempDir()
	ini := `
[server]
HTTP_ADDR = 0.0.0.0
HTTP_PORT = 4000
GRACEFUL_TIMEOUT = 5s

[database]
DB_TYPE = postgres
HOST = db.internal:5433
NAME = forge
USER = forge
PASSWD = "s3cret#1"

[packages]
LIMIT_SIZE_NPM = 10 MiB
LIMIT_SIZE_CARGO = -1
LIMIT_TOTAL_OWNER_COUNT = 500

[packages.npm]
ALLOW_UNPUBLISH = false
UNPUBLISH_WINDOW_HOURS = 72
`
	if err := os.MkdirAll(filepath.Join(work, "custom", "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(setting.DefaultConfigPath(work), []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"WHARF__SERVER__ROOT_URL=https://git.example.com",
		"WHARF__SERVER__HOST_ALIASES=git.internal, old.example.com:8443,",
		"WHARF__DATABASE__NAME=override",
		"WHARF__STORAGE__STORAGE_TYPE=minio",
		"WHARF__PACKAGES__LIMIT_SIZE_GENERIC=1GiB",
		"UNRELATED=1",
	}
	cfg, err := setting.Load(setting.LoadOptions{WorkPath: work, Env: env, Port: 4100})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.HTTPPort != 4100 || cfg.Server.HTTPAddr != "0.0.0.0" || cfg.Server.GracefulTimeout != 5*time.Second {
		t.Fatalf("server: %+v", cfg.Server)
	}
	if len(cfg.Server.HostAliases) != 2 || cfg.Server.HostAliases[1] != "old.example.com:8443" {
		t.Fatalf("aliases: %q", cfg.Server.HostAliases)
	}
	if cfg.Server.RootURL != "https://git.example.com/" {
		t.Fatalf("root url: %q", cfg.Server.RootURL)
	}
	if cfg.Database.Type != "postgres" || cfg.Database.Name != "override" || cfg.Database.Passwd != "s3cret#1" || cfg.Database.Host != "db.internal:5433" {
		t.Fatalf("database: %+v", cfg.Database)
	}
	if cfg.Storage.Type != "minio" {
		t.Fatalf("storage: %+v", cfg.Storage)
	}
	want := map[string]int64{"npm": 10 << 20, "generic": 1 << 30}
	if len(cfg.Packages.LimitSize) != len(want) {
		t.Fatalf("limits: %v", cfg.Packages.LimitSize)
	}
	for k, v := range want {
		if cfg.Packages.LimitSize[k] != v {
			t.Fatalf("limit %s = %d, want %d", k, cfg.Packages.LimitSize[k], v)
		}
	}
	if cfg.Packages.Npm.AllowUnpublish || cfg.Packages.Npm.UnpublishWindow != 72*time.Hour {
		t.Fatalf("npm: %+v", cfg.Packages.Npm)
	}
	if cfg.Packages.LimitTotalOwnerCount != 500 {
		t.Fatalf("owner count: %d", cfg.Packages.LimitTotalOwnerCount)
	}
}

func TestDerivedRootURLFollowsPort(t *testing.T) {
	cfg, err := setting.Load(setting.LoadOptions{WorkPath: t.TempDir(), Env: []string{"WHARF__SERVER__HTTP_ADDR=0.0.0.0"}, Port: 8080})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.RootURL != "http://localhost:8080/" {
		t.Fatalf("root url: %q", cfg.Server.RootURL)
	}
}

func TestBadValuesNameTheKey(t *testing.T) {
	cases := []struct {
		env  string
		want string
	}{
		{"WHARF__SERVER__HTTP_PORT=abc", "[server] HTTP_PORT"},
		{"WHARF__SERVER__HTTP_PORT=70000", "[server] HTTP_PORT"},
		{"WHARF__SERVER__ROOT_URL=ftp://x", "[server] ROOT_URL"},
		{"WHARF__DATABASE__DB_TYPE=mssql", "[database] DB_TYPE"},
		{"WHARF__DATABASE__LOG_SQL=maybe", "[database] LOG_SQL"},
		{"WHARF__PACKAGES__LIMIT_SIZE_NPM=lots", "[packages] LIMIT_SIZE_NPM"},
		{"WHARF__PACKAGES__LIMIT_TOTAL_OWNER_COUNT=-5", "[packages] LIMIT_TOTAL_OWNER_COUNT"},
		{"WHARF__SERVER__GRACEFUL_TIMEOUT=soon", "[server] GRACEFUL_TIMEOUT"},
		{"WHARF__STORAGE__STORAGE_TYPE=ftp", "[storage] STORAGE_TYPE"},
		{"WHARF__BROKEN=1", "WHARF__BROKEN"},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			_, err := setting.Load(setting.LoadOptions{WorkPath: t.TempDir(), Env: []string{c.env}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to name %s", err, c.want)
			}
		})
	}
}

func TestExplicitConfigMustExist(t *testing.T) {
	_, err := setting.Load(setting.LoadOptions{WorkPath: t.TempDir(), ConfigPath: "missing.ini"})
	if err == nil || !strings.Contains(err.Error(), "missing.ini") {
		t.Fatalf("err = %v", err)
	}
}
