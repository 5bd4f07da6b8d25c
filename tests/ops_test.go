package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

func TestHealthAndMetrics(t *testing.T) {
	s := newServer(t)
	status, hdr, body := s.do(t, "GET", "/api/healthz", "", nil)
	var h struct {
		Status string                         `json:"status"`
		Checks map[string][]map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil || status != 200 || h.Status != "pass" || h.Checks["database:ping"][0]["status"] != "pass" {
		t.Fatalf("healthz: %d %s", status, body)
	}
	if hdr.Get("Content-Type") != "application/health+json" {
		t.Fatalf("healthz content type %q", hdr.Get("Content-Type"))
	}
	s.do(t, "GET", "/api/v1/users/root", "", nil)
	s.do(t, "GET", "/api/v1/users/nobody", "", nil)

	status, _, body = s.do(t, "GET", "/metrics", "", nil)
	if status != http.StatusOK {
		t.Fatalf("metrics: %d", status)
	}
	for _, want := range []string{
		`wharf_http_requests_total{method="GET",route="/api/v1/users/{username}",status="200"} 1`,
		`wharf_http_requests_total{method="GET",route="/api/v1/users/{username}",status="404"} 1`,
		`wharf_http_request_duration_seconds_bucket{method="GET",route="/api/healthz"`,
		`go_sql_open_connections{db_name="` + s.App.DB.Type() + `"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The counts are the administrators' business.
	status, _, body = s.do(t, "GET", "/", "", basic(s.AdminName, s.AdminPass))
	if status != 200 || !strings.Contains(body, "1 user(s), 0 organisation(s)") {
		t.Fatalf("home page: %d %s", status, body)
	}
	if status, _, body = s.do(t, "GET", "/", "", nil); status != 200 || strings.Contains(body, "organisation(s)") {
		t.Fatalf("home page for a visitor: %d %s", status, body)
	}
}

// TestWebPages: the html_url of users, repositories and packages that the
// API hands out lead to real pages, with the same visibility rules.
func TestWebPages(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	repo, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "lib", AutoInit: true, Description: "the lib"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateRepo(gitea.CreateRepoOption{Name: "secret", Private: true}); err != nil {
		t.Fatal(err)
	}
	if status, _, body := s.do(t, "PUT", "/api/packages/alice/generic/tool/1.0.0/tool.bin", "x", basic("alice", "alice-password")); status != 201 {
		t.Fatalf("%d %s", status, body)
	}
	pkg, _, err := alice.GetPackage("alice", "generic", "tool", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	me, _, _ := alice.GetMyUserInfo()
	for _, c := range []struct {
		url, want, wantNot string
	}{
		{me.HTMLURL, "the lib", "secret"},
		{repo.HTMLURL, "git clone " + s.URL + "/alice/lib.git", ""},
		{s.URL + "/alice/-/packages", "tool", ""},
		{pkg.HTMLURL, "tool.bin", ""},
	} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), c.want) || (c.wantNot != "" && strings.Contains(string(b), c.wantNot)) {
			t.Errorf("GET %s: %d, want %q without %q:\n%s", c.url, resp.StatusCode, c.want, c.wantNot, b)
		}
	}
	// A visitor is sent to sign in and back (the repository may exist).
	if r := newWebClient(t, s.URL).get("/alice/secret"); r.Status != http.StatusSeeOther || r.Location != "/user/login?redirect_to=%2Falice%2Fsecret" {
		t.Errorf("a private repository page for an anonymous visitor: %d %q", r.Status, r.Location)
	}
	if status, _, body := s.do(t, "GET", "/alice/secret", "", basic("alice", "alice-password")); status != 200 || !strings.Contains(body, "empty") {
		t.Errorf("the owner sees the private repository: %d %s", status, body)
	}
	if status, hdr, _ := s.do(t, "GET", "/alice", "", basic("alice", "wrong-password")); status != 401 || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("wrong credentials in the browser: %d %v", status, hdr)
	}
}
