package tests

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// requestLog is a reverse proxy in front of the server that records every
// request it forwards with the answer's status: cargo's index traffic and
// gem's and Bundler's go through it, so a test can see which files were
// fetched, which with a Range, and which were answered 304.
type requestLog struct {
	URL string
	mu  sync.Mutex
	all []loggedRequest
}

type loggedRequest struct {
	Method, Path string
	Range        string // the Range header sent
	Conditional  bool   // If-None-Match or If-Modified-Since sent
	Auth         bool   // Authorization sent
	Status       int
}

func newRequestLog(t testing.TB, target string) *requestLog {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	l := &requestLog{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(rec, r)
		l.mu.Lock()
		l.all = append(l.all, loggedRequest{Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"),
			Conditional: r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "",
			Auth:        r.Header.Get("Authorization") != "", Status: rec.status})
		l.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	l.URL = srv.URL
	return l
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// take returns the requests logged since the last take.
func (l *requestLog) take() []loggedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.all
	l.all = nil
	return out
}
