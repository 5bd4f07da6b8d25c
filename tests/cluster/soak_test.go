//go:build cluster && soak

package cluster

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the database/sql driver the SQLite soak's check reads with

	"wharf/modules/storage"
)

// The soak (issue 16, part 3): SOAK_DURATION (10m by default) of mixed load
// from soakClients clients — npm publish, packument and tarball reads,
// Composer uploads, p2 documents and dist downloads, generic uploads and
// downloads of a few KiB to a few MiB, git push and clone with the real
// git, and deletes — on two processes sharing PostgreSQL and MinIO, and on
// one process on SQLite and local disk. Every request is recorded; the
// soak prints its figures, then checks the database and every stored
// object against each other and against what the clients were told.
// It fails on any 5xx, any request without an answer, any answer a client
// must not get, and any inconsistency. `make soak` runs it.

const soakClients = 16

// soakEnv is the configuration of every soak process: the cleanup task
// (which collects unreferenced blobs) runs every minute with a short grace,
// so that it races the uploads and deletes of the load.
var soakEnv = []string{
	"WHARF__CRON_0X2E_CLEANUP_PACKAGES__SCHEDULE=@every 1m",
	"WHARF__PACKAGES__BLOB_GC_GRACE=1m",
}

func soakDuration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("SOAK_DURATION")
	if v == "" {
		return 10 * time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("SOAK_DURATION=%q: want a duration such as 60s or 10m", v)
	}
	return d
}

// TestSoakCluster: two processes on one PostgreSQL and one MinIO bucket,
// every request sent to either at random.
func TestSoakCluster(t *testing.T) {
	d := soakDuration(t)
	g := gitClient(t)
	c := newCluster(t, options{Env: soakEnv})
	runSoak(t, soakSetup{name: "cluster (2 processes, PostgreSQL, MinIO)", procs: c.Procs[:], db: c.DB, store: c.Store, git: g}, d)
}

// TestSoakSQLite: one process on SQLite and the local disk store.
func TestSoakSQLite(t *testing.T) {
	d := soakDuration(t)
	g := gitClient(t)
	p, db, store, _ := startSQLiteProc(t)
	runSoak(t, soakSetup{name: "single process (SQLite, local disk)", procs: []*proc{p}, db: db, store: store, git: g}, d)
}

// startSQLiteProc starts one `wharf web` on its defaults (SQLite at
// data/wharf.db, blobs under data/packages) with the soak's configuration,
// and opens its database and store (at the root it returns) for the check.
func startSQLiteProc(t *testing.T) (*proc, *sql.DB, storage.Store, string) {
	t.Helper()
	work, err := os.MkdirTemp("", "wharf-soak-sqlite-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(work) })
	port := freePort(t)
	single := &cluster{Work: work, env: append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"WHARF__LOG__LEVEL=info",
		fmt.Sprintf("WHARF__SERVER__ROOT_URL=http://127.0.0.1:%d/", port),
		"WHARF_ADMIN_USER=" + adminUser, "WHARF_ADMIN_PASSWORD=" + adminPass,
	}, soakEnv...)}
	p := single.newProc(t, "S", port)
	p.start(t)
	p.waitReady(t)
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(work, "data", "wharf.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	root := filepath.Join(work, "data", "packages")
	store, err := storage.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	return p, db, store, root
}

type soakSetup struct {
	name  string
	procs []*proc
	db    *sql.DB
	store storage.Store
	git   client
}

// soak is one run: the endpoints, the owners and their tokens, what the
// clients were told (the ledger) and what they saw wrong.
type soak struct {
	t         *testing.T
	endpoints []soakEndpoint
	owners    []string
	tokens    map[string]string
	git       client
	http      *http.Client
	ledger    *soakLedger

	mu         sync.Mutex
	problems   []string // inconsistencies seen by the clients
	unexpected []string // answers a client must not get
}

func (s *soak) problem(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

func (s *soak) surprise(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unexpected = append(s.unexpected, fmt.Sprintf(format, args...))
}

func runSoak(t *testing.T, setup soakSetup, d time.Duration) {
	rec := &soakRecorder{}
	s := &soak{t: t, owners: []string{"soak1", "soak2"}, tokens: map[string]string{}, git: setup.git, ledger: &soakLedger{},
		http: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * soakClients}}}
	for _, p := range setup.procs {
		s.endpoints = append(s.endpoints, newSoakEndpoint(t, rec, p))
	}
	first := setup.procs[0]
	for _, o := range s.owners {
		createUser(t, first, o)
		s.tokens[o] = token(t, setup.procs[len(setup.procs)-1], o, "soak", "write:package", "write:repository")
	}
	workers := make([]*soakWorker, soakClients)
	for i := range workers {
		owner := s.owners[i%len(s.owners)]
		w := &soakWorker{s: s, id: i, owner: owner, tok: s.tokens[owner], rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
		w.repo = fmt.Sprintf("repo-c%d", i)
		h := basic(owner, owner+"-password")
		h["Content-Type"] = "application/json"
		if status, _, body := do(t, "POST", first.URL+"/api/v1/user/repos", strings.NewReader(fmt.Sprintf(`{"name":%q}`, w.repo)), h); status != http.StatusCreated {
			t.Fatalf("create repository %s/%s: %d %s", owner, w.repo, status, body)
		}
		workers[i] = w
	}
	t.Logf("soak %s: %d clients for %s across %d process(es)", setup.name, soakClients, d, len(s.endpoints))
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	var ops atomic.Int64
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && t.Context().Err() == nil {
				w.step()
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	recs := rec.all()
	sum := summarize(recs)
	report := sum.report(setup.name, elapsed, recs)
	t.Logf("%d client operations\n%s", ops.Load(), report)

	// The load has stopped: let the jobs it enqueued finish, then check.
	drainJobs(t.Context(), t, setup.db, 3*time.Minute)
	problems, info, err := checkConsistency(t.Context(), setup.db, setup.store, s.ledger)
	if err != nil {
		t.Fatalf("consistency check: %v", err)
	}
	t.Log(info)
	problems = append(problems, s.problems...)
	fail := false
	if len(problems) > 0 {
		fail = true
		t.Errorf("%d inconsistencies:\n  %s", len(problems), strings.Join(limit(problems, 50), "\n  "))
	}
	if len(s.unexpected) > 0 {
		fail = true
		t.Errorf("%d answers a client must not get:\n  %s", len(s.unexpected), strings.Join(limit(s.unexpected, 50), "\n  "))
	}
	if sum.FiveXX > 0 || sum.Transport > 0 {
		fail = true
		var b strings.Builder
		for _, r := range sum.Failures {
			fmt.Fprintf(&b, "\n  %s %s %s via %s: %d after %s ms: %s", r.op, r.method, r.path, r.proc, r.status, ms(r.took), strings.TrimSpace(r.detail))
		}
		t.Errorf("%d 5xx and %d requests without an answer; the first:%s", sum.FiveXX, sum.Transport, b.String())
	}
	for _, p := range setup.procs {
		lines := logProblems(p.stderr.String())
		n := 20
		if fail {
			n = 100
		}
		t.Logf("%s: %d warnings and errors in its log%s", p.Name, len(lines), strings.Join(limit(append([]string{""}, lines...), n), "\n  "))
	}
}

func limit(lines []string, n int) []string {
	if len(lines) <= n {
		return lines
	}
	return append(lines[:n:n], fmt.Sprintf("… and %d more", len(lines)-n))
}

// logProblems are the log lines of level WARN or ERROR.
func logProblems(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			out = append(out, l)
		}
	}
	return out
}

// The ledger: every version a client was told is committed, and whether
// it then deleted it.
type itemState int32

const (
	itemLive     itemState = iota
	itemDeleting           // a delete is on its way: reads may miss it
	itemDeleted            // the delete succeeded
	itemUnknown            // the delete got no clear answer
)

type soakItem struct {
	kind, owner, name, version string
	file                       string // the file name (npm tarball, generic file)
	sha256                     string
	size                       int64
	client                     int
	committed                  time.Time
	st                         atomic.Int32
	deletedAt                  atomic.Int64 // unix nanoseconds, once deleted
}

func (it *soakItem) state() itemState { return itemState(it.st.Load()) }
func (it *soakItem) set(s itemState)  { it.st.Store(int32(s)) }
func (it *soakItem) pkgKey() string   { return it.kind + "/" + it.owner + "/" + it.name }
func (it *soakItem) deletedBefore(t time.Time) bool {
	return it.state() == itemDeleted && it.deletedAt.Load() < t.UnixNano()
}

type soakLedger struct {
	mu    sync.Mutex
	items []*soakItem
	byPkg map[string][]*soakItem
}

func (l *soakLedger) add(it *soakItem) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byPkg == nil {
		l.byPkg = map[string][]*soakItem{}
	}
	l.items = append(l.items, it)
	l.byPkg[it.pkgKey()] = append(l.byPkg[it.pkgKey()], it)
}

func (l *soakLedger) all() []*soakItem {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*soakItem(nil), l.items...)
}

// pick returns a random live item of kind that keep accepts, or nil.
func (l *soakLedger) pick(rng *rand.Rand, kind string, keep func(*soakItem) bool) *soakItem {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.items)
	if n == 0 {
		return nil
	}
	// A few random probes, then a scan from a random place.
	for range 8 {
		it := l.items[rng.IntN(n)]
		if it.kind == kind && it.state() == itemLive && (keep == nil || keep(it)) {
			return it
		}
	}
	off := rng.IntN(n)
	for i := range n {
		it := l.items[(off+i)%n]
		if it.kind == kind && it.state() == itemLive && (keep == nil || keep(it)) {
			return it
		}
	}
	return nil
}

func (l *soakLedger) ofPackage(key string) []*soakItem {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*soakItem(nil), l.byPkg[key]...)
}

// soakWorker is one client.
type soakWorker struct {
	s     *soak
	id    int
	owner string
	tok   string
	rng   *rand.Rand
	seq   int
	repo  string
	gitWD string // the working copy, once made
}

// The mix: reads dominate; git is a small share.
var soakMix = []struct {
	weight int
	run    func(w *soakWorker)
}{
	{16, (*soakWorker).npmPackument},
	{16, (*soakWorker).npmTarball},
	{12, (*soakWorker).composerP2},
	{14, (*soakWorker).genericGet},
	{7, (*soakWorker).npmPublish},
	{5, (*soakWorker).composerUpload},
	{7, (*soakWorker).genericPut},
	{2, (*soakWorker).npmUnpublish},
	{1, (*soakWorker).composerDelete},
	{2, (*soakWorker).genericDelete},
	{2, (*soakWorker).gitPushClone},
}

func (w *soakWorker) step() {
	total := 0
	for _, m := range soakMix {
		total += m.weight
	}
	n := w.rng.IntN(total)
	for _, m := range soakMix {
		if n < m.weight {
			m.run(w)
			return
		}
		n -= m.weight
	}
}

func (w *soakWorker) endpoint() soakEndpoint { return w.s.endpoints[w.rng.IntN(len(w.s.endpoints))] }

// send makes one request to a random process and reads the whole answer.
// A request that gets no answer at all is recorded by the proxy (or here,
// if the proxy itself did not answer).
func (w *soakWorker) send(op, method, path string, body []byte, h map[string]string) (int, []byte, bool) {
	ep := w.endpoint()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(w.s.t.Context(), method, ep.URL+path, r)
	if err != nil {
		w.s.surprise("%s %s: %v", method, path, err)
		return 0, nil, false
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	req.Header.Set(soakOpHeader, op)
	resp, err := w.s.http.Do(req)
	if err != nil {
		if w.s.t.Context().Err() == nil {
			w.s.surprise("%s %s %s via %s: no answer: %v", op, method, path, ep.name, err)
		}
		return 0, nil, false
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		w.s.surprise("%s %s %s via %s: %d, body cut: %v", op, method, path, ep.name, resp.StatusCode, err)
		return resp.StatusCode, nil, false
	}
	return resp.StatusCode, out, true
}

func (w *soakWorker) auth() map[string]string { return basic(w.owner, w.tok) }

// next is a version no other client makes: 1.<client>.<n>.
func (w *soakWorker) next() string {
	w.seq++
	return fmt.Sprintf("1.%d.%d", w.id, w.seq)
}

// pkgName is the client's own package or the owner's shared one (every
// client of the owner publishes to it), half the time each.
func (w *soakWorker) pkgName(prefix string) string {
	if w.rng.IntN(2) == 0 {
		return prefix + "shared"
	}
	return fmt.Sprintf("%sc%d", prefix, w.id)
}

// content is size bytes of deterministic noise from seed.
func content(seed uint64, size int) []byte {
	b := make([]byte, size)
	var s [32]byte
	binaryPut(s[:], seed)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

func binaryPut(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// --- npm ---

func (w *soakWorker) npmPublish() {
	name, version := w.pkgName("npm-"+w.owner+"-"), w.next()
	pj := fmt.Sprintf(`{"name":%q,"version":%q}`, name, version)
	tgz := soakTarball(map[string][]byte{"package/package.json": []byte(pj), "package/data.bin": content(w.rng.Uint64(), 1<<10+w.rng.IntN(32<<10))})
	s1, s5 := sha1.Sum(tgz), sha512.Sum512(tgz)
	manifest := map[string]any{"name": name, "version": version, "dist": map[string]string{
		"shasum": hex.EncodeToString(s1[:]), "integrity": "sha512-" + base64.StdEncoding.EncodeToString(s5[:])}}
	doc := map[string]any{"_id": name, "name": name, "dist-tags": map[string]string{"latest": version},
		"versions": map[string]any{version: manifest},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}}}
	body, _ := json.Marshal(doc)
	status, out, ok := w.send("npm publish", "PUT", "/api/packages/"+w.owner+"/npm/"+name, body,
		map[string]string{"Authorization": "Bearer " + w.tok, "Content-Type": "application/json"})
	if !ok || status >= 500 {
		return
	}
	if status != http.StatusCreated {
		w.s.surprise("npm publish %s@%s: %d %s", name, version, status, out)
		return
	}
	w.s.ledger.add(&soakItem{kind: "npm", owner: w.owner, name: name, version: version, file: name + "-" + version + ".tgz",
		sha256: hexSHA256(tgz), size: int64(len(tgz)), client: w.id, committed: time.Now()})
}

func soakTarball(files map[string][]byte) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, b := range files {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(b)
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

// checkDocument compares the versions a document lists with the ledger:
// every version committed before the request and not being deleted is
// listed, none deleted before the request is.
func (w *soakWorker) checkDocument(op, pkgKey string, sent time.Time, listed map[string]bool, via string) {
	for _, it := range w.s.ledger.ofPackage(pkgKey) {
		switch {
		case it.state() == itemLive && it.committed.Before(sent) && !listed[it.version]:
			if it.state() == itemLive { // not deleted meanwhile
				w.s.problem("%s via %s: %s %s (committed %s before the request) is not listed", op, via, pkgKey, it.version, sent.Sub(it.committed).Round(time.Millisecond))
			}
		case it.deletedBefore(sent) && listed[it.version]:
			w.s.problem("%s via %s: %s %s is listed, deleted %s before the request", op, via, pkgKey, it.version, time.Duration(sent.UnixNano()-it.deletedAt.Load()).Round(time.Millisecond))
		}
	}
}

// documentMissing handles a 404 for the document of it's package: right
// when it was being deleted (it may have been the last version), wrong
// when it was live.
func (w *soakWorker) documentMissing(op string, it *soakItem, status int, out []byte) bool {
	if status != http.StatusNotFound {
		return false
	}
	if it.state() == itemLive {
		w.s.problem("%s %s/%s: 404 while %s, committed and not deleted, is in it: %s", op, it.owner, it.name, it.version, out)
	}
	return true
}

func (w *soakWorker) npmPackument() {
	it := w.s.ledger.pick(w.rng, "npm", nil)
	if it == nil {
		w.npmPublish()
		return
	}
	h := map[string]string{"Authorization": "Bearer " + w.tok}
	op := "npm packument"
	if w.rng.IntN(2) == 0 {
		h["Accept"] = "application/vnd.npm.install-v1+json"
		op = "npm packument (abbr.)"
	}
	sent := time.Now()
	status, out, ok := w.send(op, "GET", "/api/packages/"+it.owner+"/npm/"+it.name, nil, h)
	if !ok || status >= 500 || w.documentMissing(op, it, status, out) {
		return
	}
	if status != http.StatusOK {
		w.s.surprise("%s %s: %d %s", op, it.name, status, out)
		return
	}
	var doc struct {
		Versions map[string]json.RawMessage `json:"versions"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		w.s.surprise("%s %s: not JSON: %v", op, it.name, err)
		return
	}
	listed := map[string]bool{}
	for v := range doc.Versions {
		listed[v] = true
	}
	w.checkDocument(op, it.pkgKey(), sent, listed, "")
}

func (w *soakWorker) npmTarball() {
	it := w.s.ledger.pick(w.rng, "npm", nil)
	if it == nil {
		w.npmPublish()
		return
	}
	status, out, ok := w.send("npm tarball", "GET", "/api/packages/"+it.owner+"/npm/"+it.name+"/-/"+it.file, nil,
		map[string]string{"Authorization": "Bearer " + w.tok})
	w.checkDownload("npm tarball", it, status, out, ok)
}

// checkDownload: a committed file is served whole, or missing only because
// its delete is on its way.
func (w *soakWorker) checkDownload(op string, it *soakItem, status int, out []byte, ok bool) {
	if !ok || status >= 500 {
		return
	}
	switch {
	case status == http.StatusOK && it.sha256 == "":
		if err := checkArchive(out); err != nil {
			w.s.problem("%s %s/%s %s: the built archive: %v", op, it.owner, it.name, it.version, err)
		}
	case status == http.StatusOK:
		if got := hexSHA256(out); got != it.sha256 {
			w.s.problem("%s %s/%s %s: %d bytes hashing to %s, uploaded %d bytes hashing to %s", op, it.owner, it.name, it.version, len(out), got, it.size, it.sha256)
		}
	case status == http.StatusNotFound && it.state() != itemLive:
	case status == http.StatusNotFound:
		w.s.problem("%s %s/%s %s: 404 for a committed version nobody deleted: %s", op, it.owner, it.name, it.version, out)
	default:
		w.s.surprise("%s %s/%s %s: %d %s", op, it.owner, it.name, it.version, status, out)
	}
}

// checkArchive: a zip holding a composer.json at its root or under one
// top directory.
func checkArchive(b []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		if f.Name == "composer.json" || strings.HasSuffix(f.Name, "/composer.json") && strings.Count(f.Name, "/") == 1 {
			return nil
		}
	}
	return fmt.Errorf("no composer.json among %d entries", len(zr.File))
}

// npmUnpublish removes one of the client's own versions the way npm does:
// the document with the version left out, PUT under its revision. A
// revision that moved meanwhile (another publish) is a conflict, and the
// version stays.
func (w *soakWorker) npmUnpublish() {
	it := w.s.ledger.pick(w.rng, "npm", func(it *soakItem) bool { return it.client == w.id })
	if it == nil {
		w.npmPublish()
		return
	}
	it.set(itemDeleting)
	h := map[string]string{"Authorization": "Bearer " + w.tok}
	status, out, ok := w.send("npm doc for write", "GET", "/api/packages/"+w.owner+"/npm/"+it.name+"?write=true", nil, h)
	if !ok || status != http.StatusOK {
		if ok && status < 500 {
			w.s.surprise("npm doc for write %s: %d %s", it.name, status, out)
		}
		it.set(itemLive)
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		w.s.surprise("npm doc for write %s: %v", it.name, err)
		it.set(itemLive)
		return
	}
	versions, _ := doc["versions"].(map[string]any)
	if _, listed := versions[it.version]; !listed {
		w.s.problem("npm doc for write %s: committed %s is not listed", it.name, it.version)
		it.set(itemLive)
		return
	}
	rev, _ := doc["_rev"].(string)
	if len(versions) == 1 {
		// The last version: npm removes the package.
		status, out, ok = w.send("npm unpublish package", "DELETE", "/api/packages/"+w.owner+"/npm/"+it.name+"/-rev/"+rev, nil, h)
	} else {
		delete(versions, it.version)
		body, _ := json.Marshal(doc)
		h["Content-Type"] = "application/json"
		status, out, ok = w.send("npm unpublish", "PUT", "/api/packages/"+w.owner+"/npm/"+it.name+"/-rev/"+rev, body, h)
	}
	switch {
	case !ok || status >= 500:
		it.set(itemUnknown)
	case status == http.StatusOK || status == http.StatusCreated:
		it.deletedAt.Store(time.Now().UnixNano())
		it.set(itemDeleted)
	case status == http.StatusConflict:
		it.set(itemLive)
	default:
		w.s.surprise("npm unpublish %s@%s: %d %s", it.name, it.version, status, out)
		it.set(itemLive)
	}
}

// --- Composer ---

func (w *soakWorker) composerUpload() {
	name, version := w.owner+"/"+w.pkgName("comp-"), w.next()
	z := soakZip(map[string][]byte{
		"composer.json": []byte(`{"name":"` + name + `","type":"library","require":{"php":">=8.1"},"autoload":{"psr-4":{"Soak\\":"src/"}}}`),
		"src/Lib.php":   []byte("<?php\nnamespace Soak;\nclass Lib {}\n"),
		"data.bin":      content(w.rng.Uint64(), 1<<10+w.rng.IntN(24<<10)),
	})
	status, out, ok := w.send("composer upload", "PUT", "/api/packages/"+w.owner+"/composer?version="+version, z, w.auth())
	if !ok || status >= 500 {
		return
	}
	if status != http.StatusCreated {
		w.s.surprise("composer upload %s %s: %d %s", name, version, status, out)
		return
	}
	w.s.ledger.add(&soakItem{kind: "composer", owner: w.owner, name: name, version: version,
		sha256: hexSHA256(z), size: int64(len(z)), client: w.id, committed: time.Now()})
}

func soakZip(files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range files {
		f, _ := zw.Create(name)
		_, _ = f.Write(b)
	}
	_ = zw.Close()
	return buf.Bytes()
}

// composerP2 reads a package's p2 document, checks its versions, and
// downloads one dist archive it lists.
func (w *soakWorker) composerP2() {
	it := w.s.ledger.pick(w.rng, "composer", nil)
	if it == nil {
		w.composerUpload()
		return
	}
	sent := time.Now()
	status, out, ok := w.send("composer p2", "GET", "/api/packages/"+it.owner+"/composer/p2/"+it.name+".json", nil, w.auth())
	if !ok || status >= 500 || w.documentMissing("composer p2", it, status, out) {
		return
	}
	if status != http.StatusOK {
		w.s.surprise("composer p2 %s: %d %s", it.name, status, out)
		return
	}
	var doc struct {
		Packages map[string][]struct {
			Version string `json:"version"`
			Dist    struct {
				URL string `json:"url"`
			} `json:"dist"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		w.s.surprise("composer p2 %s: not JSON: %v", it.name, err)
		return
	}
	listed := map[string]bool{}
	dist := map[string]string{}
	for _, v := range doc.Packages[it.name] {
		listed[v.Version] = true
		dist[v.Version] = v.Dist.URL
	}
	w.checkDocument("composer p2", it.pkgKey(), sent, listed, "")
	if w.rng.IntN(2) != 0 || dist[it.version] == "" {
		return
	}
	u, err := url.Parse(dist[it.version])
	if err != nil {
		w.s.surprise("composer p2 %s: dist URL %q: %v", it.name, dist[it.version], err)
		return
	}
	status, out, ok = w.send("composer dist", "GET", u.EscapedPath(), nil, w.auth())
	w.checkDownload("composer dist", it, status, out, ok)
}

func (w *soakWorker) composerDelete() {
	it := w.s.ledger.pick(w.rng, "composer", func(it *soakItem) bool { return it.client == w.id })
	if it == nil {
		w.composerUpload()
		return
	}
	it.set(itemDeleting)
	status, out, ok := w.send("composer delete", "DELETE", "/api/v1/packages/"+w.owner+"/composer/"+url.PathEscape(it.name)+"/"+it.version, nil, w.auth())
	w.deleted("composer delete", it, status, out, ok)
}

// deleted records the outcome of a delete.
func (w *soakWorker) deleted(op string, it *soakItem, status int, out []byte, ok bool) {
	switch {
	case !ok || status >= 500:
		it.set(itemUnknown)
	case status == http.StatusNoContent || status == http.StatusOK:
		it.deletedAt.Store(time.Now().UnixNano())
		it.set(itemDeleted)
	default:
		w.s.surprise("%s %s %s: %d %s", op, it.name, it.version, status, out)
		it.set(itemLive)
	}
}

// --- generic ---

// genericSize: mostly a few KiB, some up to a MiB, a few up to 4 MiB.
func (w *soakWorker) genericSize() int {
	switch n := w.rng.IntN(100); {
	case n < 70:
		return 4<<10 + w.rng.IntN(60<<10)
	case n < 97:
		return 64<<10 + w.rng.IntN(960<<10)
	default:
		return 1<<20 + w.rng.IntN(3<<20)
	}
}

// soakPool are the contents uploaded again and again (one in five
// uploads): the same blob is referenced, released and referenced anew
// while the cleanup task collects released blobs.
var soakPool = []int{5 << 10, 40 << 10, 300 << 10, 1 << 20}

func (w *soakWorker) genericPut() {
	name, version := w.pkgName("gen-"), w.next()
	var b []byte
	if w.rng.IntN(5) == 0 {
		i := w.rng.IntN(len(soakPool))
		b = content(uint64(1000+i), soakPool[i])
	} else {
		b = content(w.rng.Uint64(), w.genericSize())
	}
	file := "blob.bin"
	status, out, ok := w.send("generic upload", "PUT", "/api/packages/"+w.owner+"/generic/"+name+"/"+version+"/"+file, b, w.auth())
	if !ok || status >= 500 {
		return
	}
	if status != http.StatusCreated {
		w.s.surprise("generic upload %s %s: %d %s", name, version, status, out)
		return
	}
	w.s.ledger.add(&soakItem{kind: "generic", owner: w.owner, name: name, version: version, file: file,
		sha256: hexSHA256(b), size: int64(len(b)), client: w.id, committed: time.Now()})
}

func (w *soakWorker) genericGet() {
	it := w.s.ledger.pick(w.rng, "generic", nil)
	if it == nil {
		w.genericPut()
		return
	}
	status, out, ok := w.send("generic download", "GET", "/api/packages/"+it.owner+"/generic/"+it.name+"/"+it.version+"/"+it.file, nil, w.auth())
	w.checkDownload("generic download", it, status, out, ok)
}

func (w *soakWorker) genericDelete() {
	it := w.s.ledger.pick(w.rng, "generic", func(it *soakItem) bool { return it.client == w.id })
	if it == nil {
		w.genericPut()
		return
	}
	it.set(itemDeleting)
	status, out, ok := w.send("generic delete", "DELETE", "/api/packages/"+w.owner+"/generic/"+it.name+"/"+it.version, nil, w.auth())
	w.deleted("generic delete", it, status, out, ok)
}

// --- git ---

// gitPushClone commits to the client's own repository, pushes through one
// process and clones through another (or the same, with one process):
// the clone has the pushed commit.
func (w *soakWorker) gitPushClone() {
	g := w.s.git
	if w.gitWD == "" {
		dir, err := os.MkdirTemp("", "wharf-soak-git-")
		if err != nil {
			w.s.surprise("git work dir: %v", err)
			return
		}
		w.s.t.Cleanup(func() { _ = os.RemoveAll(dir) })
		if out, err := g.run(dir, "init", "-q", "-b", "main", "src"); err != nil {
			w.s.surprise("git init: %v\n%s", err, out)
			return
		}
		w.gitWD = dir
		// The repository is a Composer library too: some pushes tag a
		// version and register it (its archive is built by a job).
		composerJSON := fmt.Sprintf(`{"name":"%s/git-c%d","type":"library","autoload":{"psr-4":{"Soak\\Git\\":"src/"}}}`, w.owner, w.id)
		if err := os.WriteFile(filepath.Join(dir, "src", "composer.json"), []byte(composerJSON), 0o644); err != nil {
			w.s.surprise("git write: %v", err)
			return
		}
	}
	src := filepath.Join(w.gitWD, "src")
	w.seq++
	name := fmt.Sprintf("f%d.txt", w.seq%20)
	if err := os.WriteFile(filepath.Join(src, name), []byte(hex.EncodeToString(content(w.rng.Uint64(), 2<<10))), 0o644); err != nil {
		w.s.surprise("git write: %v", err)
		return
	}
	for _, args := range [][]string{{"add", "."}, {"commit", "-qm", fmt.Sprintf("change %d", w.seq)}} {
		if out, err := g.run(src, args...); err != nil {
			w.s.surprise("git %s: %v\n%s", args[0], err, out)
			return
		}
	}
	head, err := g.run(src, "rev-parse", "HEAD")
	if err != nil {
		w.s.surprise("git rev-parse: %v\n%s", err, head)
		return
	}
	head = strings.TrimSpace(head)
	refs := []string{"main"}
	tag := ""
	if w.rng.IntN(3) == 0 {
		tag = "v" + w.next()
		if out, err := g.run(src, "tag", tag); err != nil {
			w.s.surprise("git tag: %v\n%s", err, out)
			return
		}
		refs = append(refs, "refs/tags/"+tag)
	}
	push := w.endpoint()
	if out, err := g.run(src, append([]string{"push", "-q", authURL(push.URL, w.owner, w.tok, w.owner+"/"+w.repo+".git")}, refs...)...); err != nil {
		w.s.surprise("git push %s/%s via %s: %v\n%s", w.owner, w.repo, push.name, err, out)
		return
	}
	if tag != "" {
		w.composerRegister(tag)
	}
	clone := w.endpoint()
	dst := filepath.Join(w.gitWD, fmt.Sprintf("clone%d", w.seq))
	defer os.RemoveAll(dst)
	if out, err := g.run(w.gitWD, "clone", "-q", authURL(clone.URL, w.owner, w.tok, w.owner+"/"+w.repo+".git"), dst); err != nil {
		w.s.surprise("git clone %s/%s via %s: %v\n%s", w.owner, w.repo, clone.name, err, out)
		return
	}
	got, err := g.run(dst, "rev-parse", "HEAD")
	if err != nil {
		w.s.surprise("git rev-parse of the clone: %v\n%s", err, got)
		return
	}
	if strings.TrimSpace(got) != head {
		w.s.problem("git: pushed %s to %s/%s via %s, a clone via %s is at %s", head, w.owner, w.repo, push.name, clone.name, strings.TrimSpace(got))
	}
}

// composerRegister registers the pushed tag as a version of the
// repository's Composer package, through any process: the version has no
// archive until a job (on either process) or the first download builds
// it.
func (w *soakWorker) composerRegister(tag string) {
	h := w.auth()
	h["Content-Type"] = "application/json"
	name, version := fmt.Sprintf("%s/git-c%d", w.owner, w.id), strings.TrimPrefix(tag, "v")
	status, out, ok := w.send("composer register", "POST", "/api/packages/"+w.owner+"/composer",
		[]byte(fmt.Sprintf(`{"repository":%q,"tag":%q}`, w.repo, tag)), h)
	if !ok || status >= 500 {
		return
	}
	if status != http.StatusCreated {
		w.s.surprise("composer register %s %s: %d %s", name, tag, status, out)
		return
	}
	// The archive is the server's: no digest to compare, only a zip with
	// the composer.json.
	w.s.ledger.add(&soakItem{kind: "composer", owner: w.owner, name: name, version: version, client: w.id, committed: time.Now()})
}
