package virtual_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	packages_model "wharf/models/packages"
	"wharf/models/unittest"
	"wharf/modules/apperr"
	"wharf/modules/setting"
	"wharf/modules/storage"
	jobs_service "wharf/services/jobs"
	org_service "wharf/services/org"
	packages_service "wharf/services/packages"
	"wharf/services/packages/virtual"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
)

// upstreamFixture is a virtual npm registry "hub" whose one member is an
// upstream served by handler, with a clock the test moves.
type upstreamFixture struct {
	svc   *virtual.Service
	reg   *virtual.Registry
	clock atomic.Int64
	hits  atomic.Int64
}

func newUpstreamFixture(t *testing.T, handler http.HandlerFunc) (*upstreamFixture, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	f := &upstreamFixture{}
	f.clock.Store(1_800_000_000)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		handler(w, r)
	}))
	t.Cleanup(up.Close)
	d := unittest.NewDB(t)
	log := unittest.DiscardLogger()
	now := func() time.Time { return time.Unix(f.clock.Load(), 0) }
	store, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	users := user_service.New(user_service.Deps{DB: d, Log: log, Now: now, MinPasswordLength: 8})
	orgs := org_service.New(org_service.Deps{DB: d, Now: now, Users: users})
	repos := repo_service.New(repo_service.Deps{DB: d, Log: log, Now: now, Users: users, Jobs: jobs_service.NewRunner(d, log, now),
		Root: t.TempDir(), DefaultBranch: "main", RootURL: "http://localhost/"})
	pkgs, err := packages_service.New(packages_service.Deps{DB: d, Store: store, Log: log, Now: now, Users: users, Repos: repos,
		Cfg: setting.Packages{UploadTempPath: t.TempDir(), LimitSize: map[string]int64{}}})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = virtual.New(virtual.Deps{DB: d, Log: log, Now: now, Users: users, Packages: pkgs, RootURL: "http://localhost/",
		Cfg: setting.Virtual{MetadataTTL: time.Minute, UpstreamTimeout: 2 * time.Second, MaxUpstreamRequests: 4}})
	admin, err := users.Create(ctx, user_service.CreateOptions{Name: "root", Email: "root@example.com", Password: "root-password", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	hub, err := orgs.Create(ctx, admin, org_service.CreateOptions{Name: "hub"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := pkgs.AccessTo(ctx, admin, hub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Set(ctx, a, packages_model.TypeNpm, virtual.Spec{Members: []virtual.MemberSpec{{URL: up.URL + "/npm", Token: "tok"}}}); err != nil {
		t.Fatal(err)
	}
	if f.reg, err = f.svc.Lookup(ctx, hub, packages_model.TypeNpm); err != nil || f.reg == nil {
		t.Fatalf("lookup: %v %v", f.reg, err)
	}
	return f, up
}

func (f *upstreamFixture) fetch(t *testing.T, name string) (*virtual.Document, error) {
	t.Helper()
	up := f.reg.Members[0].Upstream
	return f.svc.FetchDocument(context.Background(), f.reg, up, up.URL+name, "application/json")
}

// TestFetchDocumentCache: a document is fetched once per METADATA_TTL,
// revalidated with its ETag after it (304 keeps the copy), served stale
// with a warning when the upstream fails or is gone, and a 404 is
// remembered as not found.
func TestFetchDocumentCache(t *testing.T) {
	var mode atomic.Value
	mode.Store("ok")
	var sawAuth, sawINM atomic.Value
	sawAuth.Store("")
	sawINM.Store("")
	f, up := newUpstreamFixture(t, func(w http.ResponseWriter, r *http.Request) {
		sawAuth.Store(r.Header.Get("Authorization"))
		sawINM.Store(r.Header.Get("If-None-Match"))
		if strings.HasSuffix(r.URL.Path, "/missing") {
			http.NotFound(w, r)
			return
		}
		switch mode.Load() {
		case "fail":
			http.Error(w, "down", http.StatusBadGateway)
		default:
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"v1"`)
			fmt.Fprint(w, `{"name":"left-pad"}`)
		}
	})
	d, err := f.fetch(t, "left-pad")
	if err != nil || string(d.Body) != `{"name":"left-pad"}` || d.Stale {
		t.Fatalf("first fetch: %+v %v", d, err)
	}
	if sawAuth.Load() != "Bearer tok" {
		t.Fatalf("the token is not sent: %q", sawAuth.Load())
	}
	if _, err := f.fetch(t, "left-pad"); err != nil || f.hits.Load() != 1 {
		t.Fatalf("within the TTL: %v, %d upstream requests (want 1)", err, f.hits.Load())
	}
	f.clock.Add(61)
	if d, err := f.fetch(t, "left-pad"); err != nil || d.Stale || string(d.Body) != `{"name":"left-pad"}` || f.hits.Load() != 2 || sawINM.Load() != `"v1"` {
		t.Fatalf("revalidation: %+v %v, %d requests, If-None-Match %q", d, err, f.hits.Load(), sawINM.Load())
	}
	// Revalidated just now: the next is from the copy.
	if _, err := f.fetch(t, "left-pad"); err != nil || f.hits.Load() != 2 {
		t.Fatalf("after a 304 the TTL restarts: %v, %d requests", err, f.hits.Load())
	}
	f.clock.Add(61)
	mode.Store("fail")
	if d, err := f.fetch(t, "left-pad"); err != nil || !d.Stale || d.Warning == "" || string(d.Body) != `{"name":"left-pad"}` {
		t.Fatalf("upstream failing: %+v %v", d, err)
	}
	up.Close()
	if d, err := f.fetch(t, "left-pad"); err != nil || !d.Stale {
		t.Fatalf("upstream gone: %+v %v", d, err)
	}
	// Never fetched and the upstream is gone: an upstream error.
	if _, err := f.fetch(t, "other"); !virtual.IsUpstreamError(err) {
		t.Fatalf("upstream gone, nothing stored: %v", err)
	}
}

func TestFetchDocumentNotFoundIsRemembered(t *testing.T) {
	f, _ := newUpstreamFixture(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	for range 2 {
		if _, err := f.fetch(t, "missing"); apperr.KindOf(err) != apperr.NotFound {
			t.Fatalf("missing: %v", err)
		}
	}
	if f.hits.Load() != 1 {
		t.Fatalf("%d upstream requests for a remembered 404 (want 1)", f.hits.Load())
	}
}

// TestFetchDocumentSingleFlight: concurrent requests for one document are
// one upstream request.
func TestFetchDocumentSingleFlight(t *testing.T) {
	release := make(chan struct{})
	f, _ := newUpstreamFixture(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		fmt.Fprint(w, `{}`)
	})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.fetch(t, "pkg")
			errs <- err
		}()
	}
	// Let the callers meet in the flight before the upstream answers.
	for f.hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if f.hits.Load() != 1 {
		t.Fatalf("%d upstream requests for 8 concurrent fetches (want 1)", f.hits.Load())
	}
}

// TestFetchDocumentGarbage: an upstream that hangs past the timeout or
// sends more than a document may hold is an upstream error, nothing stored.
func TestFetchDocumentGarbage(t *testing.T) {
	f, _ := newUpstreamFixture(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/hang") {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		big := strings.Repeat("x", 1<<20)
		for range virtual.MaxDocumentSize/(1<<20) + 1 {
			if _, err := fmt.Fprint(w, big); err != nil {
				return
			}
		}
	})
	if _, err := f.fetch(t, "big"); !virtual.IsUpstreamError(err) {
		t.Fatalf("oversized document: %v", err)
	}
	if _, err := f.fetch(t, "hang"); !virtual.IsUpstreamError(err) {
		t.Fatalf("hanging upstream: %v", err)
	}
}
