package tests

import (
	"encoding/pem"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// TestGoProxyPrivate: a private repository's tags are not published in
// a public organisation's registry (every reader of its packages would see
// the code), which a note tells its readers only; a private
// organisation's registry is not found by strangers. The real go command
// fetches a private module over HTTPS with a token from .netrc.
func TestGoProxyPrivate(t *testing.T) {
	requireClient(t, "git")
	s := newGoServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	alice := s.client(t, gitea.SetBasicAuth("alice", "alice-password"))
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "corp"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.CreateOrg(gitea.CreateOrgOption{Name: "hidden", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	push := func(owner, name string, private bool) {
		g, remote := goRepo(t, s, "alice", owner, name, private)
		writeTree(t, g.dir, map[string]string{
			"go.mod": goMod(goHost + "/" + owner + "/" + name),
			"x.go":   "package " + name + "\n\nfunc V() string { return \"" + owner + "/" + name + "\" }\n",
		})
		commitAll(g, name, "v1.0.0", "v1.1") // v1.1: a note
		g.must("push", "-q", remote, "main", "--tags")
	}
	push("corp", "secret", true)
	push("corp", "open", false)
	push("hidden", "pub", false)
	push("hidden", "priv", true)
	runGoJobs(t, s)

	anon := map[string]string(nil)
	bob := basic("bob", "bob-password")
	ah := basic("alice", "alice-password")
	for _, c := range []struct {
		owner, repo string
		who         map[string]string
		name        string
		want        int
	}{
		{"corp", "secret", anon, "anonymous", 404},
		{"corp", "secret", bob, "bob", 404},
		{"corp", "secret", ah, "alice", 404},
		{"corp", "open", anon, "anonymous", 200},
		{"corp", "open", bob, "bob", 200},
		{"hidden", "pub", anon, "anonymous", 404},
		{"hidden", "pub", bob, "bob", 404},
		{"hidden", "pub", ah, "alice", 200},
		{"hidden", "priv", anon, "anonymous", 404},
		{"hidden", "priv", bob, "bob", 404},
		{"hidden", "priv", ah, "alice", 200},
	} {
		mod := goHost + "/" + c.owner + "/" + c.repo
		for _, p := range []string{"@v/list", "@v/v1.0.0.info", "@v/v1.0.0.mod", "@v/v1.0.0.zip", "@latest", "@v/main.info"} {
			status, _, body := s.do(t, "GET", "/api/packages/"+c.owner+"/go/"+mod+"/"+p, "", c.who)
			if c.want == 200 && status != 200 || c.want == 404 && status != 404 && status != 401 {
				t.Errorf("%s: %s/%s: %d %s, want %d", c.name, mod, p, status, body, c.want)
			}
			if c.want == 404 && strings.Contains(body, c.owner+"/"+c.repo+`"`) {
				t.Errorf("%s: %s/%s leaks: %s", c.name, mod, p, body)
			}
		}
	}
	for who, h := range map[string]map[string]string{"anonymous": anon, "bob": bob} {
		for _, n := range goNotes(t, s, "corp", h) {
			if n.Repository == "corp/secret" {
				t.Errorf("%s sees the private repository's note: %+v", who, n)
			}
		}
	}
	seen := map[string]string{}
	for _, n := range goNotes(t, s, "corp", ah) {
		seen[n.Repository+" "+n.Tag] = n.Reason
	}
	if seen["corp/secret v1.1"] == "" || !strings.Contains(seen["corp/secret v1.0.0"], "private") {
		t.Errorf("alice does not see why her private repository has no versions: %q", seen)
	}

	t.Run("go over https with netrc", func(t *testing.T) {
		requireClient(t, "go")
		target, err := url.Parse(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		tls := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
		t.Cleanup(tls.Close)
		certFile := filepath.Join(t.TempDir(), "cert.pem")
		if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tls.Certificate().Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
		tok, _, err := alice.CreateAccessToken(gitea.CreateAccessTokenOption{Name: "go", Scopes: []gitea.AccessTokenScope{"read:package", "read:repository"}})
		if err != nil {
			t.Fatal(err)
		}
		work := t.TempDir()
		writeTree(t, work, map[string]string{
			"go.mod":  goMod("example.com/consumer"),
			"main.go": "package main\n\nimport \"" + goHost + "/hidden/priv\"\n\nfunc main() { println(priv.V()) }\n",
		})
		proxy := tls.URL + "/api/packages/hidden/go"
		noCreds := newGoCmd(t, work, "GOPROXY="+proxy, "SSL_CERT_FILE="+certFile)
		if out, err := noCreds.run("mod", "download", "-json", goHost+"/hidden/priv@v1.0.0"); err == nil {
			t.Fatalf("downloaded a private module without credentials: %s", out)
		}
		g := newGoCmd(t, work, "GOPROXY="+proxy, "SSL_CERT_FILE="+certFile)
		home := strings.TrimPrefix(g.env[1], "HOME=")
		// The go command (GOAUTH=netrc, Go 1.24+) matches a .netrc
		// machine as a prefix of the URL after "https://": with a port in
		// the URL, the machine must name it too.
		host := strings.TrimPrefix(tls.URL, "https://")
		writeTree(t, home, map[string]string{".netrc": "machine " + host + " login alice password " + tok.Token + "\n"})
		d := g.download(goHost + "/hidden/priv@v1.0.0")
		if d.Version != "v1.0.0" {
			t.Fatalf("download: %+v", d)
		}
		g.must("get", goHost+"/hidden/priv@latest")
	})
}
