package composer_test

import (
	"encoding/json"
	"testing"

	composer_module "wharf/modules/packages/composer"
	"wharf/modules/packages/jsonobject"
)

// The hand-written encoders write what encoding/json writes for the
// types: the structs' tags are the protocol.
func TestDocumentsEncodeAsTheirStructs(t *testing.T) {
	for _, v := range []composer_module.Version{
		{Name: "acme/lib", Version: "1.0.0", VersionNormalized: "1.0.0.0", Time: "2024-01-01T00:00:00Z",
			Dist: composer_module.Dist{Type: "zip", URL: "http://h/f.zip", Reference: "abc", Shasum: "abc"}},
		{Name: "acme/lib", Version: "dev-main", VersionNormalized: "dev-main", Time: "2024-01-01T00:00:00Z",
			Dist:   composer_module.Dist{Type: "zip", URL: "http://h/g.zip", Reference: "c0ffee"},
			Source: &composer_module.Source{Type: "git", URL: "http://h/acme/lib.git", Reference: "c0ffee"}},
	} {
		type version composer_module.Version
		want, _ := json.Marshal(version(v))
		var m jsonobject.Merger
		got, err := v.AppendMerged(&m, nil, nil)
		if err != nil || string(got) != string(want) {
			t.Errorf("%v\n got %s\nwant %s", err, got, want)
		}
	}
	doc := composer_module.Metadata{Packages: composer_module.PackageVersions{Name: "acme/lib",
		Versions: []json.RawMessage{json.RawMessage(`{"version":"2.0.0"}`), json.RawMessage(`{"version":"1.0.0"}`)}}}
	want, _ := json.Marshal(doc)
	if got := doc.AppendJSON(nil); string(got) != string(want) || string(got) != `{"packages":{"acme/lib":[{"version":"2.0.0"},{"version":"1.0.0"}]}}` {
		t.Errorf("p2:\n got %s\nwant %s", got, want)
	}
}

// The registry's fields come first and win; composer.json's others follow
// in their order, each key once at every depth.
func TestVersionMerged(t *testing.T) {
	v := composer_module.Version{Name: "acme/lib", Version: "1.0.0", VersionNormalized: "1.0.0.0", Time: "T",
		Dist: composer_module.Dist{Type: "zip", URL: "u", Reference: "r", Shasum: "s"}}
	stored := `{"name":"acme/lib","version":"9.9.9","time":"old","type":"library","require":{"php":">=7","php":">=8.1"},"autoload":{"psr-4":{"Acme\\":"src/"}},"dist":{"url":"evil"},"source":{"type":"git","url":"evil"}}`
	var m jsonobject.Merger
	got, err := v.AppendMerged(&m, nil, []byte(stored))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"acme/lib","version":"1.0.0","version_normalized":"1.0.0.0","time":"T","dist":{"type":"zip","url":"u","reference":"r","shasum":"s"},` +
		`"type":"library","require":{"php":">=8.1"},"autoload":{"psr-4":{"Acme\\":"src/"}}}`
	if string(got) != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}
