package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	packages_model "wharf/models/packages"
)

// orderedKeys lists an object's keys in document order.
func orderedKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestNpmDocuments: a stored manifest that holds the fields the registry
// sets (as manifests stored before publish stripped them do) gives each
// key once, the registry's value winning, the manifest's other fields
// after in their stored order; versions in semver order; the install
// document keeps only what installers read; the version document serves
// a version or a dist-tag.
func TestNpmDocuments(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	seedVersions(t, s, "acme", packages_model.TypeNpm, "doc", 12,
		func(v string) string {
			return fmt.Sprintf(`{"zeta":1,"name":"evil","version":"0.0.0","_id":"evil@0","dist":{"tarball":"http://evil/x.tgz"},`+
				`"dependencies":{"left-pad":"^1.0.0","left-pad":"^1.3.0"},"description":"v%s","scripts":{"test":"t"},"_npmUser":{"name":"evil"}}`, v)
		},
		func(v string) string { return "doc-" + v + ".tgz" })
	base := "/api/packages/acme/npm/"

	status, h, body := s.do(t, "GET", base+"doc", "", nil)
	if status != 200 || h.Get("ETag") == "" {
		t.Fatalf("%d %s", status, body)
	}
	if err := checkStrictJSON([]byte(body)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Versions map[string]json.RawMessage `json:"versions"`
		DistTags map[string]string          `json:"dist-tags"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if keys := orderedKeys(t, []byte(body)); strings.Join(keys, ",") != "_id,_rev,name,description,dist-tags,versions,time,maintainers" {
		t.Errorf("packument keys: %v", keys)
	}
	var all struct {
		Versions json.RawMessage `json:"versions"`
		Time     json.RawMessage `json:"time"`
	}
	json.Unmarshal([]byte(body), &all)
	if got := strings.Join(orderedKeys(t, all.Versions), " "); !strings.HasPrefix(got, "1.0.0 1.0.1 1.0.2 1.0.3 1.0.4 1.0.5 1.0.6 1.0.7 1.0.8 1.0.9 1.0.10 1.0.11") {
		t.Errorf("versions out of semver order: %s", got)
	}
	if got := strings.Join(orderedKeys(t, all.Time), " "); !strings.HasPrefix(got, "created modified 1.0.0 1.0.1") || !strings.HasSuffix(got, "1.0.9 1.0.10 1.0.11") {
		t.Errorf("time out of order: %s", got)
	}
	v := doc.Versions["1.0.10"]
	if keys := strings.Join(orderedKeys(t, v), ","); keys != "name,version,_id,_npmUser,dist,zeta,dependencies,description,scripts" {
		t.Errorf("version keys: %s\n%s", keys, v)
	}
	var ver struct {
		Name, Version, ID string
		Dist              struct{ Tarball string }
		NpmUser           struct{ Name string } `json:"_npmUser"`
		Dependencies      map[string]string
	}
	json.Unmarshal(v, &ver)
	if ver.Name != "doc" || ver.Version != "1.0.10" || !strings.HasSuffix(ver.Dist.Tarball, "/api/packages/acme/npm/doc/-/doc-1.0.10.tgz") ||
		ver.NpmUser.Name != "acme" || ver.Dependencies["left-pad"] != "^1.3.0" {
		t.Errorf("the registry's values must win, a repeated key keep its last value: %s", v)
	}

	// The install document.
	status, h, body = s.do(t, "GET", base+"doc", "", map[string]string{"Accept": "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"})
	if status != 200 || h.Get("Content-Type") != "application/vnd.npm.install-v1+json" {
		t.Fatalf("%d %v %s", status, h, body)
	}
	if keys := orderedKeys(t, []byte(body)); strings.Join(keys, ",") != "name,modified,dist-tags,versions" {
		t.Errorf("install document keys: %v", keys)
	}
	json.Unmarshal([]byte(body), &doc)
	if keys := strings.Join(orderedKeys(t, doc.Versions["1.0.0"]), ","); keys != "name,version,dist,dependencies" {
		t.Errorf("install document version keys: %s", keys)
	}

	// The version document, by version and by dist-tag; 304 on its ETag.
	for ref, want := range map[string]string{"1.0.3": "1.0.3", "latest": "1.0.11"} {
		status, h, body := s.do(t, "GET", base+"doc/"+ref, "", nil)
		if status != 200 || h.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", ref, status, body)
		}
		json.Unmarshal([]byte(body), &ver)
		if ver.Version != want || ver.Name != "doc" {
			t.Errorf("%s: %s", ref, body)
		}
		if keys := strings.Join(orderedKeys(t, []byte(body)), ","); keys != "name,version,_id,_npmUser,dist,zeta,dependencies,description,scripts" {
			t.Errorf("%s: version document keys %s", ref, keys)
		}
		if status, _, _ := s.do(t, "GET", base+"doc/"+ref, "", map[string]string{"If-None-Match": h.Get("ETag")}); status != http.StatusNotModified {
			t.Errorf("%s: If-None-Match: %d", ref, status)
		}
	}
	if status, _, body := s.do(t, "GET", base+"doc/9.9.9", "", nil); status != 404 || !strings.Contains(body, "not_found") {
		t.Errorf("an unknown version: %d %s", status, body)
	}
	if status, _, body := s.do(t, "HEAD", base+"doc/1.0.0", "", nil); status != 200 || body != "" {
		t.Errorf("HEAD: %d %q", status, body)
	}
}

// TestComposerDocuments: a stored composer.json holding the fields the
// registry sets gives each key once, the registry's value winning;
// composer.json's other fields follow in their stored order, a key
// repeated inside it once (its last value); versions highest first.
func TestComposerDocuments(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	seedVersions(t, s, "acme", packages_model.TypeComposer, "acme/doc", 3,
		func(v string) string {
			// composer_json as a raw object, as the upload stores each
			// value of composer.json as it was sent.
			return fmt.Sprintf(`{"composer_json":{"name":"evil/x","version":"0.0.0","time":"old","dist":{"url":"http://evil"},"source":{"url":"http://evil"},`+
				`"type":"library","require":{"php":">=7","php":">=8.1"}},"version_normalized":"%s.0","dist_type":"zip"}`, v)
		},
		func(v string) string { return "acme-doc." + v + ".zip" })
	status, _, body := s.do(t, "GET", "/api/packages/acme/composer/p2/acme/doc.json", "", nil)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if err := checkStrictJSON([]byte(body)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Packages map[string][]json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	vs := doc.Packages["acme/doc"]
	if len(vs) != 3 {
		t.Fatalf("%s", body)
	}
	for i, want := range []string{"1.0.2", "1.0.1", "1.0.0"} {
		var v struct {
			Name, Version, Time string
			Dist                struct{ URL, Shasum string }
			Source              *struct{ URL string }
			Require             map[string]string
		}
		json.Unmarshal(vs[i], &v)
		if v.Name != "acme/doc" || v.Version != want || v.Time == "old" || !strings.HasSuffix(v.Dist.URL, "/acme/doc/"+want+"/acme-doc."+want+".zip") ||
			v.Source != nil || v.Require["php"] != ">=8.1" {
			t.Errorf("version %d: %s", i, vs[i])
		}
		if keys := strings.Join(orderedKeys(t, vs[i]), ","); keys != "name,version,version_normalized,time,dist,type,require" {
			t.Errorf("version %d keys: %s", i, keys)
		}
	}
	// packages.json, list.json, search.json: typed and strict (the
	// server's wrapper checks them too).
	for _, path := range []string{"packages.json", "list.json", "search.json?q=doc"} {
		if status, _, body := s.do(t, "GET", "/api/packages/acme/composer/"+path, "", nil); status != 200 || !strings.Contains(body, "acme/doc") {
			t.Errorf("%s: %d %s", path, status, body)
		}
	}
}
