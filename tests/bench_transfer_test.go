package tests

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The bulk transfer benchmarks run the real binary beside a bare baseline
// in the same run and report the ratio, which is the figure: the machine
// is noisy, the ratio much less so. With -short (make bench-quick) the
// sizes shrink.

// transferSize is full, or quick with -short.
func transferSize(full, quick int64) int64 {
	if testing.Short() {
		return quick
	}
	return full
}

// BenchmarkUpload512MiB: a 512 MiB generic PUT (64 MiB with -short).
func BenchmarkUpload512MiB(b *testing.B) { benchUpload(b, transferSize(512*mib, 64*mib)) }

// BenchmarkUpload4GiB: a 4 GiB generic PUT (256 MiB with -short).
func BenchmarkUpload4GiB(b *testing.B) { benchUpload(b, transferSize(4*gib, 256*mib)) }

// transferServer is a fresh `wharf web` (one per benchmark, so that its
// peak RSS belongs to one size) with its store at a known place.
type transferServer struct {
	p     *webProcess
	store string
}

func startTransferServer(b *testing.B) *transferServer {
	b.Helper()
	work := installedWork(b)
	store := filepath.Join(work, "store")
	env := binEnv(b, "WHARF__STORAGE__PATH="+store)
	runBin(b, work, env, "admin", "user", "create", "--username", "bench", "--password", "bench-password", "--email", "b@example.com", "--must-change-password=false")
	return &transferServer{p: startWeb(b, work, env), store: store}
}

// put uploads size bytes of body as a generic file and returns how long
// it took.
func (s *transferServer) put(b *testing.B, name, version string, body io.Reader, size int64) time.Duration {
	b.Helper()
	url := fmt.Sprintf("%s/api/packages/bench/generic/%s/%s/big.bin", s.p.url, name, version)
	return putBody(b, url, body, size, http.StatusCreated)
}

func putBody(b *testing.B, url string, body io.Reader, size int64, want int) time.Duration {
	b.Helper()
	req, err := http.NewRequest(http.MethodPut, url, body)
	if err != nil {
		b.Fatal(err)
	}
	req.ContentLength = size
	req.SetBasicAuth("bench", "bench-password")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if resp.StatusCode != want {
		b.Fatalf("PUT %s: %d %s", url, resp.StatusCode, msg)
	}
	return elapsed
}

// waitDigests polls the package API until the file's deferred digests are
// filled in and returns how long that took.
func (s *transferServer) waitDigests(b *testing.B, name, version string) time.Duration {
	b.Helper()
	start := time.Now()
	url := fmt.Sprintf("%s/api/v1/packages/bench/generic/%s/%s/files", s.p.url, name, version)
	for {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.SetBasicAuth("bench", "bench-password")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var files []struct{ MD5, SHA1, SHA512 string }
		err = json.NewDecoder(resp.Body).Decode(&files)
		resp.Body.Close()
		if err != nil || len(files) != 1 {
			b.Fatalf("list files: %d, %v", len(files), err)
		}
		if files[0].MD5 != "" && files[0].SHA1 != "" && files[0].SHA512 != "" {
			return time.Since(start)
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatal("the deferred digests were not filled in")
		}
		time.Sleep(20 * time.Millisecond) // polling a background job's result, not readiness
	}
}

// procStatus reads a field of /proc/PID/status in MiB.
func procStatus(b *testing.B, pid int, field string) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Fatalf("no %s", field)
	return 0
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux 4.0+),
// so that the peak after a transfer is the transfer's.
func resetPeakRSS(b *testing.B, pid int) {
	b.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		b.Fatal(err)
	}
}

// baselineUpload is the bare upload handler: the body hashed with one
// SHA-256 while written to a file in dir (the store's disk), fsynced, as
// Wharf promises; read in whole MiBs.
func baselineUpload(dir string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := os.CreateTemp(dir, "baseline-*")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer os.Remove(f.Name())
		defer f.Close()
		h := sha256.New()
		buf := make([]byte, mib)
		for {
			// Whole MiBs, as Wharf reads: fewer, larger hash calls and
			// writes.
			n, rerr := io.ReadFull(r.Body, buf)
			h.Write(buf[:n])
			if _, err = f.Write(buf[:n]); err != nil {
				break
			}
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				break
			}
			if err = rerr; err != nil {
				break
			}
		}
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("X-SHA256", hex.EncodeToString(h.Sum(nil)))
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusCreated)
		// The answer is complete: removing the file afterwards is not
		// part of the upload.
		http.NewResponseController(w).Flush()
	}
}

// baselineDirEnv names the directory TestBaselineServer serves; it is set
// only in the baseline process a benchmark starts.
const baselineDirEnv = "WHARF_BENCH_BASELINE_DIR"

// TestBaselineServer is the bare baselines of the transfer benchmarks,
// run as a process of its own as Wharf is (in the benchmark's process it
// would share the client's scheduler and be measured slower than it is):
// PUT / is baselineUpload, GET /servefile/NAME is http.ServeFile of a file
// in the directory, GET /copy/NAME a plain copy of it through a 1 MiB
// buffer. It prints its address and serves until killed. Outside a
// benchmark it only checks the handlers answer.
func TestBaselineServer(t *testing.T) {
	dir := os.Getenv(baselineDirEnv)
	serve := dir != ""
	if !serve {
		dir = t.TempDir()
	}
	mux := http.NewServeMux()
	mux.Handle("PUT /", baselineUpload(dir))
	mux.HandleFunc("GET /servefile/{path...}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(dir, r.PathValue("path")))
	})
	mux.HandleFunc("GET /copy/{path...}", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(filepath.Join(dir, r.PathValue("path")))
		if err != nil {
			http.Error(w, err.Error(), 404)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
		_, _ = io.CopyBuffer(onlyWriter{w}, onlyReader{f}, make([]byte, mib))
	})
	if serve {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("baseline-listening http://%s\n", ln.Addr())
		t.Fatal(http.Serve(ln, mux))
	}
	s := httptest.NewServer(mux)
	defer s.Close()
	req, _ := http.NewRequest(http.MethodPut, s.URL+"/", strings.NewReader("bytes"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sum := sha256.Sum256([]byte("bytes"))
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("X-SHA256") != hex.EncodeToString(sum[:]) {
		t.Fatalf("baseline upload: %d %s", resp.StatusCode, resp.Header.Get("X-SHA256"))
	}
	writeFile(t, filepath.Join(dir, "ab", "f"), "stored bytes")
	for _, way := range []string{"servefile", "copy"} {
		resp, err := http.Get(s.URL + "/" + way + "/ab/f")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "stored bytes" {
			t.Fatalf("baseline %s: %d %q", way, resp.StatusCode, body)
		}
	}
}

// startBaseline runs TestBaselineServer in a process of its own serving
// dir and returns its URL.
func startBaseline(b *testing.B, dir string) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBaselineServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), baselineDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), "baseline-listening "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return url
		}
	}
	b.Fatalf("the baseline server did not start: %v", sc.Err())
	return ""
}

// onlyWriter and onlyReader hide ReadFrom and WriteTo, so that
// io.CopyBuffer copies through the buffer it is given.
type onlyWriter struct{ io.Writer }
type onlyReader struct{ io.Reader }

// freshBody is size bytes of a new random MiB repeated: every upload is
// new bytes for the store (no dedup), and costs no memory to produce.
func freshBody(b *testing.B, size int64) io.Reader {
	return io.LimitReader(newPattern(b), size)
}

func benchUpload(b *testing.B, size int64) {
	s := startTransferServer(b)
	if err := os.MkdirAll(s.store, 0o755); err != nil {
		b.Fatal(err)
	}
	base := startBaseline(b, s.store)
	pid := s.p.cmd.Process.Pid
	// A small upload first, so that the server's one-time setup is not
	// counted as the transfer's memory.
	s.put(b, "warm", "1.0", strings.NewReader("warm"), 4)

	var up, baseUp, digests time.Duration
	var rssIncrease float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Each side goes first every other time: the disk's write-back
		// of one upload must not count against the next.
		if i%2 == 0 {
			baseUp += putBody(b, base+"/", freshBody(b, size), size, http.StatusCreated)
		}
		rssBefore := procStatus(b, pid, "VmRSS")
		resetPeakRSS(b, pid)
		version := fmt.Sprintf("%d.0", i)
		up += s.put(b, "big", version, freshBody(b, size), size)
		rssIncrease = max(rssIncrease, procStatus(b, pid, "VmHWM")-rssBefore)
		digests += s.waitDigests(b, "big", version)
		if i%2 == 1 {
			baseUp += putBody(b, base+"/", freshBody(b, size), size, http.StatusCreated)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	got, baseline := n*float64(size)/1e6/up.Seconds(), n*float64(size)/1e6/baseUp.Seconds()
	b.ReportMetric(got, "upload-MB/s")
	b.ReportMetric(baseline, "baseline-MB/s")
	b.ReportMetric(got/baseline, "ratio")
	b.ReportMetric(rssIncrease, "rss-increase-MiB")
	b.ReportMetric(digests.Seconds()/n, "digests-s")
}

// BenchmarkDownload: a GET of a stored 1 GiB generic file (128 MiB with
// -short) beside two baselines serving the same file on disk:
// http.ServeFile (sendfile) and a plain copy through a 1 MiB buffer. The
// ratio is against the faster of the two.
func BenchmarkDownload(b *testing.B) {
	size := transferSize(gib, 128*mib)
	s := startTransferServer(b)
	pattern := newPattern(b)
	s.put(b, "big", "1.0", io.LimitReader(pattern, size), size)
	key := uploadKey(b, pattern, size)
	path := filepath.Join(s.store, key[0:2], key[2:4], key)
	if st, err := os.Stat(path); err != nil || st.Size() != size {
		b.Fatalf("stored blob: %v", err)
	}
	base := startBaseline(b, s.store)
	rel := key[0:2] + "/" + key[2:4] + "/" + key
	url := s.p.url + "/api/packages/bench/generic/big/1.0/big.bin"
	get(b, url, size) // the page cache holds the file for all three
	pid := s.p.cmd.Process.Pid
	rssBefore := procStatus(b, pid, "VmRSS")
	resetPeakRSS(b, pid)

	var wharf, viaServeFile, viaCopy time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wharf += get(b, url, size)
		viaServeFile += get(b, base+"/servefile/"+rel, size)
		viaCopy += get(b, base+"/copy/"+rel, size)
	}
	b.StopTimer()
	rate := func(d time.Duration) float64 { return float64(b.N) * float64(size) / 1e6 / d.Seconds() }
	best := max(rate(viaServeFile), rate(viaCopy))
	b.ReportMetric(rate(wharf), "download-MB/s")
	b.ReportMetric(rate(viaServeFile), "servefile-MB/s")
	b.ReportMetric(rate(viaCopy), "copy-MB/s")
	b.ReportMetric(rate(wharf)/best, "ratio")
	b.ReportMetric(procStatus(b, pid, "VmHWM")-rssBefore, "rss-increase-MiB")
}

// uploadKey is the SHA-256 of the first size bytes the pattern produced
// (it repeats one MiB from where it started).
func uploadKey(b *testing.B, p *pattern, size int64) string {
	b.Helper()
	q := &pattern{block: p.block}
	h := sha256.New()
	if _, err := io.CopyN(h, q, size); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// get downloads url through a 1 MiB buffer (the same client for every
// side) and returns how long it took.
func get(b *testing.B, url string, size int64) time.Duration {
	b.Helper()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.CopyBuffer(onlyWriter{io.Discard}, onlyReader{resp.Body}, make([]byte, mib))
	resp.Body.Close()
	if err != nil || n != size || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d, %d bytes, %v", url, resp.StatusCode, n, err)
	}
	return time.Since(start)
}
