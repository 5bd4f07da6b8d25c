package tests

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"wharf/models/db"
)

// TestGoProxyConcurrentPseudo: many clients asking at once for the same
// untagged commit (by branch, by hash, by pseudo-version) all get the same
// pseudo-version and the same zip; the version is published once.
func TestGoProxyConcurrentPseudo(t *testing.T) {
	requireClient(t, "git")
	s := newGoServer(t)
	s.createUser(t, "alice")
	g, remote := goRepo(t, s, "alice", "alice", "a", false)
	writeTree(t, g.dir, map[string]string{"go.mod": goMod(goHost + "/alice/a"), "a.go": "package a\n"})
	commitAll(g, "a", "v1.0.0")
	writeTree(t, g.dir, map[string]string{"b.go": "package a\n"})
	commitAll(g, "untagged")
	g.must("push", "-q", remote, "main", "--tags")
	runGoJobs(t, s)
	head := strings.TrimSpace(g.must("rev-parse", "HEAD"))
	base := "/api/packages/alice/go/" + goHost + "/alice/a/@v/"

	const n = 12
	versions := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := []string{"main", head, head[:12]}[i%3]
			status, _, body := s.do(t, "GET", base+q+".info", "", nil)
			if status != 200 {
				t.Errorf("%s.info: %d %s", q, status, body)
				return
			}
			var info struct{ Version, Time string }
			dec := json.NewDecoder(strings.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&info); err != nil {
				t.Errorf("%s.info %q: %v", q, body, err)
				return
			}
			versions[i] = info.Version
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	v := versions[0]
	if !strings.HasPrefix(v, "v1.0.1-0.") || !strings.HasSuffix(v, "-"+head[:12]) {
		t.Fatalf("pseudo-version %q", v)
	}
	for _, w := range versions {
		if w != v {
			t.Fatalf("the clients got different versions: %q", versions)
		}
	}
	zips := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, body := s.do(t, "GET", base+v+".zip", "", nil)
			if status != 200 {
				t.Errorf("zip: %d %s", status, body)
			}
			zips[i] = body
		}()
	}
	wg.Wait()
	for _, z := range zips {
		if z != zips[0] {
			t.Fatal("the clients got different zips")
		}
	}
	var count int
	if err := db.QueryRow(t.Context(), s.App.DB.Engine(), "SELECT COUNT(*) FROM package_version WHERE version = ?", v).Scan(&count); err != nil || count != 1 {
		t.Fatalf("the pseudo-version is stored %d times (%v)", count, err)
	}
	// Pseudo-versions are not listed.
	if status, _, body := s.do(t, "GET", base+"list", "", nil); status != 200 || body != "v1.0.0\n" {
		t.Fatalf("list: %d %q", status, body)
	}
}
