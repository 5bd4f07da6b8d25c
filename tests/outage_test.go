package tests

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	"wharf/models/db"
	"wharf/models/unittest"
	"wharf/modules/storage"
	"wharf/modules/storage/miniotest"
)

// outageClientTimeout bounds every request of the outage tests: a request
// that gets no answer within it is a hang, which is a failure. It detects
// hangs; it does not measure speed.
const outageClientTimeout = 30 * time.Second

// outagePG is a throw-away PostgreSQL cluster that a test stops and
// starts again, as .ci/run makes one (as the postgres user when root).
type outagePG struct {
	bin  string
	dir  string
	port int
}

// startOutagePG initialises and starts a cluster on a free loopback port.
// Without the PostgreSQL server binaries the test skips, or fails in CI.
func startOutagePG(t *testing.T) *outagePG {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are required in CI")
		}
		t.Skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin; CI=true makes this a failure")
	}
	sort.Strings(bins)
	dir, err := os.MkdirTemp("", "wharf-outage-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &outagePG{bin: filepath.Dir(bins[len(bins)-1]), dir: dir, port: freePort(t)}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: the cluster belongs to postgres.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = p.run("pg_ctl", "-D", filepath.Join(dir, "data"), "-m", "immediate", "stop")
		_ = os.RemoveAll(dir)
	})
	if err := p.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8"); err != nil {
		t.Fatal(err)
	}
	p.start(t)
	return p
}

// run runs one of the server's programs, as postgres when we are root.
func (p *outagePG) run(prog string, args ...string) error {
	name, argv := filepath.Join(p.bin, prog), args
	if os.Geteuid() == 0 {
		name, argv = "runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, prog)}, args...)
	}
	out, err := exec.Command(name, argv...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return nil
}

// start starts the cluster and returns once it accepts connections.
func (p *outagePG) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", p.port, p.dir)
	if err := p.run("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-l", filepath.Join(p.dir, "log"), "-w", "-o", opts, "start"); err != nil {
		t.Fatal(err)
	}
}

// stop shuts the cluster down: "fast" ends the sessions (57P01),
// "immediate" kills the server as a crash would.
func (p *outagePG) stop(t *testing.T, mode string) {
	t.Helper()
	if err := p.run("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-m", mode, "-w", "stop"); err != nil {
		t.Fatal(err)
	}
}

// firstStartToken reads the token the first start prints.
func firstStartToken(t *testing.T, p *webProcess) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(p.stdout.String()))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "token:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no token in the first start's output: %q", p.stdout.String())
	return ""
}

// outageDo sends one request with the hang-detecting timeout and returns
// the status, headers and body, or the transport error.
func outageDo(c *http.Client, method, url, token, contentType string, body []byte) (int, http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// checkUnavailable says what is wrong with a 503 answer: it must carry
// Retry-After and must not show internals.
func checkUnavailable(h http.Header, body []byte) string {
	if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra <= 0 {
		return fmt.Sprintf("503 without a positive Retry-After (%q)", h.Get("Retry-After"))
	}
	lower := strings.ToLower(string(body))
	for _, leak := range []string{"pq:", "dial tcp", "goroutine", ".go:", "sql", "connection refused", "minio"} {
		if strings.Contains(lower, leak) {
			return fmt.Sprintf("503 body shows internals (%q): %s", leak, body)
		}
	}
	return ""
}

// outageLoad runs a small concurrent load and records what it saw.
type outageLoad struct {
	base, token string
	seed        []byte
	client      *http.Client

	mu        sync.Mutex
	ok        int               // 2xx answers
	got503    int               // 503 answers
	failures  []string          // anything else: 500s, hangs, wrong answers
	committed map[string][]byte // uploads answered 201: path → bytes
}

func (l *outageLoad) counts() (ok, got503 int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok, l.got503
}

// record classifies one answer: want is the success status.
func (l *outageLoad) record(what string, want, status int, h http.Header, body []byte, err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		l.failures = append(l.failures, fmt.Sprintf("%s: no answer: %v", what, err))
	case status == want:
		l.ok++
		return true
	case status == http.StatusServiceUnavailable:
		l.got503++
		if msg := checkUnavailable(h, body); msg != "" {
			l.failures = append(l.failures, what+": "+msg)
		}
		var e struct {
			Message string `json:"message"`
		}
		if strings.Contains(what, "/api/v1/") && (json.Unmarshal(body, &e) != nil || e.Message == "") {
			l.failures = append(l.failures, fmt.Sprintf("%s: 503 not in Gitea's {message,url} shape: %s", what, body))
		}
	default:
		l.failures = append(l.failures, fmt.Sprintf("%s: status %d (want %d or 503): %.200s", what, status, want, body))
	}
	return false
}

// worker loops over reads and small uploads until stop is closed.
func (l *outageLoad) worker(w int, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		status, h, body, err := outageDo(l.client, "GET", l.base+"/api/v1/user", l.token, "", nil)
		l.record("GET /api/v1/user", http.StatusOK, status, h, body, err)

		status, h, body, err = outageDo(l.client, "GET", l.base+"/api/packages/boss/generic/seed/1.0.0/seed.bin", l.token, "", nil)
		if l.record("GET seed.bin", http.StatusOK, status, h, body, err) && !bytes.Equal(body, l.seed) {
			l.mu.Lock()
			l.failures = append(l.failures, "GET seed.bin: wrong bytes")
			l.mu.Unlock()
		}

		status, h, body, err = outageDo(l.client, "GET", l.base+"/api/v1/packages/boss?limit=5", l.token, "", nil)
		l.record("GET /api/v1/packages/boss", http.StatusOK, status, h, body, err)

		data := make([]byte, 1024+i%3072)
		_, _ = rand.Read(data)
		path := fmt.Sprintf("/api/packages/boss/generic/load/%d.%d.0/f.bin", w, i)
		status, h, body, err = outageDo(l.client, "PUT", l.base+path, l.token, "application/octet-stream", data)
		if l.record("PUT "+path, http.StatusCreated, status, h, body, err) {
			l.mu.Lock()
			l.committed[path] = data
			l.mu.Unlock()
		}
	}
}

// lsRemote runs the real git ls-remote, bounded like every request here.
func lsRemote(t *testing.T, repoURL string) (string, error) {
	ctx, cancel := context.WithTimeout(t.Context(), outageClientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "ls-remote", repoURL)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitUntil polls cond until it holds, failing after limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOutagePostgresRestart restarts PostgreSQL (a fast shutdown, then a
// crash-like immediate one) under a small concurrent load on the real
// binary: every answer is the expected success or a 503 with Retry-After,
// never a 500 and never a hang; wharf recovers by itself once the database
// is back; every upload that was answered 201 is there afterwards with its
// bytes.
func TestOutagePostgresRestart(t *testing.T) {
	requireClient(t, "git")
	pg := startOutagePG(t)
	work := t.TempDir()
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "WHARF__LOG__LEVEL=info",
		"WHARF__DATABASE__DB_TYPE=postgres", fmt.Sprintf("WHARF__DATABASE__HOST=127.0.0.1:%d", pg.port),
		"WHARF__DATABASE__NAME=postgres", "WHARF__DATABASE__USER=postgres",
		"WHARF_ADMIN_USER=boss", "WHARF_ADMIN_PASSWORD=boss-password-1"}
	p := startWeb(t, work, env)
	token := firstStartToken(t, p)

	client := &http.Client{Timeout: outageClientTimeout}
	seed := []byte("seed bytes that every reader checks\n")
	if status, _, body, err := outageDo(client, "PUT", p.url+"/api/packages/boss/generic/seed/1.0.0/seed.bin", token, "", seed); err != nil || status != http.StatusCreated {
		t.Fatalf("seed upload: %d %s %v", status, body, err)
	}

	gc, err := gitea.NewClient(p.url, gitea.SetToken(token), gitea.SetContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gc.CreateRepo(gitea.CreateRepoOption{Name: "site", AutoInit: true}); err != nil {
		t.Fatal(err)
	}
	repoURL := authURL(p.url, "boss", "boss-password-1", "boss/site.git")

	load := &outageLoad{base: p.url, token: token, seed: seed, client: client, committed: map[string][]byte{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); load.worker(w, stop) }()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	t.Cleanup(func() {
		if t.Failed() {
			load.mu.Lock()
			defer load.mu.Unlock()
			t.Logf("load failures (%d), first ones: %.3000s\nlog (errors): %.12000s", len(load.failures), strings.Join(load.failures[:min(len(load.failures), 15)], "\n"), logErrors(p.stderr.String()))
		}
	})

	waitUntil(t, 60*time.Second, "load warms up", func() bool { ok, _ := load.counts(); return ok >= 40 })
	for _, mode := range []string{"fast", "immediate"} {
		_, before503 := load.counts()
		pg.stop(t, mode)
		// The load must meet the outage: requests answered 503 while the
		// database is down.
		waitUntil(t, 60*time.Second, "503s while PostgreSQL is down ("+mode+")", func() bool {
			_, n := load.counts()
			return n >= before503+8
		})
		// git meets the outage too, with an answer it reports.
		if out, err := lsRemote(t, repoURL); err == nil || !strings.Contains(out, "503") {
			t.Errorf("git ls-remote while PostgreSQL is down (%s): %v\n%s", mode, err, out)
		}
		pg.start(t)
		back := time.Now()
		waitUntil(t, 60*time.Second, "wharf answers again after PostgreSQL is back ("+mode+")", func() bool {
			status, _, _, err := outageDo(client, "GET", p.url+"/api/v1/user", token, "", nil)
			return err == nil && status == http.StatusOK
		})
		t.Logf("stop -m %s: first success %s after PostgreSQL was back", mode, time.Since(back).Round(time.Millisecond))
		okBack, _ := load.counts()
		waitUntil(t, 60*time.Second, "the load succeeds again ("+mode+")", func() bool { ok, _ := load.counts(); return ok >= okBack+20 })
	}
	stopLoad()
	if out, err := lsRemote(t, repoURL); err != nil || !strings.Contains(out, "refs/heads/main") {
		t.Errorf("git ls-remote after the restarts: %v\n%s", err, out)
	}

	ok, got503 := load.counts()
	t.Logf("load: %d successes, %d answers 503, %d uploads committed", ok, got503, len(load.committed))
	for _, f := range load.failures {
		t.Error(f)
	}
	for path, data := range load.committed {
		status, _, body, err := outageDo(client, "GET", p.url+path, token, "", nil)
		if err != nil || status != http.StatusOK || !bytes.Equal(body, data) {
			t.Errorf("upload %s was answered 201 but reads back %d (%d bytes, %v)", path, status, len(body), err)
		}
	}
	logs := p.stderr.String()
	for _, bad := range []string{"panic", "goroutine "} {
		if strings.Contains(logs, bad) {
			t.Errorf("log shows %q:\n%s", bad, logs)
		}
	}
	if !strings.Contains(logs, "database unavailable") {
		t.Errorf("the outage is not logged as the database being unavailable:\n%s", logs)
	}
}

// TestOutageMinioDown stops MinIO: uploads and downloads of package bytes
// answer 503 with Retry-After in each client's format, while metadata (the
// npm packument, /api/v1) and git keep working; nothing is committed that
// points at bytes that were not stored; once MinIO is back, everything
// works again.
func TestOutageMinioDown(t *testing.T) {
	requireClient(t, "git")
	m := miniotest.Start(t)
	dbCfg := unittest.DatabaseConfig(t)
	work := t.TempDir()
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "WHARF__LOG__LEVEL=info",
		"WHARF_ADMIN_USER=boss", "WHARF_ADMIN_PASSWORD=boss-password-1",
		"WHARF__STORAGE__STORAGE_TYPE=minio", "WHARF__STORAGE__MINIO_ENDPOINT=" + m.Endpoint,
		"WHARF__STORAGE__MINIO_ACCESS_KEY_ID=" + m.AccessKey, "WHARF__STORAGE__MINIO_SECRET_ACCESS_KEY=" + m.SecretKey}
	if dbCfg.Type == "postgres" {
		env = append(env, "WHARF__DATABASE__DB_TYPE=postgres", "WHARF__DATABASE__HOST="+dbCfg.Host,
			"WHARF__DATABASE__NAME="+dbCfg.Name, "WHARF__DATABASE__USER="+dbCfg.User, "WHARF__DATABASE__PASSWD="+dbCfg.Passwd)
	} else {
		env = append(env, "WHARF__DATABASE__PATH="+dbCfg.Path)
	}
	p := startWeb(t, work, env)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log: %.6000s", p.stderr.String())
		}
	})
	token := firstStartToken(t, p)
	client := &http.Client{Timeout: outageClientTimeout}
	do := func(method, path, contentType string, body []byte) (int, http.Header, []byte) {
		t.Helper()
		status, h, b, err := outageDo(client, method, p.url+path, token, contentType, body)
		if err != nil {
			t.Fatalf("%s %s: no answer: %v", method, path, err)
		}
		return status, h, b
	}
	want := func(what string, status, wantStatus int, body []byte) {
		t.Helper()
		if status != wantStatus {
			t.Fatalf("%s: status %d, want %d: %s", what, status, wantStatus, body)
		}
	}
	want503 := func(what string, status int, h http.Header, body []byte) {
		t.Helper()
		want(what, status, http.StatusServiceUnavailable, body)
		if msg := checkUnavailable(h, body); msg != "" {
			t.Errorf("%s: %s", what, msg)
		}
	}
	publish := func(version string) (int, http.Header, []byte) {
		tgz := npmTarball(pkgJSON("outage-lib", version))
		return do("PUT", "/api/packages/boss/npm/outage-lib", "application/json", []byte(npmPublishBody("outage-lib", version, nil, tgz)))
	}
	npmError := func(what string, body []byte) {
		t.Helper()
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
			t.Errorf("%s: not npm's {\"error\":…} shape: %s", what, body)
		}
	}

	// Before the outage: a generic file, an npm version, a git repository.
	v1 := []byte("generic bytes stored before the outage\n")
	status, _, body := do("PUT", "/api/packages/boss/generic/tool/1.0.0/tool.bin", "", v1)
	want("generic upload", status, http.StatusCreated, body)
	status, _, body = publish("1.0.0")
	want("npm publish 1.0.0", status, http.StatusCreated, body)
	gc, err := gitea.NewClient(p.url, gitea.SetToken(token), gitea.SetContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gc.CreateRepo(gitea.CreateRepoOption{Name: "site", AutoInit: true}); err != nil {
		t.Fatal(err)
	}

	m.Stop()

	// Uploads cannot store their bytes: 503, and nothing is committed.
	v2 := []byte("generic bytes uploaded while storage is down\n")
	status, h, body := do("PUT", "/api/packages/boss/generic/tool/2.0.0/tool.bin", "", v2)
	want503("generic upload while MinIO is down", status, h, body)
	status, h, body = publish("1.0.1")
	want503("npm publish while MinIO is down", status, h, body)
	npmError("npm publish while MinIO is down", body)
	// Downloads of bytes cannot be served either.
	status, h, body = do("GET", "/api/packages/boss/generic/tool/1.0.0/tool.bin", "", nil)
	want503("generic download while MinIO is down", status, h, body)
	status, h, body = do("GET", "/api/packages/boss/npm/outage-lib/-/outage-lib-1.0.0.tgz", "", nil)
	want503("npm tarball while MinIO is down", status, h, body)
	npmError("npm tarball while MinIO is down", body)

	// Metadata and git do not need the bytes.
	status, _, body = do("GET", "/api/packages/boss/npm/outage-lib", "", nil)
	want("npm packument while MinIO is down", status, http.StatusOK, body)
	var doc struct {
		Versions map[string]any `json:"versions"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Versions) != 1 || doc.Versions["1.0.0"] == nil {
		t.Errorf("packument while MinIO is down: want only 1.0.0: %s", body)
	}
	status, _, body = do("GET", "/api/v1/packages/boss?limit=50", "", nil)
	want("package list while MinIO is down", status, http.StatusOK, body)
	if strings.Contains(string(body), `"2.0.0"`) || strings.Contains(string(body), `"1.0.1"`) {
		t.Errorf("a refused upload is listed: %s", body)
	}
	status, _, body = do("GET", "/api/v1/repos/boss/site", "", nil)
	want("repository while MinIO is down", status, http.StatusOK, body)
	clones := t.TempDir()
	gitCmd{t, clones}.must("clone", "-q", authURL(p.url, "boss", "boss-password-1", "boss/site.git"), "site")
	g := gitCmd{t, filepath.Join(clones, "site")}
	g.must("-c", "user.name=boss", "-c", "user.email=boss@example.com", "commit", "-q", "--allow-empty", "-m", "while storage is down")
	g.must("push", "-q", "origin", "HEAD")

	m.Restart(t)

	// Nothing of the refused uploads was committed.
	status, _, body = do("GET", "/api/packages/boss/generic/tool/2.0.0/tool.bin", "", nil)
	want("refused generic upload after MinIO is back", status, http.StatusNotFound, body)
	// Everything works again.
	status, _, body = do("GET", "/api/packages/boss/generic/tool/1.0.0/tool.bin", "", nil)
	want("generic download after MinIO is back", status, http.StatusOK, body)
	if !bytes.Equal(body, v1) {
		t.Errorf("generic download after MinIO is back: wrong bytes %q", body)
	}
	status, _, body = do("PUT", "/api/packages/boss/generic/tool/2.0.0/tool.bin", "", v2)
	want("generic upload after MinIO is back", status, http.StatusCreated, body)
	status, _, body = publish("1.0.1")
	want("npm publish after MinIO is back", status, http.StatusCreated, body)
	status, _, body = do("GET", "/api/packages/boss/npm/outage-lib/-/outage-lib-1.0.1.tgz", "", nil)
	want("npm tarball after MinIO is back", status, http.StatusOK, body)
	gitCmd{t, clones}.must("clone", "-q", authURL(p.url, "boss", "boss-password-1", "boss/site.git"), "again")

	// Every blob row points at bytes MinIO holds, with the right digest.
	d, err := db.Open(t.Context(), dbCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var blobs []struct {
		HashSHA256 string `xorm:"hash_sha256"`
		Size       int64  `xorm:"size"`
	}
	if err := d.Xorm().SQL("SELECT hash_sha256, size FROM package_blob").Find(&blobs); err != nil {
		t.Fatal(err)
	}
	store, err := storage.NewMinio(t.Context(), storage.MinioConfig{Endpoint: m.Endpoint, AccessKeyID: m.AccessKey,
		SecretAccessKey: m.SecretKey, Bucket: "wharf", Location: "us-east-1", BasePath: "packages/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 4 {
		t.Errorf("%d blob rows, want 4 (two generic files, two npm tarballs)", len(blobs))
	}
	for _, b := range blobs {
		checkStoredBlob(t.Context(), t, store, b.HashSHA256, b.Size)
	}
	if logs := p.stderr.String(); !strings.Contains(logs, "storage unavailable") {
		t.Errorf("the outage is not logged as storage being unavailable:\n%s", logs)
	}
}

// checkStoredBlob reads a blob back and checks its size and SHA-256.
func checkStoredBlob(ctx context.Context, t *testing.T, store storage.Store, key string, size int64) {
	t.Helper()
	o, err := store.Open(ctx, key)
	if err != nil {
		t.Errorf("blob row %s has no bytes in storage: %v", key, err)
		return
	}
	defer o.Close()
	h := sha256.New()
	n, err := io.Copy(h, o)
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != key {
		t.Errorf("blob %s: read %d bytes (row says %d), digest %x, %v", key, n, size, h.Sum(nil), err)
	}
}

// logErrors keeps the lines of a process log that say something failed
// other than the outage's expected 503s: what a failing outage test needs
// to show, where the whole log is too long to read.
func logErrors(log string) string {
	var keep []string
	for line := range strings.Lines(log) {
		expected := strings.Contains(line, "unavailable, try again later")
		if !expected && (strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") || strings.Contains(line, "status=500")) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}
