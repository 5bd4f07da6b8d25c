package tests

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wharf/modules/packages/cargo/cargotest"
	"wharf/routers"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
)

// TestReview11CargoPublishCrash: a publish or yank that fails at each fault
// point leaves the index file, its ETag, the git index jobs and the
// database as they were; the same publish afterwards succeeds (holds).
func TestReview11CargoPublishCrash(t *testing.T) {
	for _, point := range []packages_service.FaultPoint{packages_service.FaultAfterBlob, packages_service.FaultAfterRows, packages_service.FaultBeforeCommit} {
		t.Run(string(point), func(t *testing.T) {
			var armed atomic.Bool
			s := newServerWithOptions(t, routers.Options{PackagesFault: func(_ context.Context, p packages_service.FaultPoint) error {
				if p == point && armed.Load() {
					return errors.New("crash at " + string(p))
				}
				return nil
			}})
			s.createUser(t, "alice")
			h := cargoAuth(packageToken(t, s, "alice", "cargo", "write:package"))
			publish := "/api/packages/alice/cargo/api/v1/crates/new"
			if status, _, body := s.do(t, "PUT", publish, cargoPublishBody("acorn", "1.0.0"), h); status != 200 {
				t.Fatalf("publish: %d %s", status, body)
			}
			_, hdr, before := s.do(t, "GET", "/api/packages/alice/cargo/ac/or/acorn", "", nil)
			etag := hdr.Get("ETag")
			var jobs int
			count := func() int {
				var n int
				if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM job").Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			jobs = count()
			armed.Store(true)
			if status, _, body := s.do(t, "PUT", publish, cargoPublishBody("acorn", "1.0.1"), h); status != 500 {
				t.Fatalf("crashed publish: %d %s", status, body)
			}
			if point == packages_service.FaultBeforeCommit {
				if status, _, body := s.do(t, "DELETE", "/api/packages/alice/cargo/api/v1/crates/acorn/1.0.0/yank", "", h); status != 500 {
					t.Fatalf("crashed yank: %d %s", status, body)
				}
			}
			status, hdr, after := s.do(t, "GET", "/api/packages/alice/cargo/ac/or/acorn", "", map[string]string{"If-None-Match": etag})
			if status != http.StatusNotModified || hdr.Get("ETag") != etag {
				t.Fatalf("after the crash: %d ETag %s (was %s) %s", status, hdr.Get("ETag"), etag, after)
			}
			if n := count(); n != jobs {
				t.Fatalf("jobs %d -> %d", jobs, n)
			}
			armed.Store(false)
			if status, _, body := s.do(t, "PUT", publish, cargoPublishBody("acorn", "1.0.1"), h); status != 200 {
				t.Fatalf("publish again: %d %s", status, body)
			}
			_, _, now := s.do(t, "GET", "/api/packages/alice/cargo/ac/or/acorn", "", nil)
			if !strings.HasPrefix(now, before) || strings.Count(now, "\n") != 2 {
				t.Fatalf("index after the retry:\n%s\nbefore:\n%s", now, before)
			}
		})
	}
}

// TestReview11CargoPublishCutOnTheWire: a real client that sends the
// headers and part of a publish body, then closes its socket (and one that
// sends a body shorter than its Content-Length, then half-closes): nothing
// is stored and the server goes on (holds).
func TestReview11CargoPublishCutOnTheWire(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	tok := packageToken(t, s, "alice", "cargo", "write:package")
	body := cargotest.GoodBody("acorn", "1.0.0")
	addr := strings.TrimPrefix(s.URL, "http://")
	for _, cut := range []int{2, 4, 100, len(body) - 1} {
		for _, chunked := range []bool{false, true} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			hdr := fmt.Sprintf("PUT /api/packages/alice/cargo/api/v1/crates/new HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n", addr, tok)
			part := body[:cut]
			if chunked {
				hdr += "Transfer-Encoding: chunked\r\n\r\n"
				_, _ = fmt.Fprintf(c, "%s%x\r\n%s\r\n", hdr, len(part), part)
			} else {
				hdr += fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
				_, _ = fmt.Fprintf(c, "%s%s", hdr, part)
			}
			if cut == len(body)-1 {
				// Half-close: the server sees the end of the stream and can
				// still answer.
				_ = c.(*net.TCPConn).CloseWrite()
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err == nil {
					if resp.StatusCode >= 500 {
						t.Errorf("cut at %d (chunked %v): %d", cut, chunked, resp.StatusCode)
					}
					resp.Body.Close()
				}
			} else {
				time.Sleep(50 * time.Millisecond)
			}
			c.Close()
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := storedBlobs(t, s); n != 0 {
		t.Errorf("%d blobs stored after cut publishes", n)
	}
	if status, _, body := s.do(t, "GET", "/api/packages/alice/cargo/ac/or/acorn", "", nil); status != 404 {
		t.Errorf("index after cut publishes: %d %s", status, body)
	}
	if status, _, b := s.do(t, "PUT", "/api/packages/alice/cargo/api/v1/crates/new", string(body), cargoAuth(tok)); status != 200 {
		t.Fatalf("publish after: %d %s", status, b)
	}
}

// TestReview11CargoInitIndexCrash: InitIndex dies after its first commit is
// written but before it is announced (repository FaultRefsMoved). The
// caller got a 500; asking again finishes the job: the index exists with
// every crate, and the repository is not shown as empty (holds if so).
func TestReview11CargoInitIndexCrash(t *testing.T) {
	var armed atomic.Bool
	s := newServerWithOptions(t, routers.Options{RepoFault: func(_ context.Context, p repo_service.FaultPoint, _ int64) error {
		if p == repo_service.FaultRefsMoved && armed.CompareAndSwap(true, false) {
			return errors.New("crash after the ref moved")
		}
		return nil
	}})
	s.createUser(t, "alice")
	aliceH := basic("alice", "alice-password")
	review11Publish(t, s, "alice", "acorn", "1.0.0", aliceH)
	armed.Store(true)
	status, _, body := s.do(t, "POST", "/api/v1/packages/alice/cargo/-/index", "", aliceH)
	t.Logf("first POST: %d %s", status, body)
	st := gitIndexCall(t, s, "POST", "alice", "", aliceH, 200)
	if !st.Exists || st.LastCommit == "" {
		t.Fatalf("after the retry: %+v", st)
	}
	review11Publish(t, s, "alice", "acorn", "1.0.1", aliceH)
	runJobs(t, s)
	if got := gitIndexFile(t, s, "alice", "ac/or/acorn"); !strings.Contains(got, "1.0.1") {
		t.Fatalf("git index after a publish:\n%s", got)
	}
	_, _, repo := s.do(t, "GET", "/api/v1/repos/alice/_cargo-index", "", aliceH)
	if strings.Contains(repo, `"empty":true`) {
		t.Errorf("the index repository is shown empty: %s", repo)
	}
	if n := failedJobs(t, s); n != 0 {
		t.Errorf("%d failed jobs", n)
	}
}
