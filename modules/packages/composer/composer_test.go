package composer_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"wharf/modules/apperr"
	"wharf/modules/packages/composer"
	"wharf/modules/packages/jsonobject"
)

func TestNormalize(t *testing.T) {
	// The spec's table, checked against composer/semver.
	for in, want := range map[string]string{
		"1.2": "1.2.0.0", "v1.2.3": "1.2.3.0", "1.0.0-beta2": "1.0.0.0-beta2", "1.0.0-beta.2": "1.0.0.0-beta2",
		"1.0.0-rc.1": "1.0.0.0-RC1", "1.0.0+build": "1.0.0.0", "dev-main": "dev-main", "1.x-dev": "1.9999999.9999999.9999999-dev",
		"2.0.x-dev": "2.0.9999999.9999999-dev", "1.0.0-alpha": "1.0.0.0-alpha", "1.0.0-a1": "1.0.0.0-alpha1", "1.0.0-p1": "1.0.0.0-patch1",
		"1.0.0-stable": "1.0.0.0", "1.2.3.4": "1.2.3.4", "master": "dev-master", "1.0.0-dev": "1.0.0.0-dev", "v2": "2.0.0.0",
		"20240102": "20240102", "1.0.0 as 2.0.0": "1.0.0.0",
	} {
		got, err := composer.Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1.0.0-foo", "not a version", "1..0", "1.0.0-beta-beta"} {
		if _, err := composer.Normalize(bad); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("Normalize(%q) accepted", bad)
		}
	}
	for in, want := range map[string]string{"main": "dev-main", "1.x": "1.9999999.9999999.9999999-dev", "2.0": "2.0.9999999.9999999-dev", "feature/x": "dev-feature/x"} {
		if got, _ := composer.NormalizeBranch(in); got != want {
			t.Errorf("NormalizeBranch(%q) = %q, want %q", in, got, want)
		}
	}
}

func zipOf(files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, _ := zw.Create(name)
		w.Write([]byte(content))
	}
	zw.Close()
	return buf.Bytes()
}

func TestParsePackage(t *testing.T) {
	for _, layout := range []string{"composer.json", "acme-hello-1.0/composer.json"} {
		z := zipOf(map[string]string{layout: `{"name":"acme/hello","type":"library","autoload":{"psr-4":{"Acme\\":"src/"}}}`})
		p, err := composer.ParsePackage(bytes.NewReader(z), int64(len(z)))
		if err != nil || p.Name != "acme/hello" || p.DistType != "zip" || p.Metadata["autoload"] == nil {
			t.Fatalf("%s: %+v, %v", layout, p, err)
		}
	}
	for name, z := range map[string][]byte{
		"not an archive":   []byte("hello world"),
		"no composer.json": zipOf(map[string]string{"a/b/composer.json": "{}", "x.php": ""}),
		"bad json":         zipOf(map[string]string{"composer.json": "{"}),
		"no name":          zipOf(map[string]string{"composer.json": `{"type":"library"}`}),
		"upper-case name":  zipOf(map[string]string{"composer.json": `{"name":"Acme/Hello"}`}),
		"zip-slip":         zipOf(map[string]string{"composer.json": `{"name":"acme/x"}`, "../../etc/cron.d/x": "boom"}),
		"absolute path":    zipOf(map[string]string{"composer.json": `{"name":"acme/x"}`, "/etc/passwd": "boom"}),
	} {
		if _, err := composer.ParsePackage(bytes.NewReader(z), int64(len(z))); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestParseComposerJSON: a composer.json that composer could not read back
// from a p2 document (PHP's json_decode refuses bytes that are not UTF-8
// and escaped lone surrogates), or that nests deeper than any manifest
// needs, is refused at upload with the place and the reason.
func TestParseComposerJSON(t *testing.T) {
	deep := func(n int) string { // n levels with the top object
		return `{"name":"acme/x","extra":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`
	}
	for _, ok := range []string{`{"name":"acme/x","description":"caf\u00e9 ☕ \ud83d\ude00"}`, deep(composer.MaxDepth), `{"a":1,"a":2}`} {
		if _, err := composer.ParseComposerJSON([]byte(ok)); err != nil {
			t.Errorf("%.60s: %v", ok, err)
		}
	}
	for in, msg := range map[string]string{
		"{\"name\":\"acme/x\",\"description\":\"caf\xe9\"}": "composer.json, at byte 35: a string is not UTF-8 (byte 0xe9)",
		`{"name":"acme/x","description":"\ud800"}`:          `composer.json, at byte 32: \ud800 escapes half of a UTF-16 surrogate pair`,
		"{\"\xff\":1}":              "not UTF-8",
		deep(composer.MaxDepth + 1): "nested more than 64 deep",
		deep(10000):                 "nested more than 64 deep",
		`{"name":"acme/x",}`:        "composer.json, at byte 17: a string key expected",
		`["acme/x"]`:                "composer.json is not a JSON object",
	} {
		_, err := composer.ParseComposerJSON([]byte(in))
		if apperr.KindOf(err) != apperr.Invalid || !strings.Contains(apperr.PublicMessage(err), msg) {
			t.Errorf("%.60q: %v (kind %v), want %q", in, err, apperr.KindOf(err), msg)
		}
		z := zipOf(map[string]string{"composer.json": in})
		if _, err := composer.ParsePackage(bytes.NewReader(z), int64(len(z))); apperr.KindOf(err) != apperr.Invalid || !strings.Contains(apperr.PublicMessage(err), msg) {
			t.Errorf("upload of %.60q: %v, want %q", in, err, msg)
		}
	}
}

func FuzzParseComposerJSON(f *testing.F) {
	for _, s := range []string{`{"name":"acme/x"}`, `{"a":"\ud800"}`, "{\"a\":\"\xe9\"}", `{"a":[[[]]]}`, `[]`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		meta, err := composer.ParseComposerJSON(b)
		if err != nil {
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("%q: %v, kind %v", b, err, apperr.KindOf(err))
			}
			return
		}
		if !json.Valid(b) || !utf8.Valid(b) {
			t.Fatalf("%q accepted", b)
		}
		for k, v := range meta {
			// What is stored can be served: every member passes again.
			if err := jsonobject.Check(v, composer.MaxDepth-1); err != nil {
				t.Fatalf("%q: member %q: %v", b, k, err)
			}
		}
	})
}

func FuzzNormalize(f *testing.F) {
	f.Add("1.0.0-beta.2")
	f.Fuzz(func(t *testing.T, v string) {
		if _, err := composer.Normalize(v); err != nil && apperr.KindOf(err) != apperr.Invalid {
			t.Fatal(err)
		}
	})
}
