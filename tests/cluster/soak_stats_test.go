//go:build cluster && soak

package cluster

import (
	"cmp"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// soakOpHeader names the operation a request belongs to, for the figures;
// requests without it (the git binary's) are named by their path.
const soakOpHeader = "X-Soak-Op"

// soakRecord is one request as the recording proxy saw it.
type soakRecord struct {
	op, proc, method, path string
	status                 int // 0: the process did not answer (transport error)
	took                   time.Duration
	detail                 string // the start of a 5xx body, or the transport error
}

// soakRecorder keeps every request of a soak.
type soakRecorder struct {
	mu      sync.Mutex
	records []soakRecord
}

func (r *soakRecorder) add(rec soakRecord) {
	r.mu.Lock()
	r.records = append(r.records, rec)
	r.mu.Unlock()
}

func (r *soakRecorder) all() []soakRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.records)
}

// soakEndpoint is one process as the load reaches it: through a recording
// proxy that times each request from its first byte in to its last byte
// out and keeps its status.
type soakEndpoint struct {
	name string
	URL  string
	proc *proc
}

// newSoakEndpoint puts a recording proxy in front of p.
func newSoakEndpoint(t *testing.T, rec *soakRecorder, p *proc) soakEndpoint {
	t.Helper()
	target, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Header.Del(soakOpHeader)
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			if sw, ok := w.(*soakStatusWriter); ok {
				sw.transportErr = err
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get(soakOpHeader)
		if op == "" {
			op = soakOpOfPath(r.URL.Path)
		}
		sw := &soakStatusWriter{ResponseWriter: w}
		start := time.Now()
		rp.ServeHTTP(sw, r)
		took := time.Since(start)
		out := soakRecord{op: op, proc: p.Name, method: r.Method, path: r.URL.Path, status: sw.status, took: took}
		if sw.status == 0 {
			sw.status = http.StatusOK
			out.status = http.StatusOK
		}
		if sw.transportErr != nil {
			out.status, out.detail = 0, sw.transportErr.Error()
		} else if sw.status >= 500 {
			out.detail = sw.body.String()
		}
		rec.add(out)
	}))
	t.Cleanup(srv.Close)
	return soakEndpoint{name: p.Name, URL: srv.URL, proc: p}
}

// soakOpOfPath names a request the load did not name (git's).
func soakOpOfPath(path string) string {
	switch {
	case strings.HasSuffix(path, "/info/refs"):
		return "git info/refs"
	case strings.HasSuffix(path, "/git-receive-pack"):
		return "git receive-pack"
	case strings.HasSuffix(path, "/git-upload-pack"):
		return "git upload-pack"
	}
	return "other"
}

// soakStatusWriter keeps the status, the start of a 5xx body, and the
// proxy's transport error.
type soakStatusWriter struct {
	http.ResponseWriter
	status       int
	body         strings.Builder
	transportErr error
}

func (w *soakStatusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *soakStatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status >= 500 && w.body.Len() < 512 {
		w.body.Write(b[:min(len(b), 512-w.body.Len())])
	}
	return w.ResponseWriter.Write(b)
}

func (w *soakStatusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// soakSummary is what a soak prints.
type soakSummary struct {
	Requests  int
	ByClass   map[string]int // "2xx" … "5xx", "transport"
	ByStatus  map[int]int    // every status >= 400
	FiveXX    int
	Transport int
	P50, P99  time.Duration
	ByProc    map[string]int
	// Failures are the first 5xx and transport errors, for the report.
	Failures []soakRecord
}

func summarize(recs []soakRecord) soakSummary {
	s := soakSummary{Requests: len(recs), ByClass: map[string]int{}, ByStatus: map[int]int{}, ByProc: map[string]int{}}
	lat := make([]time.Duration, 0, len(recs))
	for _, r := range recs {
		lat = append(lat, r.took)
		s.ByProc[r.proc]++
		switch {
		case r.status == 0:
			s.ByClass["transport"]++
			s.Transport++
		default:
			s.ByClass[fmt.Sprintf("%dxx", r.status/100)]++
		}
		if r.status >= 400 {
			s.ByStatus[r.status]++
		}
		if r.status >= 500 {
			s.FiveXX++
		}
		if (r.status == 0 || r.status >= 500) && len(s.Failures) < 20 {
			s.Failures = append(s.Failures, r)
		}
	}
	s.P50, s.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	return s
}

// percentile is the q-quantile (nearest rank) of ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// report writes the summary and a line per operation.
func (s soakSummary) report(name string, elapsed time.Duration, recs []soakRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "soak %s: %d requests in %s (%.0f/s), p50 %s ms, p99 %s ms, 5xx %d, transport errors %d\n",
		name, s.Requests, elapsed.Round(time.Second), float64(s.Requests)/elapsed.Seconds(), ms(s.P50), ms(s.P99), s.FiveXX, s.Transport)
	fmt.Fprintf(&b, "  by class: %s\n", fmtCounts(s.ByClass))
	statuses := map[string]int{}
	for k, v := range s.ByStatus {
		statuses[fmt.Sprint(k)] = v
	}
	fmt.Fprintf(&b, "  errors by status: %s\n", fmtCounts(statuses))
	fmt.Fprintf(&b, "  by process: %s\n", fmtCounts(s.ByProc))
	type opFig struct {
		n    int
		errs map[string]int
		lat  []time.Duration
	}
	ops := map[string]*opFig{}
	for _, r := range recs {
		f := ops[r.op]
		if f == nil {
			f = &opFig{errs: map[string]int{}}
			ops[r.op] = f
		}
		f.n++
		f.lat = append(f.lat, r.took)
		if r.status == 0 || r.status >= 400 {
			f.errs[fmt.Sprint(r.status)]++
		}
	}
	names := make([]string, 0, len(ops))
	for k := range ops {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(ops[b].n, ops[a].n) })
	fmt.Fprintf(&b, "  %-22s %8s %9s %9s  %s\n", "operation", "requests", "p50 ms", "p99 ms", "errors by status")
	for _, k := range names {
		f := ops[k]
		fmt.Fprintf(&b, "  %-22s %8d %9s %9s  %s\n", k, f.n, ms(percentile(f.lat, 0.5)), ms(percentile(f.lat, 0.99)), fmtCounts(f.errs))
	}
	if ops["git info/refs"] != nil && ops["git info/refs"].errs["401"] > 0 {
		b.WriteString("  (git info/refs 401: git asks without credentials first and sends them on the challenge)\n")
	}
	return b.String()
}

func fmtCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
