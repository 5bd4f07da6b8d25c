package cargo_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"wharf/modules/packages/cargo"
)

const cratesIOIndex = "https://github.com/rust-lang/crates.io-index"

var pubtime = time.Date(2025, 11, 12, 20, 30, 12, 999_000_000, time.FixedZone("CET", 3600))

func ptr[T any](v T) *T { return &v }

// specMetadata is the publish metadata behind the example line of the
// protocol notes (specs/cargo.md §4).
func specMetadata() *cargo.PublishMetadata {
	return &cargo.PublishMetadata{
		Name: "hello_world", Vers: "0.1.0",
		Deps: []cargo.PublishDependency{
			{Name: "rand", VersionReq: "^0.8", Features: []string{"std"}, DefaultFeatures: true, Kind: "normal", Registry: ptr(cratesIOIndex)},
			{Name: "log", ExplicitNameInToml: ptr("log02"), VersionReq: "^0.2", Optional: true, DefaultFeatures: true, Target: ptr("cfg(windows)"), Kind: "normal"},
		},
		Features:    map[string][]string{"default": {}, "extra": {"log02"}, "serde": {"dep:serde"}},
		RustVersion: ptr("1.70"),
	}
}

// specLine is the example line of specs/cargo.md §4 as printed there, with
// every optional key written, null or not.
const specLine = `{"name":"hello_world","vers":"0.1.0",
 "deps":[{"name":"rand","req":"^0.8","features":["std"],"optional":false,"default_features":true,
          "target":null,"kind":"normal","registry":"https://github.com/rust-lang/crates.io-index","package":null},
         {"name":"log02","req":"^0.2","features":[],"optional":true,"default_features":true,
          "target":"cfg(windows)","kind":"normal","registry":null,"package":"log"}],
 "cksum":"85cc22298f1a145de6ffcd723bf41bff191b684d89515c94271220597f035d93",
 "features":{"default":[],"extra":["log02"]},"yanked":false,"links":null,"v":2,
 "features2":{"serde":["dep:serde"]},"rust_version":"1.70","pubtime":"2025-11-12T19:30:12Z"}`

const specCksum = "85cc22298f1a145de6ffcd723bf41bff191b684d89515c94271220597f035d93"

// TestIndexLineGolden: the spec's example, written as crates.io writes it
// (crates_io_index::Crate): keys in its order, deps sorted, package and
// registry only when they say something, null links omitted, v last.
func TestIndexLineGolden(t *testing.T) {
	line, err := cargo.NewIndexLine(specMetadata(), specCksum, pubtime).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"hello_world","vers":"0.1.0","deps":[` +
		`{"name":"log02","req":"^0.2","features":[],"optional":true,"default_features":true,"target":"cfg(windows)","kind":"normal","package":"log"},` +
		`{"name":"rand","req":"^0.8","features":["std"],"optional":false,"default_features":true,"target":null,"kind":"normal","registry":"https://github.com/rust-lang/crates.io-index"}],` +
		`"cksum":"85cc22298f1a145de6ffcd723bf41bff191b684d89515c94271220597f035d93",` +
		`"features":{"default":[],"extra":["log02"]},"features2":{"serde":["dep:serde"]},` +
		`"yanked":false,"rust_version":"1.70","pubtime":"2025-11-12T19:30:12Z","v":2}`
	if string(line) != want {
		t.Fatalf("line\n%s\nwant\n%s", line, want)
	}
	checkNoDuplicateKeys(t, line)

	// What cargo reads from it is what it reads from the spec's line.
	if got, want := cargoView(t, line), cargoView(t, []byte(specLine)); !reflect.DeepEqual(got, want) {
		t.Errorf("cargo reads\n%+v\nfrom our line, but\n%+v\nfrom the spec's", got, want)
	}
}

// cargoLine is an index line as cargo's RegistryPackage reads it: an
// absent key and null are the same, an absent kind is normal, and the
// order of deps does not matter.
type cargoLine struct {
	Name      string              `json:"name"`
	Vers      string              `json:"vers"`
	Deps      []cargoDep          `json:"deps"`
	Cksum     string              `json:"cksum"`
	Features  map[string][]string `json:"features"`
	Features2 map[string][]string `json:"features2"`
	Yanked    *bool               `json:"yanked"`
	Links     *string             `json:"links"`
	V         *int                `json:"v"`
	RustVer   *string             `json:"rust_version"`
	Pubtime   *string             `json:"pubtime"`
}

type cargoDep struct {
	Name            string   `json:"name"`
	Req             string   `json:"req"`
	Features        []string `json:"features"`
	Optional        bool     `json:"optional"`
	DefaultFeatures bool     `json:"default_features"`
	Target          *string  `json:"target"`
	Kind            *string  `json:"kind"`
	Registry        *string  `json:"registry"`
	Package         *string  `json:"package"`
}

func cargoView(t *testing.T, b []byte) cargoLine {
	t.Helper()
	var l cargoLine
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	for i := range l.Deps {
		if l.Deps[i].Kind == nil {
			l.Deps[i].Kind = ptr("normal")
		}
	}
	slices.SortFunc(l.Deps, func(a, b cargoDep) int { return strings.Compare(a.Name, b.Name) })
	return l
}

// TestParseIndexLine: cargo's own field names, nulls included, read back;
// what Marshal writes reads back to the same line.
func TestParseIndexLine(t *testing.T) {
	l, err := cargo.ParseIndexLine([]byte(specLine))
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "hello_world" || l.Vers != "0.1.0" || l.Cksum != specCksum || l.V != 2 || l.RustVersion != "1.70" ||
		l.Pubtime != "2025-11-12T19:30:12Z" || l.Links != "" || l.Yanked || len(l.Deps) != 2 {
		t.Fatalf("parsed %+v", l)
	}
	rand, log := l.Deps[0], l.Deps[1]
	if rand.Registry != cratesIOIndex || rand.Package != "" || rand.Target != nil || log.Package != "log" || log.Registry != "" || *log.Target != "cfg(windows)" {
		t.Fatalf("deps %+v", l.Deps)
	}
	line, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := cargo.ParseIndexLine(line)
	if err != nil || !reflect.DeepEqual(back, l) {
		t.Fatalf("round trip:\n%+v\n%+v (%v)", back, l, err)
	}
	if !reflect.DeepEqual(cargoView(t, line), cargoView(t, []byte(specLine))) {
		t.Fatal("the re-encoded spec line means something else to cargo")
	}
	if _, err := cargo.ParseIndexLine([]byte(`{"name":1}`)); err == nil {
		t.Fatal("a line with a numeric name parsed")
	}
}

func TestNewIndexLineMapping(t *testing.T) {
	meta := &cargo.PublishMetadata{
		Name: "Mixed_Case", Vers: "1.0.0-beta.1+build",
		Deps: []cargo.PublishDependency{
			// kind missing: normal. features null: [].
			{Name: "zeta", VersionReq: ">=1.0, <2.0", DefaultFeatures: true},
			{Name: "tool", VersionReq: "^1", Kind: "build", Target: ptr(`cfg(target_os = "linux")`)},
			{Name: "alpha", VersionReq: "^1", Kind: "dev"},
			{Name: "alpha", VersionReq: "^1", Kind: "normal"},
			{Name: "other", VersionReq: "=0.3.1", Kind: "normal", Registry: ptr("sparse+https://other.example/index/")},
			{Name: "bin", VersionReq: "^1", Kind: "build", Artifact: []string{"bin"}, BindepTarget: ptr("x86_64-unknown-linux-gnu"), Lib: true},
		},
		Features: map[string][]string{"default": nil, "b": {"a"}, "a": {"zeta?/x"}, "c": {"b"}, "plain": {"zeta/x"}},
		Links:    ptr("z"),
	}
	l := cargo.NewIndexLine(meta, "00", time.Unix(0, 0))
	if l.Name != "Mixed_Case" || l.Vers != "1.0.0-beta.1+build" || l.Links != "z" || l.RustVersion != "" || l.Pubtime != "1970-01-01T00:00:00Z" || l.Yanked {
		t.Fatalf("line %+v", l)
	}
	var order []string
	for _, d := range l.Deps {
		order = append(order, d.Name+":"+d.Kind)
		if d.Features == nil {
			t.Errorf("dep %s: features nil", d.Name)
		}
	}
	if want := []string{"alpha:normal", "alpha:dev", "bin:build", "other:normal", "tool:build", "zeta:normal"}; !slices.Equal(order, want) {
		t.Errorf("deps in order %v, want %v", order, want)
	}
	if l.Deps[3].Registry != "sparse+https://other.example/index/" || l.Deps[2].BindepTarget != "x86_64-unknown-linux-gnu" || !l.Deps[2].Lib {
		t.Errorf("deps %+v", l.Deps)
	}
	// a uses ?/, b enables a, c enables b: all three move, as crates.io's
	// split does; plain and default stay.
	if !reflect.DeepEqual(l.Features, map[string][]string{"default": {}, "plain": {"zeta/x"}}) ||
		!reflect.DeepEqual(l.Features2, map[string][]string{"a": {"zeta?/x"}, "b": {"a"}, "c": {"b"}}) || l.V != 2 {
		t.Errorf("features %v, features2 %v, v %d", l.Features, l.Features2, l.V)
	}
	line, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Like serde_json, no HTML escaping; quotes escaped.
	for _, want := range []string{`"req":">=1.0, <2.0"`, `"target":"cfg(target_os = \"linux\")"`, `"links":"z"`, `"artifact":["bin"]`, `"lib":true`} {
		if !bytes.Contains(line, []byte(want)) {
			t.Errorf("line lacks %s:\n%s", want, line)
		}
	}
	checkNoDuplicateKeys(t, line)
}

func TestNewIndexLineEmpty(t *testing.T) {
	line, err := cargo.NewIndexLine(&cargo.PublishMetadata{Name: "a", Vers: "1.0.0"}, "ff", pubtime).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"a","vers":"1.0.0","deps":[],"cksum":"ff","features":{},"yanked":false,"pubtime":"2025-11-12T19:30:12Z"}`
	if string(line) != want {
		t.Fatalf("line\n%s\nwant\n%s", line, want)
	}
	// A zero line still writes lists and maps, never null.
	line, err = cargo.IndexLine{Deps: []cargo.IndexDependency{{Name: "x"}}, Features: map[string][]string{"f": nil}}.Marshal()
	if err != nil || !bytes.Contains(line, []byte(`"features":[],"optional"`)) || !bytes.Contains(line, []byte(`"features":{"f":[]}`)) || !bytes.Contains(line, []byte(`"kind":"normal"`)) {
		t.Fatalf("line %s, %v", line, err)
	}
}

func TestSplitFeatures(t *testing.T) {
	for _, c := range []struct {
		in, features, features2 map[string][]string
	}{
		{nil, map[string][]string{}, map[string][]string{}},
		{map[string][]string{"a": {"b"}, "b": nil}, map[string][]string{"a": {"b"}, "b": {}}, map[string][]string{}},
		{map[string][]string{"a": {"dep:x", "y"}}, map[string][]string{}, map[string][]string{"a": {"dep:x", "y"}}},
		// "xdep:" is no dep: prefix; "x/?y" is no weak feature.
		{map[string][]string{"a": {"xdep:y"}, "b": {"x/?y"}}, map[string][]string{"a": {"xdep:y"}, "b": {"x/?y"}}, map[string][]string{}},
		// A chain moves whole, whatever the map's iteration order.
		{map[string][]string{"f1": {"f2"}, "f2": {"f3"}, "f3": {"dep:foo"}, "f4": {"f5"}, "f5": {}},
			map[string][]string{"f4": {"f5"}, "f5": {}}, map[string][]string{"f1": {"f2"}, "f2": {"f3"}, "f3": {"dep:foo"}}},
	} {
		f, f2 := cargo.SplitFeatures(c.in)
		if !reflect.DeepEqual(f, c.features) || !reflect.DeepEqual(f2, c.features2) {
			t.Errorf("SplitFeatures(%v) = %v, %v; want %v, %v", c.in, f, f2, c.features, c.features2)
		}
	}
}

// checkNoDuplicateKeys fails when an object in b has a key twice, at any
// depth.
func checkNoDuplicateKeys(t testing.TB, b []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := walkJSON(dec); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

func walkJSON(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			key := k.(string)
			if seen[key] {
				return fmt.Errorf("key %q twice", key)
			}
			seen[key] = true
			if err := walkJSON(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	case json.Delim('['):
		for dec.More() {
			if err := walkJSON(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	}
	return err
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
