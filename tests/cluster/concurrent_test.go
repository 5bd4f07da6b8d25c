//go:build cluster

package cluster

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wharf/modules/packages/cargo/cargotest"
)

// TestClusterConcurrentPublishes: crates published at the same moment
// through both processes, to an owner with a Cargo git index (git writes
// the system makes, which must be serialized per repository across
// processes), and the first versions of new crates racing each other:
// every publish succeeds, and once the jobs have run the git index,
// cloned from either process, has every version on its line, as the
// sparse index does.
//
// It catches a race now and then (3 of about 15 runs: with every publish
// on one process as on two, on a busy machine and in a whole -race run):
// a publish of a new crate whose first version another publish commits
// meanwhile gets 409 "crate `shared-2` is already taken by `shared-2`".
// precheckUnique in services/packages/cargo reads the crate by name
// outside a transaction and finds none, then reads by canonical name
// excluding id 0, in a statement of its own, and finds the crate just
// committed: itself.
func TestClusterConcurrentPublishes(t *testing.T) {
	c := newCluster(t, options{})
	a, b := c.Procs[0], c.Procs[1]
	createUser(t, a, "alice")
	tok := token(t, b, "alice", "cargo", "write:package", "read:repository")
	if status, _, body := do(t, "POST", a.URL+"/api/v1/packages/alice/cargo/-/index", nil, basic("alice", "alice-password")); status != http.StatusCreated {
		t.Fatalf("create the git index: %d %s", status, body)
	}
	type pub struct{ name, version string }
	var pubs []pub
	for i := range 6 {
		pubs = append(pubs, pub{fmt.Sprintf("crate-%d", i), "1.0.0"})
	}
	// Several new crates, each published in eight versions at once: the
	// race between the first publishes of one crate.
	// They start a few milliseconds apart, so that publishes are still
	// being checked when the first of their crate commits.
	const versions = 8
	for round := range 4 {
		for i := range versions {
			pubs = append(pubs, pub{fmt.Sprintf("shared-%d", round), fmt.Sprintf("0.%d.0", i)})
		}
	}
	start := make(chan struct{})
	status := make([]int, len(pubs))
	bodies := make([]string, len(pubs))
	var wg sync.WaitGroup
	for i, p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := c.Procs[i%2]
			req, err := http.NewRequestWithContext(t.Context(), "PUT", target.URL+"/api/packages/alice/cargo/api/v1/crates/new",
				bytes.NewReader(cargotest.GoodBody(p.name, p.version)))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Authorization", tok)
			<-start
			time.Sleep(time.Duration(i%versions) * 4 * time.Millisecond)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("publish %s %s via %s: %v", p.name, p.version, target.Name, err)
				return
			}
			defer resp.Body.Close()
			var out bytes.Buffer
			_, _ = out.ReadFrom(resp.Body)
			status[i], bodies[i] = resp.StatusCode, out.String()
		}()
	}
	close(start)
	wg.Wait()
	for i, p := range pubs {
		if status[i] != http.StatusOK {
			t.Errorf("publish %s %s via %s: %d %s", p.name, p.version, c.Procs[i%2].Name, status[i], bodies[i])
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The index jobs run on either process; wait until none is queued.
	waitFor(t, 2*time.Minute, "the Cargo index jobs are done", func() bool {
		var n int
		return c.DB.QueryRow(`SELECT count(*) FROM job WHERE kind LIKE 'cargo.%' AND NOT failed`).Scan(&n) == nil && n == 0
	})
	want := map[string][]string{}
	for _, p := range pubs {
		want[p.name] = append(want[p.name], p.version)
	}
	g := gitClient(t)
	for _, p := range []*proc{a, b} {
		dir := filepath.Join(t.TempDir(), "index")
		g.must(filepath.Dir(dir), "clone", "-q", authURL(p.URL, "alice", tok, "alice/_cargo-index.git"), dir)
		g.must(dir, "fsck", "--strict")
		for name, versions := range want {
			file := filepath.Join(dir, indexPath(name))
			b, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("the git index cloned from %s lacks %s: %v", p.Name, name, err)
				continue
			}
			for _, v := range versions {
				if !strings.Contains(string(b), `"vers":"`+v+`"`) {
					t.Errorf("the git index cloned from %s: %s lacks %s:\n%s", p.Name, name, v, b)
				}
			}
			if lines := strings.Count(strings.TrimSuffix(string(b), "\n"), "\n") + 1; lines != len(versions) {
				t.Errorf("the git index cloned from %s: %s has %d lines, want %d:\n%s", p.Name, name, lines, len(versions), b)
			}
			status, _, sparse := do(t, "GET", p.URL+"/api/packages/alice/cargo/"+indexPath(name), nil, map[string]string{"Authorization": tok})
			if status != http.StatusOK || strings.Count(sparse, `"vers":`) != len(versions) {
				t.Errorf("the sparse index via %s for %s: %d\n%s", p.Name, name, status, sparse)
			}
		}
	}
	c.checkConsistency(t)
}

// indexPath is where a crate's lines are in a Cargo index.
func indexPath(name string) string {
	switch len(name) {
	case 1:
		return "1/" + name
	case 2:
		return "2/" + name
	case 3:
		return "3/" + name[:1] + "/" + name
	}
	return name[:2] + "/" + name[2:4] + "/" + name
}
