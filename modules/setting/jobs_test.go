package setting_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/modules/setting"
)

func TestJobLease(t *testing.T) {
	load := func(ini string) (setting.Config, error) {
		work := t.TempDir()
		path := filepath.Join(work, "app.ini")
		if err := os.WriteFile(path, []byte(ini), 0o644); err != nil {
			t.Fatal(err)
		}
		return setting.Load(setting.LoadOptions{WorkPath: work, ConfigPath: path})
	}
	for ini, want := range map[string]time.Duration{"": 10 * time.Minute, "[jobs]\nLEASE = 30s\n": 30 * time.Second, "[jobs]\nLEASE = 5s\n": 5 * time.Second} {
		cfg, err := load(ini)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Jobs.Lease != want {
			t.Errorf("%q: lease %v, want %v", ini, cfg.Jobs.Lease, want)
		}
	}
	for _, bad := range []string{"[jobs]\nLEASE = 4s\n", "[jobs]\nLEASE = 0\n", "[jobs]\nLEASE = -1m\n", "[jobs]\nLEASE = soon\n"} {
		if _, err := load(bad); err == nil || !strings.Contains(err.Error(), "LEASE") {
			t.Errorf("%q: %v, want an error naming LEASE", bad, err)
		}
	}
}
