//go:build cluster

package cluster

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// genericURL is a generic package file's URL on base.
func genericURL(base, name, version, file string) string {
	return fmt.Sprintf("%s/api/packages/alice/generic/%s/%s/%s", base, name, version, file)
}

// TestClusterKillMidUpload kills process A (SIGKILL) while three 200 MiB
// uploads to it are in the middle of their bodies and an upload to B is
// under way. The uploads to A get no answer (never a success), nothing
// of them is recorded, the upload to B completes, B serves everything
// committed before, every file row has its bytes in MinIO, A started
// again serves everything too, and nothing of the killed uploads is left
// in the shared spill directory.
func TestClusterKillMidUpload(t *testing.T) {
	c := newCluster(t, options{})
	a, b := c.Procs[0], c.Procs[1]
	createUser(t, a, "alice")
	h := basic("alice", token(t, a, "alice", "write", "write:package"))

	// Files committed before the fault, through both processes.
	type settled struct {
		url  string
		seed uint64
		size int64
	}
	var before []settled
	for i, p := range []*proc{a, b, a, b} {
		s := settled{genericURL("", "small", fmt.Sprintf("1.0.%d", i), "small.bin"), uint64(i + 1), int64(1+i) << 20}
		status, _, body := do(t, "PUT", p.URL+s.url, newPattern(s.seed, s.size), h)
		if status != http.StatusCreated {
			t.Fatalf("upload %s via %s: %d %s", s.url, p.Name, status, body)
		}
		before = append(before, s)
	}

	const size, first = 200 << 20, 48 << 20
	release := make(chan struct{})
	var onA []*upload
	for i := range 3 {
		onA = append(onA, startUpload(t, genericURL(a.URL, "big", fmt.Sprintf("2.0.%d", i), "big.bin"), h, uint64(100+i), size, first, release))
	}
	onB := startUpload(t, genericURL(b.URL, "big-on-b", "1.0.0", "big.bin"), h, 200, 64<<20, 16<<20, release)
	waitSent(t, append(onA, onB)...)
	a.kill(t)
	close(release)
	waitDone(t, append(onA, onB)...)

	for _, up := range onA {
		if up.Err == nil {
			t.Errorf("PUT %s to the killed process got an answer: %d %s", up.URL, up.Status, up.Body)
		} else {
			t.Logf("PUT %s to the killed process: %v", up.URL, up.Err)
		}
	}
	if onB.Err != nil || onB.Status != http.StatusCreated {
		t.Fatalf("the upload to B while A was killed: %d %s %v", onB.Status, onB.Body, onB.Err)
	}

	// The half-finished uploads are absent: no version, no file, 404.
	var versions int
	if err := c.DB.QueryRow(`SELECT count(*) FROM package_version v JOIN package p ON p.id = v.package_id WHERE p.lower_name = 'big'`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != 0 {
		t.Errorf("%d versions of the killed uploads are recorded", versions)
	}
	for i := range onA {
		if status, _, body := do(t, "GET", genericURL(b.URL, "big", fmt.Sprintf("2.0.%d", i), "big.bin"), nil, h); status != http.StatusNotFound {
			t.Errorf("B serves a killed upload: %d %s", status, body)
		}
	}
	c.checkConsistency(t)

	// B serves everything; so does A once started again.
	check := func(p *proc) {
		t.Helper()
		for _, s := range before {
			if status, sum := download(t, p.URL+s.url, h); status != http.StatusOK || sum != patternSHA256(s.seed, s.size) {
				t.Errorf("%s serves %s: %d, sha256 %s", p.Name, s.url, status, sum)
			}
		}
		if status, sum := download(t, genericURL(p.URL, "big-on-b", "1.0.0", "big.bin"), h); status != http.StatusOK || sum != patternSHA256(200, 64<<20) {
			t.Errorf("%s serves the upload B took during the kill: %d, sha256 %s", p.Name, status, sum)
		}
	}
	check(b)
	a = c.restart(t, 0)
	check(a)
	// The killed uploads' spill files were unnamed (O_TMPFILE or unlinked
	// at once): nothing is left in the shared spill directory.
	spill := filepath.Join(c.Work, "data", "tmp", "package-upload")
	if entries, err := os.ReadDir(spill); err == nil && len(entries) > 0 {
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left in %s after the kill: %v", spill, names)
	}
}

// TestClusterKillMidArchiveBuild kills process A (SIGKILL) while its job
// runner builds the archive of a registered Composer version (80 MiB of
// incompressible bytes, so the build takes a while): no file row is left
// for the half-built archive, the job stays with A's lease, and once the
// lease has run out process B finishes the job by itself; every file row
// has its bytes, and B serves the archive. B is held (SIGSTOP) until A
// has claimed the job, so that the dead process is the one that held it.
//
// The lease is [jobs] LEASE, here 15 s (10 minutes by default): the
// test lets it run out for real and logs how long after that B finished.
func TestClusterKillMidArchiveBuild(t *testing.T) {
	c := newCluster(t, options{Env: []string{"WHARF__JOBS__LEASE=15s"}})
	a, b := c.Procs[0], c.Procs[1]
	createUser(t, a, "alice")
	tok := token(t, a, "alice", "write", "write:package", "write:repository")
	hj := basic("alice", "alice-password")
	hj["Content-Type"] = "application/json"
	if status, _, body := do(t, "POST", a.URL+"/api/v1/user/repos", strings.NewReader(`{"name":"big"}`), hj); status != http.StatusCreated {
		t.Fatalf("create repository: %d %s", status, body)
	}
	const dataSize, dataSeed = 80 << 20, 7
	g := gitClient(t)
	work := t.TempDir()
	src := filepath.Join(work, "big")
	g.must(work, "init", "-q", "-b", "main", "big")
	writeFiles(t, src, map[string]string{"composer.json": `{"name":"alice/big","description":"a large library"}`})
	f, err := os.Create(filepath.Join(src, "data.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, newPattern(dataSeed, dataSize)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g.must(src, "add", ".")
	g.must(src, "commit", "-qm", "big 1.0")
	g.must(src, "tag", "v1.0.0")
	g.must(src, "-c", "core.compression=0", "push", "-q", authURL(a.URL, "alice", tok, "alice/big.git"), "main", "--tags")

	if err := syscall.Kill(b.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resumeB := func() {
		if !resumed {
			resumed = true
			if err := syscall.Kill(b.cmd.Process.Pid, syscall.SIGCONT); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(resumeB)
	hr := basic("alice", tok)
	hr["Content-Type"] = "application/json"
	if status, _, body := do(t, "POST", a.URL+"/api/packages/alice/composer", strings.NewReader(`{"repository":"big","tag":"v1.0.0"}`), hr); status != http.StatusCreated {
		t.Fatalf("register: %d %s", status, body)
	}
	var jobID, held int64
	waitFor(t, time.Minute, "A claims the archive job", func() bool {
		err := c.DB.QueryRow(`SELECT id, locked_until FROM job WHERE kind = 'composer.build_archive'`).Scan(&jobID, &held)
		return err == nil && held > 0
	})
	// The build is under way once A spills the archive past the memory
	// limit: an unnamed file in the shared spill directory, growing.
	waitFor(t, 2*time.Minute, "A writes the archive", func() bool { return spilling(a.cmd.Process.Pid) >= 40<<20 })
	a.kill(t)

	archives := func() int {
		var n int
		if err := c.DB.QueryRow(`SELECT count(*) FROM package_file f JOIN package_version v ON v.id = f.version_id
			JOIN package p ON p.id = v.package_id WHERE p.lower_name = 'alice/big'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := archives(); n != 0 {
		t.Fatalf("the kill did not land in the build: %d archive rows", n)
	}
	var lockedUntil int64
	var attempts int
	if err := c.DB.QueryRow(`SELECT locked_until, attempts FROM job WHERE id = $1`, jobID).Scan(&lockedUntil, &attempts); err != nil {
		t.Fatalf("the dead process's job is gone: %v", err)
	}
	if attempts != 1 || lockedUntil < time.Now().Unix() {
		t.Fatalf("the dead process's job: locked_until %d, attempts %d", lockedUntil, attempts)
	}
	c.checkConsistency(t)

	resumeB()
	// The dead holder's lease runs out at lockedUntil (whole seconds);
	// nothing moves it now.
	expired := time.Unix(lockedUntil, 0)
	waitFor(t, 3*time.Minute, "B finishes the orphaned job", func() bool {
		var n int
		return c.DB.QueryRow(`SELECT count(*) FROM job WHERE id = $1`, jobID).Scan(&n) == nil && n == 0
	})
	took := time.Since(expired)
	t.Logf("figure: the survivor finished the orphaned archive job %.1fs after its lease ran out ([jobs] LEASE 15s here, 10m by default)", took.Seconds())
	if n := archives(); n != 1 {
		t.Fatalf("after B's run: %d archive rows, want 1", n)
	}
	c.checkConsistency(t)

	// B serves the archive, as composer would fetch it.
	status, _, doc := do(t, "GET", b.URL+"/api/packages/alice/composer/p2/alice/big.json", nil, nil)
	var meta struct {
		Packages map[string][]struct {
			Dist struct{ URL string } `json:"dist"`
		} `json:"packages"`
	}
	if err := json.Unmarshal([]byte(doc), &meta); status != http.StatusOK || err != nil || len(meta.Packages["alice/big"]) != 1 {
		t.Fatalf("p2 via B: %d %s %v", status, doc, err)
	}
	c.LB.use(b)
	status, _, zipped := do(t, "GET", meta.Packages["alice/big"][0].Dist.URL, nil, nil)
	if status != http.StatusOK {
		t.Fatalf("archive via B: %d", status)
	}
	zr, err := zip.NewReader(strings.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatalf("archive via B: %v", err)
	}
	found := false
	for _, zf := range zr.File {
		if path.Base(zf.Name) != "data.bin" {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.New()
		_, err = io.Copy(sum, rc)
		rc.Close()
		if err != nil || hex.EncodeToString(sum.Sum(nil)) != patternSHA256(dataSeed, dataSize) {
			t.Fatalf("data.bin in the archive: %v", err)
		}
		found = true
	}
	if !found {
		t.Fatal("the archive lacks data.bin")
	}
}

// spilling returns the size of the largest unnamed (deleted or
// O_TMPFILE) file process pid holds open in a package-upload directory:
// an upload or archive build past the memory limit.
func spilling(pid int) int64 {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var most int64
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !strings.Contains(target, "package-upload") {
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && st.Size() > most {
			most = st.Size()
		}
	}
	return most
}

// TestClusterKillAfterBodies kills process A (SIGKILL) while six 32 MiB
// uploads are at different stages of being stored: the first is sent and
// answered alone to measure how long an upload takes (d); the other five
// are released d/2 apart, and the kill comes d/2 after the last: it finds
// some stored, some storing their bytes in MinIO or in their transaction,
// some still sending. Each client has a 201 or no answer; a
// 201 is stored and served by B; an upload without an answer is either
// absent or complete (committed as the process died), never a row
// without its bytes.
func TestClusterKillAfterBodies(t *testing.T) {
	c := newCluster(t, options{})
	a, b := c.Procs[0], c.Procs[1]
	createUser(t, a, "alice")
	h := basic("alice", token(t, a, "alice", "write", "write:package"))

	const n, size = 6, 32 << 20
	releases := make([]chan struct{}, n)
	ups := make([]*upload, n)
	for i := range n {
		releases[i] = make(chan struct{})
		ups[i] = startUpload(t, genericURL(a.URL, "staged", fmt.Sprintf("1.0.%d", i), "s.bin"), h, uint64(500+i), size, 1<<20, releases[i])
	}
	waitSent(t, ups...)
	began := time.Now()
	close(releases[0])
	waitDone(t, ups[0])
	d := time.Since(began)
	if ups[0].Err != nil || ups[0].Status != http.StatusCreated {
		t.Fatalf("the measured upload: %d %s %v", ups[0].Status, ups[0].Body, ups[0].Err)
	}
	for i := n - 1; i >= 1; i-- {
		close(releases[i])
		time.Sleep(d / 2) // the stages the kill finds the uploads at
	}
	t.Logf("one upload took %s; the kill came %s to %s after the others were released", d, d/2, d*(n-1)/2)
	a.kill(t)
	waitDone(t, ups...)

	stored, absent, answered := 0, 0, 0
	for i, up := range ups {
		u := genericURL(b.URL, "staged", fmt.Sprintf("1.0.%d", i), "s.bin")
		status, sum := download(t, u, h)
		switch {
		case up.Err == nil && up.Status != http.StatusCreated:
			t.Errorf("PUT %s: %d %s; want 201 or no answer", up.URL, up.Status, up.Body)
		case up.Err == nil:
			answered++
			if status != http.StatusOK || sum != patternSHA256(up.Seed, up.Size) {
				t.Errorf("B serves %s, which A answered 201: %d, sha256 %s", u, status, sum)
			}
		case status == http.StatusNotFound:
			absent++
		case status == http.StatusOK && sum == patternSHA256(up.Seed, up.Size):
			stored++ // committed, the answer lost with the process
		default:
			t.Errorf("B serves %s, which got no answer: %d, sha256 %s", u, status, sum)
		}
	}
	t.Logf("uploads at the kill: %d answered 201, %d committed without an answer, %d absent", answered, stored, absent)
	c.checkConsistency(t)
}
