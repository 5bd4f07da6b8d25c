package tests

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/setting"
)

// composerErrors decodes Composer's error shape strictly.
func composerErrors(t *testing.T, body string) []string {
	t.Helper()
	var e struct {
		Errors []struct {
			Status  int    `json:"status"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || len(e.Errors) == 0 {
		t.Fatalf("error body is not Composer's {errors:[{status,message}]}: %q (%v)", body, err)
	}
	var msgs []string
	for _, x := range e.Errors {
		if x.Message == "" || x.Message == "internal error" {
			t.Fatalf("error without a useful message: %q", body)
		}
		msgs = append(msgs, x.Message)
	}
	return msgs
}

// TestComposerArchiveOverLimitLeaksNothing: building the archive of a
// registered tag that is over LIMIT_SIZE_COMPOSER fails with 413, and the
// goroutine writing the archive ends with it. It used to stay blocked on
// the pipe forever, holding the repository, once per download.
func TestComposerArchiveOverLimitLeaksNothing(t *testing.T) {
	requireClient(t, "git")
	const limit = 256 << 10
	s := newServer(t, func(c *setting.Config) { c.Packages.LimitSize["composer"] = limit })
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "big"}); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	g := gitCmd{t, filepath.Join(work, "big")}
	gitCmd{t, work}.must("init", "-q", "-b", "main", "big")
	writeLib(t, g.dir, "acme/big", `Acme\Big`, "big", "")
	blob := make([]byte, 4*limit) // random: the zip cannot compress it under the limit
	_, _ = rand.Read(blob)
	if err := os.WriteFile(filepath.Join(g.dir, "data.bin"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	g.must("add", ".")
	g.must("commit", "-qm", "big")
	g.must("tag", "v1.0.0")
	g.must("push", "-q", authURL(s.URL, "alice", "alice-password", "alice/big.git"), "main", "--tags")
	h := basic("alice", "alice-password")
	if status, _, body := s.do(t, "POST", "/api/packages/alice/composer", `{"repository":"big","tag":"v1.0.0"}`,
		map[string]string{"Authorization": h["Authorization"], "Content-Type": "application/json"}); status != 201 {
		t.Fatalf("register: %d %s", status, body)
	}
	status, _, body := s.do(t, "GET", "/api/packages/alice/composer/p2/acme/big.json", "", h)
	if status != 200 {
		t.Fatalf("p2: %d %s", status, body)
	}
	var doc struct {
		Packages map[string][]struct {
			Dist struct {
				URL string `json:"url"`
			} `json:"dist"`
		} `json:"packages"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || len(doc.Packages["acme/big"]) != 1 {
		t.Fatalf("p2: %v %s", err, body)
	}
	distURL := doc.Packages["acme/big"][0].Dist.URL

	// No idle connections: their goroutines would blur the count.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	download := func() {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", distURL, nil)
		req.SetBasicAuth("alice", "alice-password")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("download of an archive over the limit: %d %s", resp.StatusCode, b)
		}
		if msgs := composerErrors(t, string(b)); !strings.Contains(msgs[0], "archive of acme/big 1.0.0") {
			t.Fatalf("message: %q", msgs)
		}
	}
	// Warm up (lazy pools and timers start here), and let the build job
	// that registration queued run: it fails the same way.
	download()
	if _, err := s.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	baseline := waitGoroutines(t, -1)

	const attempts = 10
	for range attempts {
		download()
	}
	// Every build's writer must be gone; a leak would leave one per attempt.
	if n := waitGoroutines(t, baseline+2); n > baseline+2 {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var stuck []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "WriteArchive") || strings.Contains(g, "io.(*pipe)") {
				stuck = append(stuck, g)
			}
		}
		t.Fatalf("%d goroutines after %d failed builds, %d before; stuck archive writers:\n%s", n, attempts, baseline, strings.Join(stuck, "\n\n"))
	}
	// Nothing was stored, and the version is still there.
	c := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	files, _, err := c.ListPackageFiles("alice", "composer", "acme/big", "1.0.0")
	if err != nil || len(files) != 0 {
		t.Fatalf("files of acme/big 1.0.0: %+v, %v", files, err)
	}
}

// waitGoroutines polls runtime.NumGoroutine until it is at most want (or,
// with want < 0, until it stops falling for a while), with a deadline, and
// returns the last count.
func waitGoroutines(t *testing.T, want int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	n, stable := runtime.NumGoroutine(), 0
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if want >= 0 && m <= want {
			return m
		}
		if m >= n {
			stable++
		} else {
			stable = 0
		}
		n = m
		if want < 0 && stable >= 10 {
			return n
		}
	}
	return n
}
