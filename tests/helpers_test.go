// Package tests holds Wharf's end-to-end tests: the real app or binary on
// 127.0.0.1, driven by real clients.
package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/models/unittest"
	"wharf/modules/setting"
	"wharf/routers"
)

// server is a running app on a random loopback port.
type server struct {
	URL        string
	App        *routers.App
	AdminName  string
	AdminPass  string
	AdminToken string
	// Stop closes the server early (the test's cleanup closes it
	// otherwise): an upstream registry that goes away.
	Stop func()
}

// newServer builds the app on a fresh database and work dir, serves it, and
// creates the first administrator. configure, if given, adjusts the
// configuration first.
func newServer(t testing.TB, configure ...func(*setting.Config)) *server {
	t.Helper()
	return newServerWithClock(t, nil, configure...)
}

// newServerWithClock is newServer with the app's clock (nil: real time).
func newServerWithClock(t testing.TB, now func() time.Time, configure ...func(*setting.Config)) *server {
	t.Helper()
	return newServerWithOptions(t, routers.Options{Now: now}, configure...)
}

// newServerWithOptions is newServer with the app's options (a clock, fault
// injection, a log that keeps what it is told; without one nothing is
// logged); Version is set here.
func newServerWithOptions(t testing.TB, opts routers.Options, configure ...func(*setting.Config)) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	cfg, err := setting.Load(setting.LoadOptions{WorkPath: t.TempDir(), Env: []string{"WHARF__SERVER__ROOT_URL=" + url}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = unittest.DatabaseConfig(t)
	for _, f := range configure {
		f(&cfg)
	}
	opts.Version = "test"
	if opts.Log == nil {
		opts.Log = unittest.DiscardLogger()
	}
	app, err := routers.NewApp(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = app.Handler
	if _, bench := t.(*testing.B); !bench {
		// Every JSON response is read by a strict decoder (strictjson_test.go);
		// benchmarks measure the server alone.
		handler = strictJSON(t, handler)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	stop := sync.OnceFunc(srv.Close)
	t.Cleanup(func() {
		stop()
		_ = app.Close()
	})
	admin, err := app.Users.Bootstrap(context.Background(), "root", "root@example.com", "root-password")
	if err != nil {
		t.Fatal(err)
	}
	return &server{URL: url, App: app, AdminName: "root", AdminPass: "root-password", AdminToken: admin.Token, Stop: stop}
}

// client returns an SDK client with the given options.
func (s *server) client(t testing.TB, opts ...gitea.ClientOption) *gitea.Client {
	t.Helper()
	c, err := gitea.NewClient(s.URL, append([]gitea.ClientOption{gitea.SetContext(t.Context())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createUser makes an individual account through the admin API.
func (s *server) createUser(t testing.TB, name string) {
	t.Helper()
	f := false
	_, _, err := s.client(t, gitea.SetToken(s.AdminToken)).AdminCreateUser(gitea.CreateUserOption{
		Username: name, Email: name + "@example.com", Password: name + "-password", MustChangePassword: &f,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// do sends a request with optional headers and returns the status, headers
// and body.
func (s *server) do(t testing.TB, method, path, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
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
	return resp.StatusCode, resp.Header, string(b)
}

// apiMessage decodes Gitea's error shape, failing the test if the body is
// not that shape or leaks internals.
func apiMessage(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Message *string `json:"message"`
		URL     string  `json:"url"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Message == nil {
		t.Fatalf("error body is not Gitea's {message,url}: %q", body)
	}
	lower := strings.ToLower(body)
	for _, leak := range []string{"sql", "goroutine", "panic", "xorm", "pq:", ".go:"} {
		if strings.Contains(lower, leak) {
			t.Fatalf("error body leaks internals (%q): %s", leak, body)
		}
	}
	return *e.Message
}

func basic(user, pass string) map[string]string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pass)
	return map[string]string{"Authorization": req.Header.Get("Authorization")}
}

func tokenHeader(tok string) map[string]string {
	return map[string]string{"Authorization": "token " + tok}
}

// requireClient finds a real client program. It skips on a developer
// machine that lacks it, and fails in CI, where a skip would prove nothing.
func requireClient(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed; CI=true makes this a failure", name)
	}
	return p
}

// seedVersions inserts n versions (1.0.0, 1.0.1, …) of one package directly,
// each with a lead file, for tests and benchmarks that need many versions
// fast. meta and file give a version's metadata JSON and file name.
func seedVersions(t testing.TB, s *server, owner string, typ packages_model.Type, name string, n int, meta, file func(v string) string) {
	t.Helper()
	ctx := context.Background()
	o, err := s.App.Users.GetByName(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	err = s.App.DB.WithTx(ctx, func(tx db.Engine) error {
		blob, err := packages_model.GetOrInsertBlob(ctx, tx, &packages_model.PackageBlob{Size: 1, HashMD5: strings.Repeat("0", 32),
			HashSHA1: strings.Repeat("1", 40), HashSHA256: strings.Repeat("2", 64), HashSHA512: strings.Repeat("3", 128)})
		if err != nil {
			return err
		}
		p, err := packages_model.GetOrInsertPackage(ctx, tx, &packages_model.Package{OwnerID: o.ID, Type: typ, Name: name})
		if err != nil {
			return err
		}
		for i := range n {
			v := fmt.Sprintf("1.%d.%d", i/100, i%100)
			pv := &packages_model.PackageVersion{PackageID: p.ID, CreatorID: o.ID, Version: v, MetadataJSON: meta(v), CreatedUnix: 1_700_000_000 + int64(i)}
			if err := packages_model.InsertVersion(ctx, tx, pv); err != nil {
				return err
			}
			if err := packages_model.InsertFile(ctx, tx, &packages_model.PackageFile{VersionID: pv.ID, BlobID: blob.ID, Name: file(v), IsLead: true}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// hideTable renames a table away so that every query of it fails, as a
// database failure would, and returns the function that brings it back
// (also run when the test ends, if the test did not).
func (s *server) hideTable(t *testing.T, table string) (restore func()) {
	t.Helper()
	exec := func(q string) error {
		_, err := s.App.DB.SQL().ExecContext(context.Background(), q)
		return err
	}
	if err := exec("ALTER TABLE " + table + " RENAME TO " + table + "_away"); err != nil {
		t.Fatalf("hide table %s: %v", table, err)
	}
	restored := false
	restore = func() {
		if restored {
			return
		}
		restored = true
		if err := exec("ALTER TABLE " + table + "_away RENAME TO " + table); err != nil {
			t.Errorf("restore table %s: %v", table, err)
		}
	}
	t.Cleanup(restore)
	return restore
}
