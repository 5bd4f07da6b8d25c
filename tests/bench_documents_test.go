package tests

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wharf/modules/packages/rubygems/gemtest"
)

// The metadata documents clients fetch on every install, each measured the
// same way (benchDocument) at 200 and at 1,000 versions: warm requests and
// revalidations (304) from 8 concurrent clients beside a bare handler that
// serves the bytes and headers Wharf sent from memory, in the same run; and
// the first request after a change (cold) beside the one after it.

// documentKind is one metadata document: how to seed a package of n
// versions as publishes store it, where the document is, what its client
// sends, and a cheap change that moves it.
type documentKind struct {
	name string
	// path is the document's path under /api/packages/acme/.
	path string
	// header is what the client sends with every request for it.
	header map[string]string
	// validator is what the client sends back: "etag" (If-None-Match) or
	// "modified" (If-Modified-Since).
	validator string
	// ranged: Bundler also asks for the bytes past its copy (Range).
	ranged bool
	// seed makes the package, n versions, with the token's owner acme.
	seed func(b *testing.B, s *server, tok string, n int)
	// check says whether the (decoded) document holds n versions.
	check func(body []byte, n int) error
	// change is the i-th cheap change through the API: it moves the
	// document's stamp, and (moves) its bytes.
	change func(b *testing.B, s *server, tok string, i int)
	moves  bool
}

// acceptGzip is what npm, Composer, cargo and Bundler send for a document.
const acceptGzip = "gzip"

var documentKinds = []documentKind{
	{
		name:   "npm-full",
		path:   "npm/big",
		header: map[string]string{"Accept": "application/json", "Accept-Encoding": acceptGzip},
		seed:   seedNpmDocument, check: checkNpmDocument, change: changeNpmDocument, moves: true,
		validator: "etag",
	},
	{
		name: "npm-abbreviated",
		path: "npm/big",
		header: map[string]string{"Accept": "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*",
			"Accept-Encoding": acceptGzip},
		seed: seedNpmDocument, check: checkNpmDocument, change: changeNpmDocument, moves: true,
		validator: "etag",
	},
	{
		name:   "composer-p2",
		path:   "composer/p2/acme/big.json",
		header: map[string]string{"Accept-Encoding": acceptGzip},
		seed:   seedComposerDocument, check: checkComposerP2, change: changeComposerDocument, moves: true,
		validator: "modified",
	},
	{
		// The names do not change with a version: only the stamp moves.
		name:   "composer-packages.json",
		path:   "composer/packages.json",
		header: map[string]string{"Accept-Encoding": acceptGzip},
		seed:   seedComposerDocument, check: checkComposerRoot, change: changeComposerDocument,
		validator: "modified",
	},
	{
		name:   "cargo-index",
		path:   "cargo/3/b/big",
		header: map[string]string{"Accept-Encoding": acceptGzip},
		seed:   seedCargoDocument, check: checkLines(0), change: changeCargoDocument, moves: true,
		validator: "etag",
	},
	{
		name:   "rubygems-info",
		path:   "rubygems/info/big",
		header: map[string]string{"Accept-Encoding": acceptGzip},
		seed:   seedRubyGemsDocument, check: checkLines(1), change: changeRubyGemsDocument, moves: true,
		validator: "etag", ranged: true,
	},
	{
		name:   "rubygems-versions",
		path:   "rubygems/versions",
		header: map[string]string{"Accept-Encoding": acceptGzip},
		seed:   seedRubyGemsDocument, check: checkRubyGemsVersions, change: changeRubyGemsDocument, moves: true,
		validator: "etag", ranged: true,
	},
}

// BenchmarkDocuments measures every document kind at 200 and 1,000
// versions: BenchmarkDocuments/npm-full/versions=200/warm and so on. With
// -short, fewer requests (make bench-quick).
func BenchmarkDocuments(b *testing.B) {
	for _, k := range documentKinds {
		b.Run(k.name, func(b *testing.B) {
			for _, n := range []int{200, 1000} {
				b.Run("versions="+strconv.Itoa(n), func(b *testing.B) { benchDocument(b, k, n) })
			}
		})
	}
}

// benchDocument seeds a package of n versions and measures its document:
//   - warm: 8 concurrent clients asking as the client does, beside a bare
//     handler serving the bytes and headers Wharf answered from memory:
//     req/s, p99, the baseline's req/s and the ratio;
//   - 304: the same with the validator the client sends back;
//   - range (Bundler): the last bytes with a stale ETag, 206;
//   - cold: a cheap change, then one GET (cold-ms), then another (warm-ms),
//     one client.
func benchDocument(b *testing.B, k documentKind, n int) {
	// peak-RSS-MiB is this document's: VmHWM starts again (Linux 4.0+).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatal(err)
	}
	// Composer (and Cargo, RubyGems) show no Last-Modified for 2 s after a
	// change: the app's clock is moved on past that once seeded.
	var skew atomic.Int64
	s := newServerWithClock(b, func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
	s.createUser(b, "acme")
	tok := packageToken(b, s, "acme", "bench", "write:package")
	k.seed(b, s, tok, n)
	skew.Add(int64(3 * time.Second))
	url := s.URL + "/api/packages/acme/" + k.path

	full := steadyFetch(b, url, k.header, http.StatusOK)
	doc := decodedBody(b, full)
	if err := k.check(doc, n); err != nil {
		b.Fatalf("%s: %v", url, err)
	}
	b.Logf("%s: %d bytes, %d as sent (Content-Encoding %q), ETag %q, Last-Modified %q", k.path, len(doc), len(full.body),
		full.header.Get("Content-Encoding"), full.header.Get("ETag"), full.header.Get("Last-Modified"))

	cond := maps.Clone(k.header)
	switch k.validator {
	case "etag":
		if full.header.Get("ETag") == "" {
			b.Fatalf("%s: no ETag", url)
		}
		cond["If-None-Match"] = full.header.Get("ETag")
	case "modified":
		if full.header.Get("Last-Modified") == "" {
			b.Fatalf("%s: no Last-Modified", url)
		}
		cond["If-Modified-Since"] = full.header.Get("Last-Modified")
	}
	cases := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"warm", k.header, http.StatusOK},
		{"304", cond, http.StatusNotModified},
	}
	if k.ranged {
		// Bundler asks for the bytes after its copy, minus one (here a
		// copy 200 bytes short), with its copy's ETag, and no gzip.
		identity := fetchRaw(b, url, nil, http.StatusOK)
		tail := "bytes=" + strconv.Itoa(len(identity.body)-200) + "-"
		cases = append(cases, struct {
			name   string
			header map[string]string
			want   int
		}{"range", map[string]string{"Range": tail, "If-None-Match": `"0123456789abcdef0123456789abcdef"`}, http.StatusPartialContent})
	}
	for _, c := range cases {
		bare := bareServer(b, steadyFetch(b, url, c.header, c.want))
		b.Run(c.name, func(b *testing.B) {
			reportLoad(b, url, bare.URL, c.header, c.want)
			b.ReportMetric(float64(len(full.body)), "doc-bytes")
			b.ReportMetric(peakRSS(b, os.Getpid()), "peak-RSS-MiB")
		})
	}
	// The framework may run "cold" more than once (b.N 1, then more):
	// the changes go on numbering from where the last run stopped, so
	// that no change repeats one (a gem version pushed twice is refused).
	changes := 0
	b.Run("cold", func(b *testing.B) { reportCold(b, s, tok, k, url, &changes) })
}

// reportCold times the first GET after each of a series of cheap changes
// (cold-ms: the document is built) and the GET after it (warm-ms), one
// client, each answer read whole; the document must have moved, and the
// second GET must bring the same document (perhaps in another encoding:
// a document just built may be sent before its gzip copy is made).
func reportCold(b *testing.B, s *server, tok string, k documentKind, url string, changes *int) {
	rounds := max(b.N, 20)
	if testing.Short() {
		rounds = max(b.N, 6)
	}
	prev := decodedBody(b, fetchRaw(b, url, k.header, http.StatusOK))
	var cold, warm time.Duration
	for range rounds {
		i := *changes
		*changes++
		k.change(b, s, tok, i)
		t0 := time.Now()
		first := fetchRaw(b, url, k.header, http.StatusOK)
		t1 := time.Now()
		second := fetchRaw(b, url, k.header, http.StatusOK)
		warm += time.Since(t1)
		cold += t1.Sub(t0)
		doc := decodedBody(b, first)
		if k.moves && bytes.Equal(doc, prev) {
			b.Fatalf("change %d: the document did not change", i)
		}
		if !bytes.Equal(doc, decodedBody(b, second)) {
			b.Fatalf("change %d: two GETs, two documents", i)
		}
		prev = doc
	}
	b.ReportMetric(float64(cold.Microseconds())/1000/float64(rounds), "cold-ms")
	b.ReportMetric(float64(warm.Microseconds())/1000/float64(rounds), "warm-ms")
}

// recorded is one answer as it came over the wire.
type recorded struct {
	status int
	header http.Header
	body   []byte
}

// rawClient sends exactly the request's headers: no Accept-Encoding of
// its own, no transparent gunzip.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8}}

// fetchRaw GETs url with header and returns the answer, which must have
// status want.
func fetchRaw(b *testing.B, url string, header map[string]string, want int) recorded {
	b.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != want {
		b.Fatalf("GET %s: %d, want %d: %.200s", url, resp.StatusCode, want, body)
	}
	return recorded{status: resp.StatusCode, header: resp.Header, body: body}
}

// steadyFetch is fetchRaw once the answers settle: the last of two
// alike in a row (the same bytes and headers, but Date and X-Request-Id). A document
// just built may be sent as built and its gzip copy kept just after.
func steadyFetch(b *testing.B, url string, header map[string]string, want int) recorded {
	b.Helper()
	last := fetchRaw(b, url, header, want)
	for range 20 {
		r := fetchRaw(b, url, header, want)
		if sameAnswer(last, r) {
			return r
		}
		last = r
	}
	b.Fatalf("GET %s: no two answers alike in 20", url)
	return recorded{}
}

func sameAnswer(a, b recorded) bool {
	ha, hb := a.header.Clone(), b.header.Clone()
	for _, h := range []http.Header{ha, hb} {
		h.Del("Date")
		h.Del("X-Request-Id")
	}
	return a.status == b.status && bytes.Equal(a.body, b.body) && maps.EqualFunc(ha, hb, slices.Equal)
}

// decodedBody is the document of an answer, gunzipped if it was sent so.
func decodedBody(b *testing.B, r recorded) []byte {
	b.Helper()
	switch r.header.Get("Content-Encoding") {
	case "":
		return r.body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(r.body))
		if err != nil {
			b.Fatal(err)
		}
		doc, err := io.ReadAll(zr)
		if err != nil {
			b.Fatal(err)
		}
		return doc
	}
	b.Fatalf("Content-Encoding %q", r.header.Get("Content-Encoding"))
	return nil
}

// bareServer is the baseline: a plain handler that answers every request
// with the recorded status, headers and bytes, from memory.
func bareServer(b *testing.B, r recorded) *httptest.Server {
	header := r.header.Clone()
	header.Del("Date")
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		maps.Copy(w.Header(), header)
		w.WriteHeader(r.status)
		_, _ = w.Write(r.body)
	}))
	b.Cleanup(bare.Close)
	return bare
}

// send makes one request with the headers and fails unless it answers
// want.
func send(b *testing.B, method, url string, body []byte, header map[string]string, want int) {
	b.Helper()
	if err := sendRequest(method, url, body, header, want); err != nil {
		b.Fatal(err)
	}
}

// sendRequest makes one request with the headers, answer read whole; an
// error unless it answers want. Safe from any goroutine.
func sendRequest(method, url string, body []byte, header map[string]string, want int) error {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d: %.300s", method, url, resp.StatusCode, want, got)
	}
	return nil
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// request is one request to send: sendRequest's arguments.
type request struct {
	method, url string
	body        []byte
	header      map[string]string
	want        int
}

func (r request) send() error { return sendRequest(r.method, r.url, r.body, r.header, r.want) }

// npmPublish is the PUT npm sends to publish name@version, with the token.
func npmPublish(s *server, tok, name, version string) request {
	h := bearer(tok)
	h["Content-Type"] = "application/json"
	body := npmPublishBody(name, version, nil, npmTarball(pkgJSON(name, version)))
	return request{http.MethodPut, s.URL + "/api/packages/acme/npm/" + url.PathEscape(name), []byte(body), h, http.StatusCreated}
}

// seedNpmDocument: n-1 versions stored as publishes store them, then a
// publish (2.0.0, latest) through the API.
func seedNpmDocument(b *testing.B, s *server, tok string, n int) {
	seedNpmVersions(b, s, "acme", "big", n-1)
	if err := npmPublish(s, tok, "big", "2.0.0").send(); err != nil {
		b.Fatal(err)
	}
}

func checkNpmDocument(body []byte, n int) error {
	var doc struct {
		Versions map[string]json.RawMessage `json:"versions"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return err
	}
	if len(doc.Versions) != n {
		return fmt.Errorf("%d versions, want %d", len(doc.Versions), n)
	}
	return nil
}

// changeNpmDocument moves the dist-tag bench between two versions.
func changeNpmDocument(b *testing.B, s *server, tok string, i int) {
	h := bearer(tok)
	h["Content-Type"] = "application/json"
	send(b, http.MethodPut, s.URL+"/api/packages/acme/npm/-/package/big/dist-tags/bench", []byte(`"1.0.`+strconv.Itoa(i%2)+`"`), h, http.StatusOK)
}

// composerUpload is the PUT of Gitea's documented curl that uploads
// version of name, with the token.
func composerUpload(s *server, tok, name, version string) request {
	z := composerZip("", map[string]string{
		"composer.json": `{"name":"` + name + `","type":"library","require":{"php":">=8.1"},"autoload":{"psr-4":{"Acme\\":"src/"}}}`,
		"src/Lib.php":   "<?php\nnamespace Acme;\nclass Lib {}\n",
	})
	return request{http.MethodPut, s.URL + "/api/packages/acme/composer?version=" + version, z, basic("acme", tok), http.StatusCreated}
}

// seedComposerDocument: n-1 versions stored as uploads store them, then an
// upload (2.0.0) through the API.
func seedComposerDocument(b *testing.B, s *server, tok string, n int) {
	seedComposerVersions(b, s, "acme", "acme/big", n-1)
	if err := composerUpload(s, tok, "acme/big", "2.0.0").send(); err != nil {
		b.Fatal(err)
	}
}

func checkComposerP2(body []byte, n int) error {
	var doc struct {
		Packages map[string][]json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return err
	}
	if len(doc.Packages["acme/big"]) != n {
		return fmt.Errorf("%d versions, want %d", len(doc.Packages["acme/big"]), n)
	}
	return nil
}

func checkComposerRoot(body []byte, _ int) error {
	var doc struct {
		Available []string `json:"available-packages"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return err
	}
	if len(doc.Available) != 1 || doc.Available[0] != "acme/big" {
		return fmt.Errorf("available-packages %v", doc.Available)
	}
	return nil
}

// changeComposerDocument uploads a version, then removes it, in turn.
func changeComposerDocument(b *testing.B, s *server, tok string, i int) {
	version := "3.0." + strconv.Itoa(i/2)
	if i%2 == 0 {
		if err := composerUpload(s, tok, "acme/big", version).send(); err != nil {
			b.Fatal(err)
		}
		return
	}
	send(b, http.MethodDelete, s.URL+"/api/v1/packages/acme/composer/acme%2Fbig/"+version, nil, tokenHeader(tok), http.StatusNoContent)
}

func seedCargoDocument(b *testing.B, s *server, _ string, n int) {
	seedCrateVersions(b, s, "acme", "big", n)
}

// checkLines: a line-per-version file of n versions, after header lines
// of heading.
func checkLines(heading int) func(body []byte, n int) error {
	return func(body []byte, n int) error {
		if got := bytes.Count(body, []byte("\n")); got != n+heading {
			return fmt.Errorf("%d lines, want %d", got, n+heading)
		}
		return nil
	}
}

// changeCargoDocument yanks 1.0.0, then unyanks it, in turn.
func changeCargoDocument(b *testing.B, s *server, tok string, i int) {
	method, op := http.MethodDelete, "yank"
	if i%2 == 1 {
		method, op = http.MethodPut, "unyank"
	}
	send(b, method, s.URL+"/api/packages/acme/cargo/api/v1/crates/big/1.0.0/"+op, nil, map[string]string{"Authorization": tok}, http.StatusOK)
}

// seedRubyGemsDocument: n-1 versions of big stored as pushes store them,
// then a push (2.0.0) through the API.
func seedRubyGemsDocument(b *testing.B, s *server, tok string, n int) {
	seedGems(b, s, "acme", 1, n-1)
	s.mustPushGem(b, "acme", tok, gemtest.Gem(gemtest.Metadata("big", "2.0.0")))
}

func checkRubyGemsVersions(body []byte, n int) error {
	got := 0
	for line := range strings.SplitSeq(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "big "); ok {
			got += strings.Count(strings.Fields(rest)[0], ",") + 1
		}
	}
	if got != n {
		return fmt.Errorf("%d versions of big, want %d", got, n)
	}
	return nil
}

// changeRubyGemsDocument pushes a version, then yanks it, in turn.
func changeRubyGemsDocument(b *testing.B, s *server, tok string, i int) {
	version := "3.0." + strconv.Itoa(i/2)
	if i%2 == 0 {
		s.mustPushGem(b, "acme", tok, gemtest.Gem(gemtest.Metadata("big", version)))
		return
	}
	if status, body := s.yankGem(b, "acme", tok, url.Values{"gem_name": {"big"}, "version": {version}}); status != http.StatusOK {
		b.Fatalf("yank: %d %s", status, body)
	}
}

// BenchmarkPublishRate: small packages published over HTTP as their
// clients send them, from 8 concurrent clients, each publishing new
// versions of its own package (at least 400 publishes, 160 with -short,
// whatever -benchtime); publishes/s. The bodies are made beforehand.
func BenchmarkPublishRate(b *testing.B) {
	for _, f := range []struct {
		name    string
		publish func(s *server, tok string, client, i int) request
	}{
		{"npm", func(s *server, tok string, c, i int) request {
			return npmPublish(s, tok, fmt.Sprintf("bench-%d", c), fmt.Sprintf("1.0.%d", i))
		}},
		{"composer", func(s *server, tok string, c, i int) request {
			return composerUpload(s, tok, fmt.Sprintf("acme/bench-%d", c), fmt.Sprintf("1.0.%d", i))
		}},
	} {
		b.Run(f.name, func(b *testing.B) {
			s := newServer(b)
			s.createUser(b, "acme")
			tok := packageToken(b, s, "acme", "bench", "write:package")
			per := max((b.N+7)/8, 50)
			if testing.Short() {
				per = max((b.N+7)/8, 20)
			}
			reqs := make([][]request, 8)
			for c := range reqs {
				for i := range per {
					reqs[c] = append(reqs[c], f.publish(s, tok, c, i))
				}
			}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, mine := range reqs {
				wg.Go(func() {
					for _, r := range mine {
						if err := r.send(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(8*per)/elapsed.Seconds(), "publishes/s")
		})
	}
}
