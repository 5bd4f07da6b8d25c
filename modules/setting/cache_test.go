package setting_test

import (
	"os"
	"path/filepath"
	"testing"

	"wharf/modules/setting"
)

func TestPackageDocumentsMemory(t *testing.T) {
	for _, c := range []struct {
		ini  string
		want int64
	}{
		{"", 64 << 20},
		{"[cache]\nPACKAGE_DOCUMENTS_MEMORY = 8 MiB\n", 8 << 20},
		{"[cache]\nPACKAGE_DOCUMENTS_MEMORY = 0\n", 0},
		{"[cache]\nPACKAGE_DOCUMENTS_MEMORY = -1\n", -1},
	} {
		work := t.TempDir()
		path := filepath.Join(work, "app.ini")
		if err := os.WriteFile(path, []byte(c.ini), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := setting.Load(setting.LoadOptions{WorkPath: work, ConfigPath: path})
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Cache.PackageDocumentsMemory; got != c.want {
			t.Errorf("%q: %d, want %d", c.ini, got, c.want)
		}
	}
	work := t.TempDir()
	path := filepath.Join(work, "app.ini")
	if err := os.WriteFile(path, []byte("[cache]\nPACKAGE_DOCUMENTS_MEMORY = lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := setting.Load(setting.LoadOptions{WorkPath: work, ConfigPath: path}); err == nil {
		t.Fatal("a size that is not one was taken")
	}
}
