package tests

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	composer_module "wharf/modules/packages/composer"
)

// Review of issue 10: Composer documents built from hostile stored
// composer.json, and Last-Modified within one second.

// TestReview10ComposerP2RepeatedKeyIsLinear: a composer.json whose only
// oddity is a key repeated inside a nested object (accepted by the
// upload, and by composer: PHP keeps the last value) must not make every
// p2 request cost seconds of CPU. jsonobject's slow path (appendClean)
// validates a nested value again at every level it descends (O(depth ×
// size)) and finds a repeated key by comparing each key with every one
// before it (O(keys²)). A few hundred KB are enough here; an upload may
// hold 4 MiB of composer.json, and any reader of the package (anonymous
// for a public owner) can ask for p2 again and again.
//
// Linear, not fast: the machine is noisy, so the test compares each
// document's p2 time with that of one a quarter of its size, served by the
// same server: linear work grows about 4 times, the quadratic paths 16.
func TestReview10ComposerP2RepeatedKeyIsLinear(t *testing.T) {
	wide := func(keys int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range keys {
			fmt.Fprintf(&b, `"k%d":1,`, i)
		}
		b.WriteString(`"k0":2}`)
		return b.String()
	}
	deep := func(depth int) string {
		return strings.Repeat(`{"p":"`+strings.Repeat("x", 40)+`","a":`, depth) + `{"b":1,"b":2}` + strings.Repeat("}", depth)
	}
	for name, sizes := range map[string][2]string{"wide": {wide(10000), wide(40000)}, "deep": {deep(1500), deep(6000)}} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t)
			s.createUser(t, "acme")
			h := basic("acme", "acme-password")
			var took [2]time.Duration
			for i, extra := range sizes {
				pkg := fmt.Sprintf("acme/odd%d", i)
				cj := `{"name":"` + pkg + `","extra":` + extra + `}`
				zip := composerZip("", map[string]string{"composer.json": cj})
				status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version=1.0.0", string(zip), h)
				if status == http.StatusBadRequest && name == "deep" {
					// The upload now refuses this depth (more than
					// composer_module.MaxDepth); data stored before it did
					// is still served: store it as it was stored then.
					plain := composerZip("", map[string]string{"composer.json": `{"name":"` + pkg + `"}`})
					if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version=1.0.0", string(plain), h); status != 201 {
						t.Fatalf("upload: %d %s", status, body)
					}
					meta := `{"composer_json":` + cj + `,"version_normalized":"1.0.0.0","dist_type":"zip"}`
					if _, err := s.App.DB.Xorm().Exec("UPDATE package_version SET metadata_json = ? WHERE package_id = (SELECT id FROM package WHERE lower_name = ?)", meta, pkg); err != nil {
						t.Fatal(err)
					}
				} else if status != 201 {
					t.Fatalf("upload: %d %s", status, body)
				}
				took[i] = time.Hour
				for range 3 { // the best of three: the least disturbed
					start := time.Now()
					status, _, body = s.do(t, "GET", "/api/packages/acme/composer/p2/"+pkg+".json", "", nil)
					took[i] = min(took[i], time.Since(start))
					if status != 200 {
						t.Fatalf("p2: %d %.200s", status, body)
					}
				}
			}
			ratio := float64(took[1]) / float64(took[0])
			t.Logf("p2 of a %d-byte composer.json: %v; of one 4 times larger: %v (×%.1f)", len(sizes[0]), took[0], took[1], ratio)
			if ratio > 9 {
				t.Errorf("p2 time grows ×%.1f for 4 times the document: not linear", ratio)
			}
		})
	}
}

// TestReview10ComposerSameSecondChangeNot304: a client that fetched p2 (or
// packages.json) in the second of a change, and then another change in
// that same second, must not get 304 later: the Last-Modified it holds
// names a second whose later changes it never saw.
func TestReview10ComposerSameSecondChangeNot304(t *testing.T) {
	clock := newTestClock()
	s := newServerWithClock(t, clock.now)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	upload := func(name, v string) {
		t.Helper()
		zip := composerZip("", map[string]string{"composer.json": `{"name":"` + name + `"}`})
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version="+v, string(zip), h); status != 201 {
			t.Fatalf("upload %s %s: %d %s", name, v, status, body)
		}
	}
	upload("acme/lib", "1.0.0")
	// composer reads both documents in the same second (the clock stands).
	_, p2h, _ := s.do(t, "GET", "/api/packages/acme/composer/p2/acme/lib.json", "", h)
	_, idxh, _ := s.do(t, "GET", "/api/packages/acme/composer/packages.json", "", h)
	// Another publish, still in that second: a new version, a new package.
	upload("acme/lib", "1.1.0")
	upload("acme/other", "1.0.0")
	clock.advance(10 * time.Second)

	cond := func(path, lastModified string) (int, string) {
		status, _, body := s.do(t, "GET", path, "", map[string]string{"Authorization": h["Authorization"], "If-Modified-Since": lastModified})
		return status, body
	}
	if status, body := cond("/api/packages/acme/composer/p2/acme/lib.json", p2h.Get("Last-Modified")); status != 200 || !strings.Contains(body, `"1.1.0"`) {
		t.Errorf("p2 with the Last-Modified read before 1.1.0 (%q): %d — composer keeps a document without 1.1.0", p2h.Get("Last-Modified"), status)
	}
	if status, body := cond("/api/packages/acme/composer/packages.json", idxh.Get("Last-Modified")); status != 200 || !strings.Contains(body, "acme/other") {
		t.Errorf("packages.json with the Last-Modified read before acme/other (%q): %d — composer never learns the new name", idxh.Get("Last-Modified"), status)
	}
}

// TestReview10ComposerP2IsUTF8: a composer.json whose strings hold bytes
// that are not UTF-8, or an escaped lone surrogate, must not reach p2 as
// it is: RFC 8259 requires UTF-8, and PHP's json_decode refuses both
// (JSON_ERROR_UTF8, JSON_ERROR_UTF16), failing the whole package's
// document. The upload refuses it with a reason; one stored before it
// did is served with U+FFFD in its place, and composer's PHP reads p2.
func TestReview10ComposerP2IsUTF8(t *testing.T) {
	php := requireClient(t, "php")
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	for _, c := range []struct{ name, desc string }{
		{"acme/latin1", "caf\xe9"},   // Latin-1, as an old editor saves it
		{"acme/surrogate", `\ud800`}, // valid JSON grammar, no code point
	} {
		cj := `{"name":"` + c.name + `","description":"` + c.desc + `"}`
		zip := composerZip("", map[string]string{"composer.json": cj})
		status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version=1.0.0", string(zip), h)
		if status != http.StatusBadRequest {
			t.Errorf("%s upload: %d %s, want 400", c.name, status, body)
		}
		if status != 201 && !utf8.ValidString(cj) && s.App.DB.Type() == "postgres" {
			// PostgreSQL never stored such bytes (text columns refuse
			// them), so there is no old data of this kind to serve there.
			continue
		}
		if status != 201 {
			// Stored as the upload stored it before it refused it.
			plain := composerZip("", map[string]string{"composer.json": `{"name":"` + c.name + `"}`})
			if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version=1.0.0", string(plain), h); status != 201 {
				t.Fatalf("%s upload: %d %s", c.name, status, body)
			}
			meta := `{"composer_json":` + cj + `,"version_normalized":"1.0.0.0","dist_type":"zip"}`
			if _, err := s.App.DB.Xorm().Exec("UPDATE package_version SET metadata_json = ? WHERE package_id = (SELECT id FROM package WHERE lower_name = ?)", meta, c.name); err != nil {
				t.Fatal(err)
			}
		}
		status, _, body = s.do(t, "GET", "/api/packages/acme/composer/p2/"+c.name+".json", "", h)
		if status != 200 {
			t.Fatalf("%s p2: %d %s", c.name, status, body)
		}
		if !utf8.ValidString(body) {
			t.Errorf("%s: p2 is not UTF-8: %q", c.name, body)
		}
		if strings.Contains(strings.ToLower(body), `\ud800"`) {
			t.Errorf("%s: p2 carries a lone surrogate: %s", c.name, body)
		}
		if !strings.Contains(body, `\ufffd"`) {
			t.Errorf("%s: p2 does not say U+FFFD where the bad bytes were: %s", c.name, body)
		}
		cmd := exec.Command(php, "-r", `json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);`)
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: PHP's json_decode refuses p2: %v %s", c.name, err, out)
		}
	}
}

// TestReview10ComposerDeepUploadNo500: a composer.json nested as deep as
// Go's decoder allows is accepted by the upload (201), and then the
// stored metadata (composer.json wrapped one level deeper) cannot be read
// back: the package's p2 answers 500 for every version. Bad input must be
// a 4xx at upload, never a document that fails afterwards.
func TestReview10ComposerDeepUploadNo500(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	good := composerZip("", map[string]string{"composer.json": `{"name":"acme/deep2"}`})
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version=1.0.0", string(good), h); status != 201 {
		t.Fatalf("upload 1.0.0: %d %s", status, body)
	}
	// 10,000 levels with the top object: what encoding/json accepts.
	deep := `{"name":"acme/deep2","extra":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`
	zip := composerZip("", map[string]string{"composer.json": deep})
	status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version=1.1.0", string(zip), h)
	if status >= 400 && status < 500 {
		return // refused with a reason
	}
	if status != 201 {
		t.Fatalf("deep upload: %d %.300s", status, body)
	}
	status, _, body = s.do(t, "GET", "/api/packages/acme/composer/p2/acme/deep2.json", "", h)
	if status != http.StatusOK {
		t.Errorf("p2 after an accepted upload: %d %.300s (1.0.0 is unreachable too)", status, body)
	}
}

// TestReview10ComposerDeepUploadRefused: the upload refuses a composer.json
// nested deeper than composer_module.MaxDepth, and one that is not UTF-8
// or escapes a lone surrogate, with a 400 that says where and why; one at
// the bound is accepted.
func TestReview10ComposerDeepUploadRefused(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	nested := func(levels int) string { // the top object is one level
		return `{"name":"acme/deep","extra":` + strings.Repeat("[", levels-1) + strings.Repeat("]", levels-1) + `}`
	}
	for i, c := range []struct{ json, msg string }{
		{nested(composer_module.MaxDepth + 1), "nested more than 64 deep"},
		{nested(10000), "nested more than 64 deep"},
		{`{"name":"acme/deep","description":"caf` + "\xe9" + `"}`, "a string is not UTF-8"},
		{`{"name":"acme/deep","description":"\ud800"}`, "half of a UTF-16 surrogate pair"},
	} {
		zip := composerZip("", map[string]string{"composer.json": c.json})
		status, _, body := s.do(t, "PUT", fmt.Sprintf("/api/packages/acme/composer?version=1.0.%d", i), string(zip), h)
		if status != http.StatusBadRequest || !strings.Contains(body, c.msg) {
			t.Errorf("%.50q: %d %.300s, want 400 saying %q", c.json, status, body, c.msg)
		}
	}
	zip := composerZip("", map[string]string{"composer.json": nested(composer_module.MaxDepth)})
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version=2.0.0", string(zip), h); status != 201 {
		t.Fatalf("upload at the bound: %d %s", status, body)
	}
	if status, _, body := s.do(t, "GET", "/api/packages/acme/composer/p2/acme/deep.json", "", h); status != 200 || !strings.Contains(body, `"2.0.0"`) {
		t.Fatalf("p2: %d %.300s", status, body)
	}
}

// TestReview10ComposerUnreadableStoredVersionSkipped: metadata stored
// before the upload was bounded (a composer.json nested as deep as
// encoding/json allowed, one level too deep once wrapped) costs that
// version only: p2 serves the others, not a 500.
func TestReview10ComposerUnreadableStoredVersionSkipped(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		zip := composerZip("", map[string]string{"composer.json": `{"name":"acme/old"}`})
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version="+v, string(zip), h); status != 201 {
			t.Fatalf("upload %s: %d %s", v, status, body)
		}
	}
	// 10,000 levels with composer.json's top object, as the upload took
	// them: 10,001 with the wrapper.
	deep := `{"composer_json":{"name":"acme/old","extra":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `},"version_normalized":"1.1.0.0","dist_type":"zip"}`
	res, err := s.App.DB.Xorm().Exec("UPDATE package_version SET metadata_json = ? WHERE lower_version = ?", deep, "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("store the old metadata: %v, %d rows", err, n)
	}
	status, _, body := s.do(t, "GET", "/api/packages/acme/composer/p2/acme/old.json", "", h)
	if status != 200 || !strings.Contains(body, `"1.0.0"`) || strings.Contains(body, `"1.1.0"`) {
		t.Fatalf("p2: %d %.300s; want 200 with 1.0.0 only", status, body)
	}
}
