package npm_test

import (
	"encoding/json"
	"strings"
	"testing"

	"wharf/modules/packages/jsonobject"
	npm_module "wharf/modules/packages/npm"
)

// The hand-written encoders write what encoding/json writes for the
// types: the structs' tags are the protocol, the encoders only skip
// encoding/json's second pass over the version objects.
func TestDocumentsEncodeAsTheirStructs(t *testing.T) {
	versions := npm_module.Versions{
		{Version: "1.0.0", Object: json.RawMessage(`{"name":"@acme/a","version":"1.0.0"}`)},
		{Version: "1.10.0", Object: json.RawMessage(`{"name":"@acme/a","version":"1.10.0","x":[1,{"y":null}]}`)},
		{Version: "1.9.0", Object: json.RawMessage(`{}`)},
	}
	times := npm_module.Times{Created: "2024-01-01T00:00:00.000Z", Modified: "2024-01-02T00:00:00.000Z",
		Versions: []npm_module.VersionTime{{Version: "1.0.0", Time: "2024-01-01T00:00:00.000Z"}, {Version: "1.10.0", Time: "2024-01-02T00:00:00.000Z"}}}
	type packument npm_module.Packument // the struct without its encoder
	for name, doc := range map[string]npm_module.Packument{
		"full": {ID: "@acme/a", Rev: "3-abc", Name: "@acme/a", Description: json.RawMessage(`"d \"quoted\" é"`),
			Keywords: json.RawMessage(`["a","b"]`), Repository: json.RawMessage(`{"type":"git","url":"u"}`), License: json.RawMessage(`"MIT"`),
			Bugs: json.RawMessage(`{"url":"b"}`), Author: json.RawMessage(`"me"`), Homepage: json.RawMessage(`"h"`),
			DistTags: map[string]string{"latest": "1.10.0", "beta": "1.9.0", "a-tag": "1.0.0"}, Versions: versions, Time: times,
			Maintainers: []npm_module.Person{{Name: "acme", Email: "acme@example.com"}, {Name: "b\u00e9", Email: "b@x"}}, Readme: "# a\n<b>&"},
		"sparse": {ID: "a", Rev: "1-x", Name: "a", Maintainers: []npm_module.Person{}, Versions: npm_module.Versions{}},
		"nils":   {},
	} {
		want, err := json.Marshal(packument(doc))
		if err != nil {
			t.Fatal(err)
		}
		if got := doc.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	type abbreviated npm_module.Abbreviated
	a := npm_module.Abbreviated{Name: "@acme/a", Modified: "2024-01-02T00:00:00.000Z", DistTags: map[string]string{"latest": "1.0.0"}, Versions: versions}
	want, _ := json.Marshal(abbreviated(a))
	if got := a.AppendJSON(nil); string(got) != string(want) {
		t.Errorf("abbreviated:\n got %s\nwant %s", got, want)
	}
	// Versions keep their order (a map would sort 1.10.0 before 1.9.0).
	if b, _ := json.Marshal(versions); !strings.Contains(string(b), `"1.0.0":{`) || strings.Index(string(b), `"1.10.0"`) > strings.Index(string(b), `"1.9.0"`) {
		t.Errorf("versions out of order: %s", b)
	}
}

func TestVersionMerged(t *testing.T) {
	type version npm_module.Version
	for _, v := range []npm_module.Version{
		{Name: "@acme/a", Version: "1.0.0", ID: "@acme/a@1.0.0", NpmUser: &npm_module.Person{Name: "acme", Email: "a@x"},
			Dist: npm_module.VersionDist{Tarball: "http://h/a.tgz", Shasum: "abc", Integrity: "sha512-x=="}},
		{Name: "plain", Version: "2.0.0-rc.1", Dist: npm_module.VersionDist{Tarball: "http://h/p.tgz"}},
	} {
		var m jsonobject.Merger
		// The registry's part alone is what encoding/json writes.
		got, err := v.AppendMerged(&m, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(version(v))
		if string(got) != string(want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
	v := npm_module.Version{Name: "a", Version: "1.0.0", ID: "a@1.0.0", Dist: npm_module.VersionDist{Tarball: "t"}}
	var m jsonobject.Merger
	stored := `{"dependencies":{"b":"1"},"description":"d","dist":{"tarball":"old"},"name":"a","scripts":{"test":"x"},"version":"1.0.0","_id":"old","_npmUser":{"name":"old"}}`
	got, err := v.AppendMerged(&m, nil, []byte(stored), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"a","version":"1.0.0","_id":"a@1.0.0","dist":{"tarball":"t"},"dependencies":{"b":"1"},"description":"d","scripts":{"test":"x"}}`; string(got) != want {
		t.Errorf("full:\n got %s\nwant %s", got, want)
	}
	v.ID = ""
	got, err = v.AppendMerged(&m, nil, []byte(stored), npm_module.AbbreviatedFields)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"a","version":"1.0.0","dist":{"tarball":"t"},"dependencies":{"b":"1"}}`; string(got) != want {
		t.Errorf("abbreviated:\n got %s\nwant %s", got, want)
	}
}
