package npm

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRewriteUpstreamPackument(t *testing.T) {
	const base = "http://here/api/packages/hub/npm/"
	doc := `{"_id":"JSONStream","name":"JSONStream","dist-tags":{"latest":"1.3.5"},"x-extra":{"kept":true},
		"versions":{"1.3.5":{"name":"JSONStream","version":"1.3.5","dependencies":{"through":">=2.2.7 <3"},
		"dist":{"tarball":"https://registry.example/JSONStream/-/JSONStream-1.3.5.tgz","shasum":"abc","integrity":"sha512-xyz","fileCount":5}}}}`
	p, err := RewriteUpstreamPackument("JSONStream", []byte(doc), base)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Name     string          `json:"name"`
		Extra    json.RawMessage `json:"x-extra"`
		Versions map[string]struct {
			Dependencies map[string]string `json:"dependencies"`
			Dist         map[string]any    `json:"dist"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(p.Body, &got); err != nil {
		t.Fatal(err)
	}
	v := got.Versions["1.3.5"]
	if got.Name != "JSONStream" || string(got.Extra) != `{"kept":true}` || v.Dependencies["through"] != ">=2.2.7 <3" ||
		v.Dist["tarball"] != base+"JSONStream/-/JSONStream-1.3.5.tgz" || v.Dist["integrity"] != "sha512-xyz" || v.Dist["fileCount"] != float64(5) {
		t.Fatalf("rewritten: %s", p.Body)
	}
	uv, ok := p.Version("1.3.5")
	if !ok || uv.Tarball != "https://registry.example/JSONStream/-/JSONStream-1.3.5.tgz" || uv.Dist.Shasum != "abc" || uv.Dist.Integrity != "sha512-xyz" {
		t.Fatalf("version: %+v", uv)
	}
	if one, ok := p.RewrittenVersion("1.3.5"); !ok || !strings.Contains(string(one.Body), base) || one.ETag == "" {
		t.Fatalf("one version: %v", one)
	}
	if p.DistTags["latest"] != "1.3.5" || p.ETag == "" {
		t.Fatalf("tags %v etag %q", p.DistTags, p.ETag)
	}

	for name, bad := range map[string]string{
		"not json":       `<html>`,
		"other name":     `{"name":"other","versions":{}}`,
		"no versions":    `{"name":"JSONStream"}`,
		"version null":   `{"name":"JSONStream","versions":{"1.0.0":null}}`,
		"no dist":        `{"name":"JSONStream","versions":{"1.0.0":{"version":"1.0.0"}}}`,
		"no tarball":     `{"name":"JSONStream","versions":{"1.0.0":{"dist":{"shasum":"a"}}}}`,
		"tarball number": `{"name":"JSONStream","versions":{"1.0.0":{"dist":{"tarball":1}}}}`,
		"tags not map":   `{"name":"JSONStream","dist-tags":[],"versions":{}}`,
	} {
		if _, err := RewriteUpstreamPackument("JSONStream", []byte(bad), base); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
