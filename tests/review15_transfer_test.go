package tests

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jobs_model "wharf/models/jobs"
	packages_model "wharf/models/packages"
	packages_module "wharf/modules/packages"
	"wharf/modules/setting"
	"wharf/routers"
)

// errorLog keeps the records at level Error and above that the app logs.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }
func (l *errorLog) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

// review15Server is newServer with a log that keeps errors, and a generic
// size limit above the memory limit (so that both paths are reachable).
func review15Server(t *testing.T, limit int64) (*server, *errorLog) {
	t.Helper()
	el := &errorLog{}
	s := newServerWithOptions(t, routers.Options{Log: slog.New(el)}, func(cfg *setting.Config) { cfg.Packages.LimitSize["generic"] = limit })
	s.createUser(t, "alice")
	return s, el
}

// bigBody is n bytes that differ with seed.
func bigBody(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i>>13) ^ seed
	}
	return b
}

// storeTmp lists the store's temp directory.
func storeTmp(t *testing.T, s *server) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(s.App.Cfg.Storage.Path, ".tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// nothingStored fails unless no package file, blob row, job or blob bytes
// exist, and the store's temp directory is empty.
func nothingStored(t *testing.T, s *server) {
	t.Helper()
	x := s.App.DB.Xorm()
	for _, bean := range []any{new(packages_model.PackageFile), new(packages_model.PackageBlob), new(jobs_model.Job)} {
		if n, err := x.Where("1=1").Count(bean); err != nil || n != 0 {
			if _, ok := bean.(*jobs_model.Job); ok && err == nil {
				var js []jobs_model.Job
				_ = x.Find(&js)
				bad := 0
				for _, j := range js {
					if strings.HasPrefix(j.Kind, "packages.fill") {
						bad++
					}
				}
				if bad == 0 {
					continue
				}
			}
			t.Fatalf("%T: %d rows, %v", bean, n, err)
		}
	}
	if tmp := storeTmp(t, s); len(tmp) != 0 {
		t.Fatalf("left in the store's temp directory: %v", tmp)
	}
	n := 0
	_ = s.App.Store.Iterate(context.Background(), func(string, int64) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d blobs stored", n)
	}
}

// rawPut sends a PUT with the given headers and body on a fresh
// connection, then half-closes it, and returns the status line (or the
// read error).
func rawPut(t *testing.T, s *server, path string, hdr []string, body []byte) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "PUT " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=\r\n" + strings.Join(hdr, "") + "\r\n"
	go func() {
		_, _ = c.Write([]byte(req))
		_, _ = c.Write(body)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "read: " + err.Error()
	}
	return strings.TrimSpace(line)
}

// TestReview15SizeLimits: the generic limit holds on the bytes actually
// read, whatever Content-Length says; a refusal is a 4xx in the generic
// format's plain text, and nothing is stored or left behind.
func TestReview15SizeLimits(t *testing.T) {
	const limit = packages_module.DefaultMemoryLimit + 4<<20
	s, el := review15Server(t, limit)
	path := "/api/packages/alice/generic/lim/1.0/f.bin"
	over := bigBody(limit+1, 1)

	// Chunked (no Content-Length), one byte over: spilled, then refused.
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", s.URL+path, io.MultiReader(strings.NewReader(""), strings.NewReader(string(over))))
	req.SetBasicAuth("alice", "alice-password")
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("chunked over the limit: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(string(b), "larger than the limit") {
		t.Fatalf("chunked over the limit: %d %v %q", resp.StatusCode, resp.Header, b)
	}
	nothingStored(t, s)

	// Exactly at the limit, chunked: stored.
	req, _ = http.NewRequestWithContext(t.Context(), "PUT", s.URL+path, io.MultiReader(strings.NewReader(string(over[:limit]))))
	req.SetBasicAuth("alice", "alice-password")
	req.ContentLength = -1
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("chunked at the limit: %v %v", resp, err)
	}
	resp.Body.Close()
	if st, _, _ := s.do(t, "DELETE", "/api/packages/alice/generic/lim/1.0", "", basic("alice", "alice-password")); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	if tmp := storeTmp(t, s); len(tmp) != 0 {
		t.Fatalf("left in the store's temp directory: %v", tmp)
	}

	// A Content-Length over the limit: refused before the body is read.
	if got := rawPut(t, s, "/api/packages/alice/generic/lim/2.0/f.bin", []string{"Content-Length: " + strconv.Itoa(limit+1) + "\r\n"}, nil); !strings.Contains(got, " 413 ") {
		t.Fatalf("declared over the limit: %q", got)
	}
	// Huge and negative Content-Length: the HTTP server refuses them.
	for _, cl := range []string{"99999999999999999999999", "-1", "-5"} {
		if got := rawPut(t, s, "/api/packages/alice/generic/lim/3.0/f.bin", []string{"Content-Length: " + cl + "\r\n"}, nil); !strings.Contains(got, " 400 ") && !strings.Contains(got, " 413 ") {
			t.Fatalf("Content-Length %s: %q", cl, got)
		}
	}
	// A Content-Length that lies high (spilled from the first byte, the
	// body ends early): the client's error.
	if got := rawPut(t, s, "/api/packages/alice/generic/lim/4.0/f.bin", []string{"Content-Length: " + strconv.Itoa(limit-1) + "\r\n"}, over[:3<<20]); !strings.Contains(got, " 400 ") {
		t.Fatalf("Content-Length lying high: %q", got)
	}
	// A Content-Length that lies low: the server takes that many bytes
	// (HTTP/1.1 framing) and reads the rest as the next request.
	if got := rawPut(t, s, "/api/packages/alice/generic/lim/5.0/f.bin", []string{"Content-Length: 10\r\n"}, over[:4096]); !strings.Contains(got, " 201 ") {
		t.Fatalf("Content-Length lying low: %q", got)
	}
	if st, _, got := s.do(t, "GET", "/api/packages/alice/generic/lim/5.0/f.bin", "", nil); st != http.StatusOK || got != string(over[:10]) {
		t.Fatalf("stored for a low Content-Length: %d %q", st, got)
	}
	if st, _, _ := s.do(t, "DELETE", "/api/packages/alice/generic/lim/5.0", "", basic("alice", "alice-password")); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	if tmp := storeTmp(t, s); len(tmp) != 0 {
		t.Fatalf("left in the store's temp directory: %v", tmp)
	}
	if errs := el.errors(); len(errs) != 0 {
		t.Fatalf("errors logged: %q", errs)
	}
}

// openFDs counts this process's open file descriptors but the database's
// (its connection pool grows with concurrent requests, and keeps them):
// SQLite's files, and sockets to PostgreSQL's port.
func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	db := dbSockets(t)
	n := 0
	for _, e := range es {
		l, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && (strings.Contains(l, "wharf.db") || db[l]) {
			continue
		}
		n++
	}
	return n
}

// dbSockets are the "socket:[inode]" names of this process's TCP
// connections to PostgreSQL's port: WHARF_TEST_PG_HOST's (.ci/run starts
// a server of its own on another port), 5432 by default.
func dbSockets(t *testing.T) map[string]bool {
	t.Helper()
	port := 5432
	if _, p, err := net.SplitHostPort(os.Getenv("WHARF_TEST_PG_HOST")); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	suffix := fmt.Sprintf(":%04X", port)
	out := map[string]bool{}
	for _, f := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) > 9 && strings.HasSuffix(fs[2], suffix) {
				out["socket:["+fs[9]+"]"] = true
			}
		}
	}
	return out
}

// TestReview15Disconnect: clients that go away mid-upload, in memory and
// spilled, leave nothing stored, no job, nothing in the store's temp
// directory, no error logged and no file descriptor open.
func TestReview15Disconnect(t *testing.T) {
	s, el := review15Server(t, -1)
	// Warm up: the first connection and the database's own files.
	if st, _, _ := s.do(t, "GET", "/api/v1/version", "", nil); st != http.StatusOK {
		t.Fatal(st)
	}
	before := openFDs(t)
	var wg sync.WaitGroup
	for i := range 24 {
		declared := 1 << 20 // in memory
		if i%2 == 1 {
			declared = packages_module.DefaultMemoryLimit + 8<<20 // spilled from the first byte
		}
		wg.Go(func() {
			c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
			if err != nil {
				t.Error(err)
				return
			}
			fmt.Fprintf(c, "PUT /api/packages/alice/generic/gone/%d.0/f.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=\r\nContent-Length: %d\r\n\r\n", i, declared)
			_, _ = c.Write(bigBody(declared/2, byte(i)))
			_ = c.Close() // gone, mid-body
		})
	}
	wg.Wait()
	// The server notices each disconnect on its own goroutine: wait (bounded)
	// until every upload has been given up.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && (openFDs(t) > before || len(storeTmp(t, s)) != 0) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := openFDs(t); after > before {
		t.Fatalf("file descriptors: %d before, %d after the aborted uploads", before, after)
	}
	nothingStored(t, s)
	if errs := el.errors(); len(errs) != 0 {
		t.Fatalf("errors logged: %q", errs)
	}
}

// TestReview15ConcurrentSameBytes: the same large bytes uploaded at once
// by several clients (several spills linked to one key) are all stored,
// as one blob with the right bytes and digests (after the job); bytes
// that stay in memory uploaded twice share one blob too.
func TestReview15ConcurrentSameBytes(t *testing.T) {
	s, el := review15Server(t, -1)
	body := bigBody(packages_module.DefaultMemoryLimit+2<<20, 9)
	sum := sha256.Sum256(body)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			req, _ := http.NewRequest("PUT", s.URL+"/api/packages/alice/generic/same/"+strconv.Itoa(i)+".0/f.bin", strings.NewReader(string(body)))
			req.SetBasicAuth("alice", "alice-password")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("upload %d: %d %s", i, resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	if n, err := s.App.DB.Xorm().Count(new(packages_model.PackageBlob)); err != nil || n != 1 {
		t.Fatalf("%d blob rows, %v", n, err)
	}
	if tmp := storeTmp(t, s); len(tmp) != 0 {
		t.Fatalf("left in the store's temp directory: %v", tmp)
	}
	for range 3 {
		if _, err := s.App.Jobs.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var jobs []jobs_model.Job
	if err := s.App.DB.Xorm().Find(&jobs); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if strings.HasPrefix(j.Kind, "packages.fill") && j.LastError != "" {
			t.Fatalf("digests job failed: %+v", j)
		}
	}
	for i := range 4 {
		st, _, got := s.do(t, "GET", "/api/packages/alice/generic/same/"+strconv.Itoa(i)+".0/f.bin", "", nil)
		if st != http.StatusOK || got != string(body) {
			t.Fatalf("download %d: %d, %d bytes", i, st, len(got))
		}
	}
	st, _, out := s.do(t, "GET", "/api/v1/packages/alice/generic/same/0.0/files", "", basic("alice", "alice-password"))
	if st != http.StatusOK || !strings.Contains(out, hex.EncodeToString(sum[:])) || strings.Contains(out, `"md5":""`) {
		t.Fatalf("files: %d %s", st, out)
	}

	// Bytes that stay in memory, twice: one more blob, complete at once.
	small := bigBody(1<<20, 3)
	if st, _, out := s.do(t, "PUT", "/api/packages/alice/generic/mix/1.0/f.bin", string(small), basic("alice", "alice-password")); st != http.StatusCreated {
		t.Fatalf("small: %d %s", st, out)
	}
	if st, _, out := s.do(t, "PUT", "/api/packages/alice/generic/mix/2.0/f.bin", string(small), basic("alice", "alice-password")); st != http.StatusCreated {
		t.Fatalf("small again: %d %s", st, out)
	}
	if n, err := s.App.DB.Xorm().Count(new(packages_model.PackageBlob)); err != nil || n != 2 {
		t.Fatalf("%d blob rows, %v", n, err)
	}
	if errs := el.errors(); len(errs) != 0 {
		t.Fatalf("errors logged: %q", errs)
	}
}

// TestReview15DownloadLikeServeContent: every Range and conditional form
// answers as http.ServeContent on the stored file answers (the behaviour
// before the pooled copy): status, the headers that matter, and the body
// (multipart bodies part by part, their boundary being random).
func TestReview15DownloadLikeServeContent(t *testing.T) {
	s, _ := review15Server(t, -1)
	for i, size := range []int{3<<20 + 12345, 1, 0} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			path := "/api/packages/alice/generic/dl/" + strconv.Itoa(i) + ".0/dl.bin"
			downloadLikeServeContent(t, s, path, bigBody(size, 5))
		})
	}
}

func downloadLikeServeContent(t *testing.T, s *server, path string, body []byte) {
	if st, _, out := s.do(t, "PUT", path, string(body), basic("alice", "alice-password")); st != http.StatusCreated {
		t.Fatalf("upload: %d %s", st, out)
	}
	st, hdr, _ := s.do(t, "HEAD", path, "", nil)
	if st != http.StatusOK {
		t.Fatal(st)
	}
	etag, lastMod := hdr.Get("ETag"), hdr.Get("Last-Modified")
	mod, err := http.ParseTime(lastMod)
	if err != nil {
		t.Fatal(err)
	}
	ref := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "dl.bin"}))
		http.ServeContent(w, r, "dl.bin", mod, strings.NewReader(string(body)))
	}))
	defer ref.Close()
	n := len(body)
	cases := []map[string]string{
		nil,
		{"Range": "bytes=0-0"},
		{"Range": "bytes=100-2000000"},
		{"Range": "bytes=-70000"},
		{"Range": "bytes=" + strconv.Itoa(n-10) + "-"},
		{"Range": "bytes=0-99,1048570-1048600,-5"},
		{"Range": "bytes=0-0,-1"},
		{"Range": "bytes=-0"},
		{"Range": "bytes=" + strconv.Itoa(n) + "-"},
		{"Range": "bytes=5-1"},
		{"Range": "chars=0-5"},
		{"Range": "bytes=0-9", "If-Range": etag},
		{"Range": "bytes=0-9", "If-Range": `"other"`},
		{"Range": "bytes=0-9", "If-Range": lastMod},
		{"If-None-Match": etag},
		{"If-None-Match": `"other"`},
		{"If-Modified-Since": lastMod},
		{"If-Match": `"other"`},
		{"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
	}
	get := func(base, method string, h map[string]string) (int, http.Header, []byte) {
		req, _ := http.NewRequestWithContext(t.Context(), method, base, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header, b
	}
	for _, method := range []string{"GET", "HEAD"} {
		for _, h := range cases {
			ws, wh, wb := get(ref.URL, method, h)
			gs, gh, gb := get(s.URL+path, method, h)
			if ws != gs {
				t.Fatalf("%s %v: status %d, ServeContent %d", method, h, gs, ws)
			}
			for _, k := range []string{"Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Last-Modified", "Content-Disposition"} {
				if wh.Get(k) != gh.Get(k) {
					t.Fatalf("%s %v: %s %q, ServeContent %q", method, h, k, gh.Get(k), wh.Get(k))
				}
			}
			wmt, wp, _ := mime.ParseMediaType(wh.Get("Content-Type"))
			gmt, gp, _ := mime.ParseMediaType(gh.Get("Content-Type"))
			if wmt != gmt {
				t.Fatalf("%s %v: Content-Type %q, ServeContent %q", method, h, gh.Get("Content-Type"), wh.Get("Content-Type"))
			}
			if wmt == "multipart/byteranges" && method == "GET" {
				if got, want := parts(t, gb, gp["boundary"]), parts(t, wb, wp["boundary"]); strings.Join(got, "|") != strings.Join(want, "|") {
					t.Fatalf("%v: parts differ", h)
				}
				continue
			}
			if string(wb) != string(gb) {
				t.Fatalf("%s %v: body of %d bytes, ServeContent %d", method, h, len(gb), len(wb))
			}
		}
	}
}

// parts splits a multipart/byteranges body into "Content-Range:body".
func parts(t *testing.T, b []byte, boundary string) []string {
	t.Helper()
	mr := multipart.NewReader(strings.NewReader(string(b)), boundary)
	var out []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		pb, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Header.Get("Content-Range")+":"+p.Header.Get("Content-Type")+":"+string(pb))
	}
}

// TestReview15SlowAndGoneReaders: downloads whose clients read slowly or
// go away mid-body, many at once, next to whole downloads (-race watches
// the pooled copy buffers); every whole download is right, nothing is
// logged as an error, and no descriptor stays open.
func TestReview15SlowAndGoneReaders(t *testing.T) {
	s, el := review15Server(t, -1)
	body := bigBody(6<<20+7, 11)
	path := "/api/packages/alice/generic/slow/1.0/s.bin"
	if st, _, out := s.do(t, "PUT", path, string(body), basic("alice", "alice-password")); st != http.StatusCreated {
		t.Fatalf("upload: %d %s", st, out)
	}
	if st, _, _ := s.do(t, "GET", path, "", nil); st != http.StatusOK {
		t.Fatal(st)
	}
	before := openFDs(t)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			tr := &http.Transport{DisableKeepAlives: true}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get(s.URL + path)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			switch i % 3 {
			case 0: // gone after a little
				buf := make([]byte, 1000)
				_, _ = io.ReadFull(resp.Body, buf)
			case 1: // slow, small reads, then whole
				var sb strings.Builder
				buf := make([]byte, 777)
				for {
					n, err := resp.Body.Read(buf)
					sb.Write(buf[:n])
					if err != nil {
						break
					}
				}
				if sb.String() != string(body) {
					t.Errorf("slow reader %d: %d bytes, wrong", i, sb.Len())
				}
			default:
				b, err := io.ReadAll(resp.Body)
				if err != nil || string(b) != string(body) {
					t.Errorf("reader %d: %d bytes, %v", i, len(b), err)
				}
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && openFDs(t) > before {
		time.Sleep(20 * time.Millisecond)
	}
	if after := openFDs(t); after > before {
		t.Fatalf("file descriptors: %d before, %d after", before, after)
	}
	if errs := el.errors(); len(errs) != 0 {
		t.Fatalf("errors logged: %q", errs)
	}
}

// TestReview15RefusedLargeUpload: a spilled upload refused after it was
// read (the file exists: 409) answers in the generic format's plain text
// and leaves neither a temp file nor its bytes stored.
func TestReview15RefusedLargeUpload(t *testing.T) {
	s, el := review15Server(t, -1)
	path := "/api/packages/alice/generic/ref/1.0/f.bin"
	first := bigBody(packages_module.DefaultMemoryLimit+1<<20, 21)
	if st, _, out := s.do(t, "PUT", path, string(first), basic("alice", "alice-password")); st != http.StatusCreated {
		t.Fatalf("upload: %d %s", st, out)
	}
	second := bigBody(packages_module.DefaultMemoryLimit+1<<20, 22)
	st, hdr, out := s.do(t, "PUT", path, string(second), basic("alice", "alice-password"))
	if st != http.StatusConflict || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("the same file again: %d %v %q", st, hdr, out)
	}
	if tmp := storeTmp(t, s); len(tmp) != 0 {
		t.Fatalf("left in the store's temp directory: %v", tmp)
	}
	var keys []string
	_ = s.App.Store.Iterate(context.Background(), func(k string, _ int64) error { keys = append(keys, k); return nil })
	sum := sha256.Sum256(first)
	if len(keys) != 1 || keys[0] != hex.EncodeToString(sum[:]) {
		t.Fatalf("stored blobs %v, want only the first upload's", keys)
	}
	if errs := el.errors(); len(errs) != 0 {
		t.Fatalf("errors logged: %q", errs)
	}
}
