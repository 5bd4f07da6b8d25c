package setting_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/modules/setting"
)

func TestCleanupSettings(t *testing.T) {
	dir := t.TempDir()
	cfg, err := setting.Load(setting.LoadOptions{WorkPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Cron.CleanupPackages.Enabled || cfg.Cron.CleanupPackages.Every != 24*time.Hour || cfg.Packages.BlobGCGrace != 24*time.Hour {
		t.Errorf("defaults: %+v, grace %v", cfg.Cron.CleanupPackages, cfg.Packages.BlobGCGrace)
	}
	for schedule, want := range map[string]time.Duration{"@every 6h": 6 * time.Hour, "@hourly": time.Hour, "@midnight": 24 * time.Hour, "90m": 90 * time.Minute} {
		p := filepath.Join(dir, "app.ini")
		body := "[packages]\nBLOB_GC_GRACE = 2h\n[cron.cleanup_packages]\nENABLED = false\nSCHEDULE = " + schedule + "\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := setting.Load(setting.LoadOptions{WorkPath: dir, ConfigPath: p})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Cron.CleanupPackages.Enabled || cfg.Cron.CleanupPackages.Every != want || cfg.Packages.BlobGCGrace != 2*time.Hour {
			t.Errorf("%s: %+v, grace %v", schedule, cfg.Cron.CleanupPackages, cfg.Packages.BlobGCGrace)
		}
	}
	p := filepath.Join(dir, "bad.ini")
	if err := os.WriteFile(p, []byte("[cron.cleanup_packages]\nSCHEDULE = 0 0 * * *\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := setting.Load(setting.LoadOptions{WorkPath: dir, ConfigPath: p}); err == nil || !strings.Contains(err.Error(), "SCHEDULE") {
		t.Errorf("a cron expression: %v", err)
	}
}
