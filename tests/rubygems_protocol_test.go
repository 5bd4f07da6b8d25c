package tests

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	rubygems_module "wharf/modules/packages/rubygems"
)

// holaGems are the fixtures the protocol tests push: tiny, which hola
// depends on; hola 1.0.0 for Ruby and for x86_64-linux (two files of one
// version); and the pre-release 2.0.0.beta1.
var holaGems = []string{"tiny-0.1.2.gem", "hola-1.0.0.gem", "hola-1.0.0-x86_64-linux.gem", "hola-2.0.0.beta1.gem"}

type pushedGem struct {
	file []byte
	spec *rubygems_module.Spec
}

// infoOf is the info body the registry must serve for gems pushed in
// order: the format's own writer, checked against the compact_index gem's
// fixtures (modules/packages/rubygems).
func infoOf(gems ...pushedGem) string {
	var vs []rubygems_module.InfoVersion
	for _, g := range gems {
		sum := sha256.Sum256(g.file)
		vs = append(vs, g.spec.InfoVersion(hex.EncodeToString(sum[:])))
	}
	return string(rubygems_module.Info(vs))
}

var createdAt = regexp.MustCompile(`\Acreated_at: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n---\n`)

// TestRubyGemsProtocol walks the protocol's bytes through a life: pushes
// (a platform gem and a pre-release beside the release), every index,
// conditional and range requests, a yank and its undoing through the
// packages API, and removals through the packages API, each of which must
// reach every index, with a client copy of versions and info kept as
// Bundler keeps it (Range from its size, checked against the ETag).
func TestRubyGemsProtocol(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	base := gemsPath("alice")
	gems := map[string]pushedGem{}
	for _, name := range holaGems {
		b, spec := gemFixture(t, name)
		gems[name] = pushedGem{b, spec}
		status, body := s.pushGem(t, "alice", key, b)
		want := "Successfully registered gem: " + spec.Name + " (" + strings.TrimPrefix(strings.TrimSuffix(name, ".gem"), spec.Name+"-") + ")\n"
		if status != http.StatusOK || body != want {
			t.Fatalf("push %s: %d %q, want 200 %q", name, status, body, want)
		}
	}
	tiny, hola, holaLinux, holaBeta := gems[holaGems[0]], gems[holaGems[1]], gems[holaGems[2]], gems[holaGems[3]]

	versions := &bundlerCopy{s: s, path: base + "versions"}
	info := &bundlerCopy{s: s, path: base + "info/hola"}
	versions.refresh(t)
	info.refresh(t)
	if !createdAt.Match(versions.body) {
		t.Fatalf("versions does not start with its header:\n%s", versions.body)
	}
	lines := func(c *bundlerCopy) string { return string(createdAt.ReplaceAll(c.body, nil)) }
	wantVersions := "tiny 0.1.2 " + md5Hex([]byte(infoOf(tiny))) + "\n" +
		"hola 1.0.0 " + md5Hex([]byte(infoOf(hola))) + "\n" +
		"hola 1.0.0-x86_64-linux " + md5Hex([]byte(infoOf(hola, holaLinux))) + "\n" +
		"hola 2.0.0.beta1 " + md5Hex([]byte(infoOf(hola, holaLinux, holaBeta))) + "\n"
	if got := lines(versions); got != wantVersions {
		t.Fatalf("versions lines:\n%s\nwant:\n%s", got, wantVersions)
	}
	if got, want := string(info.body), infoOf(hola, holaLinux, holaBeta); got != want {
		t.Fatalf("info/hola:\n%s\nwant:\n%s", got, want)
	}
	// The exact line, as rubygems.org writes it: runtime dependencies only
	// (not minitest), requirements sorted and joined by "&", the checksum
	// of the .gem, the ruby requirement.
	if want := "1.0.0 tiny:>= 0.1.2&~> 0.1|checksum:" + hex.EncodeToString(sha(hola.file)) + ",ruby:>= 2.7.0\n"; !strings.Contains(string(info.body), "\n"+want) {
		t.Errorf("info/hola lacks %q:\n%s", want, info.body)
	}

	// Headers of a full answer, then 304, ranges and HEAD.
	for _, path := range []string{"versions", "info/hola", "info/tiny", "names"} {
		status, hdr, body := s.do(t, "GET", base+path, "", nil)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		checkCompactHeaders(t, path, hdr, body)
		if status, h2, _ := s.do(t, "GET", base+path, "", map[string]string{"If-None-Match": hdr.Get("ETag")}); status != http.StatusNotModified || h2.Get("ETag") != hdr.Get("ETag") {
			t.Errorf("%s with its ETag: %d", path, status)
		}
		if status, _, _ := s.do(t, "GET", base+path, "", map[string]string{"If-None-Match": "W/" + hdr.Get("ETag")}); status != http.StatusNotModified {
			t.Errorf("%s with its weak ETag: %d", path, status)
		}
		// If-None-Match is decided before Range.
		if status, _, _ := s.do(t, "GET", base+path, "", map[string]string{"If-None-Match": hdr.Get("ETag"), "Range": "bytes=3-"}); status != http.StatusNotModified {
			t.Errorf("%s with its ETag and a range: %d", path, status)
		}
		status, h3, part := s.do(t, "GET", base+path, "", map[string]string{"Range": "bytes=4-"})
		if status != http.StatusPartialContent || part != body[4:] || h3.Get("Content-Range") != "bytes 4-"+strconv.Itoa(len(body)-1)+"/"+strconv.Itoa(len(body)) {
			t.Errorf("%s bytes=4-: %d %q %q", path, status, h3.Get("Content-Range"), part)
		}
		// The digest describes the whole representation, not the part.
		if h3.Get("Repr-Digest") != hdr.Get("Repr-Digest") || h3.Get("ETag") != hdr.Get("ETag") {
			t.Errorf("%s: a range carries Repr-Digest %q ETag %q, the whole body's are %q %q", path, h3.Get("Repr-Digest"), h3.Get("ETag"), hdr.Get("Repr-Digest"), hdr.Get("ETag"))
		}
		if status, h4, _ := s.do(t, "GET", base+path, "", map[string]string{"Range": "bytes=" + strconv.Itoa(len(body)) + "-"}); status != http.StatusRequestedRangeNotSatisfiable || h4.Get("Content-Range") != "bytes */"+strconv.Itoa(len(body)) {
			t.Errorf("%s past its end: %d %q", path, status, h4.Get("Content-Range"))
		}
		if status, h5, b := s.do(t, "HEAD", base+path, "", nil); status != http.StatusOK || b != "" || h5.Get("ETag") != hdr.Get("ETag") || h5.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("HEAD %s: %d %q", path, status, h5)
		}
	}
	for _, path := range []string{base, base + "versions", strings.TrimSuffix(base, "/")} {
		if status, _, _ := s.do(t, "HEAD", path, "", nil); status != http.StatusOK {
			t.Errorf("HEAD %s: %d", path, status)
		}
	}
	if _, _, body := s.do(t, "GET", base+"names", "", nil); body != "---\nhola\ntiny\n" {
		t.Errorf("names: %q", body)
	}
	// Names are exact: RubyGems asks for info/{name} as the gem spells it.
	for _, path := range []string{"info/HOLA", "info/nope", "info/", "quick/Marshal.4.8/HOLA-1.0.0.gemspec.rz", "gems/HOLA-1.0.0.gem", "gems/nope-1.0.gem", "api/v1/dependencies", "nope"} {
		status, hdr, body := s.do(t, "GET", base+path, "", nil)
		if status != http.StatusNotFound || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || strings.TrimSpace(body) == "" {
			t.Errorf("GET %s: %d %q %q", path, status, hdr.Get("Content-Type"), body)
		}
	}

	// The Marshal indexes are the format's writer's bytes for what is
	// listed (that writer equals Ruby's Marshal.dump), served gzip'd as
	// the body, without Content-Encoding.
	tuple := func(g pushedGem) rubygems_module.NameTuple {
		return rubygems_module.NameTuple{Name: g.spec.Name, Version: g.spec.Version, Platform: g.spec.Platform}
	}
	checkSpecs := func(name string, want []rubygems_module.NameTuple) {
		t.Helper()
		status, hdr, body := s.do(t, "GET", base+name, "", nil)
		if status != http.StatusOK || hdr.Get("Content-Encoding") != "" || hdr.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("%s: %d %v", name, status, hdr)
		}
		wantBody, err := rubygems_module.SpecsIndex(want)
		if err != nil {
			t.Fatal(err)
		}
		if got, exp := gunzip(t, []byte(body)), gunzip(t, wantBody); !bytes.Equal(got, exp) {
			t.Errorf("%s: %x, want %x (%v)", name, got, exp, want)
		}
	}
	checkSpecs("specs.4.8.gz", []rubygems_module.NameTuple{tuple(hola), tuple(holaLinux), tuple(tiny)})
	checkSpecs("latest_specs.4.8.gz", []rubygems_module.NameTuple{tuple(hola), tuple(holaLinux), tuple(tiny)})
	checkSpecs("prerelease_specs.4.8.gz", []rubygems_module.NameTuple{tuple(holaBeta)})
	for _, g := range []pushedGem{tiny, hola, holaLinux, holaBeta} {
		want, err := rubygems_module.QuickGemspec(g.spec)
		if err != nil {
			t.Fatal(err)
		}
		if status, _, body := s.do(t, "GET", base+g.spec.QuickSpecPath(), "", nil); status != http.StatusOK || body != string(want) {
			t.Errorf("%s: %d, %d bytes, want %d", g.spec.QuickSpecPath(), status, len(body), len(want))
		}
		if status, hdr, body := s.do(t, "GET", base+"gems/"+g.spec.FileName(), "", nil); status != http.StatusOK || body != string(g.file) || hdr.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("gems/%s: %d, %d bytes", g.spec.FileName(), status, len(body))
		}
	}

	// Yank: a platform of a version with two is refused rather than
	// widened; the version yanks with both; again is "already yanked"; an
	// unknown version or platform is 404.
	for _, c := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{url.Values{"gem_name": {"hola"}, "version": {"1.0.0"}, "platform": {"x86_64-linux"}}, 422, "yanks a version with all its platforms"},
		{url.Values{"gem_name": {"hola"}, "version": {"1.0.0"}, "platform": {"java"}}, 404, "This rubygem could not be found."},
		{url.Values{"gem_name": {"hola"}, "version": {"9.9.9"}}, 404, "This rubygem could not be found."},
		{url.Values{"gem_name": {"HOLA"}, "version": {"1.0.0"}}, 404, "This rubygem could not be found."},
		{url.Values{"gem_name": {"hola"}}, 400, "gem_name and version are required"},
		{url.Values{"gem_name": {"hola"}, "version": {"1.0.0"}}, 200, "Successfully yanked gem: hola (1.0.0) (platforms ruby, x86_64-linux)"},
		{url.Values{"gem_name": {"hola"}, "version": {"1.0.0"}}, 422, "The version hola (1.0.0) has already been yanked."},
	} {
		status, body := s.yankGem(t, "alice", key, c.form)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("yank %v: %d %q, want %d %q", c.form, status, body, c.status, c.want)
		}
	}
	if got := versions.refresh(t); len(got) != 1 || got[0] != http.StatusPartialContent {
		t.Errorf("versions after the yank: %v, want one 206", got)
	}
	// info/hola shrank: the client's range starts past its end (416), and
	// the client fetches it whole.
	if got := info.refresh(t); got[len(got)-1] != http.StatusOK {
		t.Errorf("info after the yank: %v, want the whole file", got)
	}
	wantVersions += "hola -1.0.0,-1.0.0-x86_64-linux " + md5Hex([]byte(infoOf(holaBeta))) + "\n"
	if got := lines(versions); got != wantVersions {
		t.Fatalf("versions after the yank:\n%s\nwant:\n%s", got, wantVersions)
	}
	if string(info.body) != infoOf(holaBeta) {
		t.Errorf("info/hola after the yank:\n%s", info.body)
	}
	checkSpecs("specs.4.8.gz", []rubygems_module.NameTuple{tuple(tiny)})
	checkSpecs("latest_specs.4.8.gz", []rubygems_module.NameTuple{tuple(tiny)})
	if status, _, _ := s.do(t, "GET", base+hola.spec.QuickSpecPath(), "", nil); status != http.StatusNotFound {
		t.Errorf("the quick gemspec of a yanked version: %d", status)
	}
	if status, _, body := s.do(t, "GET", base+"gems/"+hola.spec.FileName(), "", nil); status != http.StatusOK || body != string(hola.file) {
		t.Errorf("a yanked version's file (kept for whoever pinned it): %d", status)
	}
	// A yanked version takes no new platform; a new version of the gem is
	// fine.
	if status, body := s.pushGem(t, "alice", key, holaLinux.file); status != http.StatusConflict || !strings.Contains(body, "Repushing") {
		t.Errorf("push of a file that is there: %d %q", status, body)
	}

	// The owner undoes the yank through the packages API, which answers
	// 400 for a format that does not yank.
	owner := tokenHeader(key)
	if status, _, body := s.do(t, "POST", "/api/v1/packages/alice/rubygems/hola/1.0.0/-/unyank", "", owner); status != http.StatusNoContent {
		t.Fatalf("unyank: %d %s", status, body)
	}
	if status, _, _ := s.do(t, "POST", "/api/v1/packages/alice/rubygems/hola/1.0.0/-/unyank", "", owner); status != http.StatusNoContent {
		t.Errorf("a second unyank: %d", status)
	}
	if status, _, body := s.do(t, "POST", "/api/v1/packages/alice/rubygems/hola/1.0.0/-/unyank", "", nil); status != http.StatusUnauthorized {
		t.Errorf("anonymous unyank: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/packages/alice/npm/leftpad", `{"name":"leftpad"}`, nil); status == 0 {
		t.Fatal(body)
	}
	if status, _, body := s.do(t, "POST", "/api/v1/packages/alice/npm/leftpad/1.0.0/-/yank", "", owner); status != http.StatusBadRequest || !strings.Contains(apiMessage(t, body), "npm packages have no yank") {
		t.Errorf("yank of an npm version: %d %s", status, body)
	}
	versions.refresh(t)
	info.refresh(t)
	// info lists versions in push order: one listed again is back in its
	// place.
	wantVersions += "hola 1.0.0,1.0.0-x86_64-linux " + md5Hex([]byte(infoOf(hola, holaLinux, holaBeta))) + "\n"
	if got := lines(versions); got != wantVersions {
		t.Fatalf("versions after the unyank:\n%s\nwant:\n%s", got, wantVersions)
	}
	if string(info.body) != infoOf(hola, holaLinux, holaBeta) {
		t.Errorf("info/hola after the unyank:\n%s", info.body)
	}

	// A removal through the packages API leaves every index.
	if status, _, body := s.do(t, "DELETE", "/api/v1/packages/alice/rubygems/hola/2.0.0.beta1", "", owner); status != http.StatusNoContent {
		t.Fatalf("remove hola 2.0.0.beta1: %d %s", status, body)
	}
	if status, _, body := s.do(t, "DELETE", "/api/v1/packages/alice/rubygems/tiny/0.1.2", "", owner); status != http.StatusNoContent {
		t.Fatalf("remove tiny: %d %s", status, body)
	}
	versions.refresh(t)
	info.refresh(t)
	wantVersions += "hola -2.0.0.beta1 " + md5Hex([]byte(infoOf(hola, holaLinux))) + "\n" +
		"tiny -0.1.2 " + md5Hex([]byte("---\n")) + "\n"
	if got := lines(versions); got != wantVersions {
		t.Fatalf("versions after the removals:\n%s\nwant:\n%s", got, wantVersions)
	}
	if string(info.body) != infoOf(hola, holaLinux) {
		t.Errorf("info/hola after the removal:\n%s", info.body)
	}
	// A gem that is gone stays named in versions until a rebuild, so its
	// info is there, empty, with the MD5 versions lists.
	if status, _, body := s.do(t, "GET", base+"info/tiny", "", nil); status != http.StatusOK || body != "---\n" {
		t.Errorf("info/tiny once removed: %d %q", status, body)
	}
	if _, _, body := s.do(t, "GET", base+"names", "", nil); body != "---\nhola\n" {
		t.Errorf("names after the removals: %q", body)
	}
	checkSpecs("specs.4.8.gz", []rubygems_module.NameTuple{tuple(hola), tuple(holaLinux)})
	checkSpecs("prerelease_specs.4.8.gz", nil)
	for _, path := range []string{holaBeta.spec.QuickSpecPath(), "gems/" + holaBeta.spec.FileName(), tiny.spec.QuickSpecPath(), "gems/" + tiny.spec.FileName()} {
		if status, _, _ := s.do(t, "GET", base+path, "", nil); status != http.StatusNotFound {
			t.Errorf("%s once removed: %d", path, status)
		}
	}

	// A rebuild rewrites the file: one line per gem that lists a version,
	// a new header; a client's copy fails its check and is fetched whole.
	o, err := s.App.Users.GetByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.RubyGems.RebuildIndex(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if got := versions.refresh(t); len(got) != 2 || got[1] != http.StatusOK {
		t.Errorf("versions after a rebuild: %v, want a range then the whole file", got)
	}
	if got, want := lines(versions), "hola 1.0.0,1.0.0-x86_64-linux "+md5Hex([]byte(infoOf(hola, holaLinux)))+"\n"; got != want {
		t.Errorf("rebuilt versions:\n%s\nwant:\n%s", got, want)
	}
	if got := info.refresh(t); len(got) != 1 || got[0] != http.StatusNotModified {
		t.Errorf("info/hola after a rebuild: %v, want 304 (it did not change)", got)
	}
	if status, _, _ := s.do(t, "GET", base+"info/tiny", "", nil); status != http.StatusNotFound {
		t.Errorf("info/tiny after the rebuild: %d", status)
	}
}

func sha(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
