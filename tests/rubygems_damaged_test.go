package tests

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"wharf/modules/packages/rubygems/gemtest"
	"wharf/modules/setting"
)

// damagedGemMeta is gemtest's metadata with the top-level keys replaced.
func damagedGemMeta(name string, pairs ...string) string {
	y := gemtest.Metadata(name, "1.0.0")
	for i := 0; i+1 < len(pairs); i += 2 {
		y = gemtest.Replace(y, pairs[i], pairs[i+1])
	}
	return y
}

// wantGemError checks a refusal: the status, plain text as gem prints it,
// the message, and nothing of the server's insides.
func wantGemError(t *testing.T, what string, status int, hdr http.Header, body string, wantStatus int, msg string) {
	t.Helper()
	if status != wantStatus || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || !strings.Contains(body, msg) {
		t.Errorf("%s: %d %q %q, want %d with %q", what, status, hdr.Get("Content-Type"), body, wantStatus, msg)
	}
	lower := strings.ToLower(body)
	for _, leak := range []string{"sql", "goroutine", "panic", "xorm", "pq:", ".go:", "internal error"} {
		if strings.Contains(lower, leak) {
			t.Errorf("%s: the answer leaks %q: %s", what, leak, body)
		}
	}
}

// TestRubyGemsBadInput: every refusal of the list, pushed as gem
// push sends it, gets a plain-text message with a 4xx (never a 5xx), and
// stores nothing: no package, no blob, no upload left behind.
func TestRubyGemsBadInput(t *testing.T) {
	s := newServer(t, func(c *setting.Config) { c.Packages.LimitSize["rubygems"] = 256 << 10 })
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	push := func(body []byte, header map[string]string) (int, http.Header, string) {
		h := map[string]string{"Authorization": key, "Content-Type": "application/octet-stream"}
		for k, v := range header {
			h[k] = v
		}
		return s.do(t, "POST", gemsPath("alice")+"api/v1/gems", string(body), h)
	}
	data := gemtest.DataTarGz("hola")
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(i*7919 + i>>8)
	}
	cases := []struct {
		name   string
		gem    []byte
		status int
		msg    string
	}{
		{"empty body", nil, 400, "no .gem in its body"},
		{"not a tar", []byte(strings.Repeat("not a gem ", 200)), 400, "not a tar archive"},
		{"gzip'd gem", gemtest.Gzip(gemtest.Gem(gemtest.Metadata("hola", "1.0.0"))), 400, "gzip-compressed"},
		{"truncated", gemtest.Gem(gemtest.Metadata("hola", "1.0.0"))[:700], 400, "truncated"},
		{"no metadata.gz", gemtest.Tar(gemtest.File{Name: "data.tar.gz", Body: data}), 400, "no metadata.gz"},
		{"YAML alias bomb", gemtest.Gem(damagedGemMeta("hola", "files", "files: &a [x, x, x, x, x, x, x, x, x, x]\ntest_files: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nextra_rdoc_files: [*b, *b, *b, *b, *b, *b, *b, *b]")), 400, "aliases"},
		{"metadata over its limit", gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: gemtest.Gzip(bytes.Repeat([]byte(" "), 1<<20+1))}, gemtest.File{Name: "data.tar.gz", Body: data}), 413, "unpacks to more than 1048576 bytes"},
		{"a .gem over LIMIT_SIZE_RUBYGEMS", gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: gemtest.Gzip([]byte(gemtest.Metadata("hola", "1.0.0")))}, gemtest.File{Name: "data.tar.gz", Body: big}), 413, "limit"},
		{"name with /", gemtest.Gem(damagedGemMeta("hola", "name", "name: a/b")), 400, "can only include"},
		{"name with ..", gemtest.Gem(damagedGemMeta("hola", "name", "name: ../../etc")), 400, "can only include"},
		{"name ..", gemtest.Gem(damagedGemMeta("hola", "name", "name: ..")), 400, "must include at least one letter"},
		{"name with a control character", gemtest.Gem(damagedGemMeta("hola", "name", `name: "ho\x01la"`)), 400, "can only include"},
		{"name with a newline", gemtest.Gem(damagedGemMeta("hola", "name", `name: "ho\nla"`)), 400, "can only include"},
		{"version with -", gemtest.Gem(damagedGemMeta("hola", "version", "version: !ruby/object:Gem::Version\n  version: 1.0-x86_64-linux")), 400, "not a RubyGems version"},
		{"unknown Ruby class", gemtest.Gem(damagedGemMeta("hola", "files", "files:\n- !ruby/object:Kernel {}")), 400, "which RubyGems refuses"},
	}
	for _, c := range cases {
		status, hdr, body := push(c.gem, nil)
		wantGemError(t, c.name, status, hdr, body, c.status, c.msg)
	}
	// gem push --attestation sends a multipart body; one without its "gem"
	// part is the client's mistake.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("attestations", "[]")
	_ = mw.Close()
	status, hdr, body := push(mp.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()})
	wantGemError(t, "multipart without the gem", status, hdr, body, 400, `no part named "gem"`)

	// Nothing of any of them was stored.
	var blobs, pkgs int
	db := s.App.DB.SQL()
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM package_blob").Scan(&blobs); err != nil || blobs != 0 {
		t.Errorf("%d blobs after refused pushes (%v)", blobs, err)
	}
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM package").Scan(&pkgs); err != nil || pkgs != 0 {
		t.Errorf("%d packages after refused pushes (%v)", pkgs, err)
	}
	stored := 0
	if err := s.App.Store.Iterate(context.Background(), func(string, int64) error { stored++; return nil }); err != nil || stored != 0 {
		t.Errorf("%d blobs in the store after refused pushes (%v)", stored, err)
	}
	if _, _, versions := s.do(t, "GET", gemsPath("alice")+"versions", "", nil); strings.Count(versions, "\n") != 2 {
		t.Errorf("versions after refused pushes:\n%s", versions)
	}

	// Refusals of good gems: the state they meet.
	good := gemtest.Gem(gemtest.Metadata("hola", "1.0.0"))
	s.mustPushGem(t, "alice", key, good)
	blobsBefore := 0
	_ = db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM package_blob").Scan(&blobsBefore)
	storedBefore := 0
	_ = s.App.Store.Iterate(context.Background(), func(string, int64) error { storedBefore++; return nil })
	platformGem := gemtest.Gem(damagedGemMeta("hola", "platform", "platform: java"))
	for _, c := range []struct {
		name   string
		key    string
		gem    []byte
		status int
		msg    string
	}{
		{"the same version again", key, good, 409, "Repushing of gem versions is not allowed"},
		{"another spelling of the version", key, gemtest.Gem(damagedGemMeta("hola", "version", "version: !ruby/object:Gem::Version\n  version: '1.0'")), 409, "which is already here"},
		{"another case of the name", key, gemtest.Gem(gemtest.Metadata("Hola", "2.0.0")), 409, `the gem name "Hola" is taken by "hola"`},
		{"no key", "", gemtest.Gem(gemtest.Metadata("hola", "2.0.0")), 401, "gem signin"},
		{"a wrong key", strings.Repeat("ab", 20), gemtest.Gem(gemtest.Metadata("hola", "2.0.0")), 401, "invalid access token"},
		{"a read-only key", packageToken(t, s, "alice", "ro", "read:package"), gemtest.Gem(gemtest.Metadata("hola", "2.0.0")), 403, "write:package"},
	} {
		status, hdr, body := s.do(t, "POST", gemsPath("alice")+"api/v1/gems", string(c.gem), map[string]string{"Authorization": c.key})
		wantGemError(t, c.name, status, hdr, body, c.status, c.msg)
	}
	// A yanked version takes no new platform until it is unyanked.
	if status, body := s.yankGem(t, "alice", key, url.Values{"gem_name": {"hola"}, "version": {"1.0.0"}}); status != 200 {
		t.Fatalf("yank: %d %s", status, body)
	}
	status, hdr, body = s.do(t, "POST", gemsPath("alice")+"api/v1/gems", string(platformGem), map[string]string{"Authorization": key})
	wantGemError(t, "a platform of a yanked version", status, hdr, body, 409, "is yanked: unyank it first")
	blobsAfter := 0
	_ = db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM package_blob").Scan(&blobsAfter)
	storedAfter := 0
	_ = s.App.Store.Iterate(context.Background(), func(string, int64) error { storedAfter++; return nil })
	if blobsAfter != blobsBefore || storedAfter != storedBefore {
		t.Errorf("refused pushes of good gems stored %d blob rows, %d blobs", blobsAfter-blobsBefore, storedAfter-storedBefore)
	}

	// Yank and sign-in mistakes.
	for _, c := range []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		msg                      string
	}{
		{"yank of a version that does not exist", "DELETE", "api/v1/gems/yank", "gem_name=hola&version=3.0.0", map[string]string{"Authorization": key}, 404, "This rubygem could not be found."},
		{"yank of a gem that does not exist", "DELETE", "api/v1/gems/yank", "gem_name=nope&version=1.0.0", map[string]string{"Authorization": key}, 404, "This rubygem could not be found."},
		{"yank without a version", "DELETE", "api/v1/gems/yank", "gem_name=hola", map[string]string{"Authorization": key}, 400, "required"},
		{"yank with a broken form", "DELETE", "api/v1/gems/yank", "gem_name=%zz", map[string]string{"Authorization": key}, 400, "not a form"},
		{"yank with a name holding NUL", "DELETE", "api/v1/gems/yank", "gem_name=ho%00la&version=1.0.0", map[string]string{"Authorization": key}, 404, "This rubygem could not be found."},
		{"anonymous yank", "DELETE", "api/v1/gems/yank", "gem_name=hola&version=1.0.0", nil, 401, "gem signin"},
		{"sign-in with a wrong password", "POST", "api/v1/api_key", "name=x", basic("alice", "nope"), 401, "gem signin"},
		{"info of a name with a control character", "GET", "info/ho%01la", "", nil, 404, "This rubygem could not be found."},
		{"info of a name that is not UTF-8", "GET", "info/ho%ffla", "", nil, 404, "This rubygem could not be found."},
		{"a file whose name is not UTF-8", "GET", "gems/ho%ffla-1.0.0.gem", "", nil, 404, "This rubygem could not be found."},
		{"a quick gemspec whose name is not UTF-8", "GET", "quick/Marshal.4.8/ho%ffla-1.0.0.gemspec.rz", "", nil, 404, "This rubygem could not be found."},
		{"yank of a version that is not UTF-8", "DELETE", "api/v1/gems/yank", "gem_name=hola&version=1.%ff", map[string]string{"Authorization": key}, 404, "This rubygem could not be found."},
		{"a quick gemspec of something else", "GET", "quick/Marshal.4.8/hola-1.0.0.gem", "", nil, 404, "not found"},
		{"a file outside gems/", "GET", "gems/..%2f..%2fversions", "", nil, 404, "could not be found"},
	} {
		status, hdr, body := s.do(t, c.method, gemsPath("alice")+c.path, c.body, c.header)
		wantGemError(t, c.name, status, hdr, body, c.status, c.msg)
	}
}
