package rubygems_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/packages/rubygems"
	"wharf/modules/packages/rubygems/gemtest"
)

// checkParsed holds for every spec ParseGem or ParseMetadata accepts:
// the identity passes the format's own rules, the client files can be
// written, an info line is one line with one "|", and the spec survives
// the JSON a service would store it as.
func checkParsed(t *testing.T, s *rubygems.Spec) {
	t.Helper()
	if err := rubygems.ValidateName(s.Name); err != nil {
		t.Fatalf("accepted name %q: %v", s.Name, err)
	}
	if err := rubygems.ValidateVersion(s.Version); err != nil {
		t.Fatalf("accepted version %q: %v", s.Version, err)
	}
	if err := rubygems.ValidatePlatform(s.Platform); err != nil {
		t.Fatalf("accepted platform %q: %v", s.Platform, err)
	}
	if _, err := rubygems.QuickGemspec(s); err != nil {
		t.Fatalf("QuickGemspec: %v", err)
	}
	if _, err := rubygems.SpecsIndex([]rubygems.NameTuple{{Name: s.Name, Version: s.Version, Platform: s.Platform}}); err != nil {
		t.Fatalf("SpecsIndex: %v", err)
	}
	line := rubygems.InfoLine(s.InfoVersion("00"))
	if strings.ContainsAny(line, "\n\r") || strings.Count(line, "|") != 1 || strings.Count(line, " ") < 1 {
		t.Fatalf("info line %q", line)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back rubygems.Spec
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, s) {
		t.Fatalf("JSON round trip: %v\n%+v\n%+v", err, &back, s)
	}
}

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if k := apperr.KindOf(err); k != apperr.Invalid && k != apperr.TooLarge {
		t.Fatalf("unexpected kind %v: %v", k, err)
	}
}

func FuzzParseGem(f *testing.F) {
	for _, name := range fixtures {
		f.Add(readFixture(f, name))
	}
	f.Add(gemtest.Gem(gemtest.Metadata("hola", "1.0.0")))
	f.Add(gemtest.Tar(gemtest.File{Name: "metadata.gz", Body: gemtest.Gzip([]byte("--- !ruby/object:Gem::Specification\nname: a\n"))}))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := rubygems.ParseGem(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		checkParsed(t, s)
	})
}

func FuzzParseMetadata(f *testing.F) {
	for _, name := range fixtures {
		f.Add(fixtureMetadata(f, name))
	}
	f.Add([]byte(gemtest.Metadata("hola", "1.0.0")))
	f.Add([]byte("--- !ruby/object:Gem::Specification\nname: a\nversion: !ruby/object:Gem::Version\n  version: 1\nauthors: [x]\nx: &a [*a]\n"))
	f.Add([]byte("--- !ruby/object:Gem::Specification\nname: a\nversion: !ruby/object:Gem::Version\n  version: '1'\nplatform: !ruby/object:Gem::Platform\n  cpu: x86\n  os: mswin32\n  version:\nauthors: x\nemail: [a, b]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := rubygems.ParseMetadata(b)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		checkParsed(t, s)
	})
}

// fixtureMetadata is the YAML inside a fixture's metadata.gz.
func fixtureMetadata(t testing.TB, name string) []byte {
	t.Helper()
	b := readFixture(t, name)
	tr := tarReader(t, b)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != "metadata.gz" {
			continue
		}
		zr, err := gzip.NewReader(tr)
		if err != nil {
			t.Fatal(err)
		}
		y, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return y
	}
}

func tarReader(t testing.TB, b []byte) *tar.Reader {
	t.Helper()
	return tar.NewReader(bytes.NewReader(b))
}
