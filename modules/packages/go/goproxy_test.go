package goproxy_test

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"

	"wharf/modules/apperr"
	goproxy "wharf/modules/packages/go"
)

func TestParseRequest(t *testing.T) {
	ok := []struct {
		path   string
		module string
		kind   goproxy.Kind
		query  string
	}{
		{"example.com/!hello/@v/list", "example.com/Hello", goproxy.KindList, ""},
		{"example.com/m/@latest", "example.com/m", goproxy.KindLatest, ""},
		{"example.com/m/@v/v1.0.0.info", "example.com/m", goproxy.KindInfo, "v1.0.0"},
		{"example.com/m/@v/v1.0.0-!r!c1.mod", "example.com/m", goproxy.KindMod, "v1.0.0-RC1"},
		{"example.com/m/v2/@v/v2.1.0.zip", "example.com/m/v2", goproxy.KindZip, "v2.1.0"},
		{"example.com/m/@v/v3.0.0+incompatible.zip", "example.com/m", goproxy.KindZip, "v3.0.0+incompatible"},
		// A query the go command resolves through the proxy.
		{"example.com/m/@v/main.info", "example.com/m", goproxy.KindInfo, "main"},
		{"example.com/m/@v/0123456789ab.info", "example.com/m", goproxy.KindInfo, "0123456789ab"},
	}
	for _, c := range ok {
		r, err := goproxy.ParseRequest(c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if r.Module != c.module || r.Kind != c.kind || r.Query != c.query {
			t.Errorf("%s: got %+v", c.path, r)
		}
	}
	bad := []string{
		"example.com/Hello/@v/list",       // upper case not escaped
		"example.com/!!x/@v/list",         // a bad escape
		"example.com/m/@v/v1.0.mod",       // not canonical
		"example.com/m/@v/v2.0.0.zip",     // v2 of a path without /v2
		"example.com/m/v2/@v/v1.0.0.info", // v1 of a /v2 path
		"example.com/m/@v/v1.0.0.txt",
		"example.com/m/@v/",
		"example.com/m",
		"nodot/m/@v/list",
		"example.com/m/@v/v1.0.0+meta.zip",
		"example.com/../m/@v/list",
		"sumdb/sum.golang.org/supported",
		"example.com/m/@v/a/b.info",
	}
	for _, p := range bad {
		_, err := goproxy.ParseRequest(p)
		if apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("%s: want NotFound, got %v", p, err)
		}
	}
}

func TestTagVersion(t *testing.T) {
	cases := []struct {
		tag, dir, version string
		ok, err           bool
	}{
		{"v1.2.3", "", "v1.2.3", true, false},
		{"sub/v1.0.0", "sub", "v1.0.0", true, false},
		{"a/b/v2.0.0-rc.1", "a/b", "v2.0.0-rc.1", true, false},
		{"release-1", "", "", false, false},
		{"1.2.3", "", "", false, false},
		{"v1.2", "", "v1.2", false, true},
		{"v1.2.3+build", "", "v1.2.3+build", false, true},
	}
	for _, c := range cases {
		dir, v, ok, err := goproxy.TagVersion(c.tag)
		if ok != c.ok || (err != nil) != c.err || ok && (dir != c.dir || v != c.version) {
			t.Errorf("%s: got %q %q %v %v", c.tag, dir, v, ok, err)
		}
	}
}

func TestIsCanonical(t *testing.T) {
	for v, want := range map[string]bool{
		"v1.0.0": true, "v1.0.0-rc.1": true, "v2.0.0+incompatible": true,
		"v1.0": false, "1.0.0": false, "v1.0.0+meta": false, "v1.0.0-rc.1+incompatible": true,
	} {
		if got := goproxy.IsCanonical(v); got != want {
			t.Errorf("%s: %v", v, got)
		}
	}
}

func file(p, body string) goproxy.ZipFile {
	return goproxy.ZipFile{Path: p, Size: int64(len(body)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(body)), nil
	}}
}

func TestWriteZip(t *testing.T) {
	var buf bytes.Buffer
	files := []goproxy.ZipFile{
		file("go.mod", "module example.com/m\n"),
		file("m.go", "package m\n"),
		file("vendor/x/y.go", "package y\n"),           // a vendored package: left out
		file("inner/go.mod", "module example.com/i\n"), // a nested module: left out
		file("inner/i.go", "package i\n"),
		{Path: "link", Symlink: true, Open: func() (io.ReadCloser, error) { return nil, io.EOF }},
	}
	if err := goproxy.WriteZip(&buf, "example.com/m", "v1.0.0", files); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "example.com/m@v1.0.0/go.mod,example.com/m@v1.0.0/m.go" {
		t.Fatalf("entries: %v", names)
	}

	for name, files := range map[string][]goproxy.ZipFile{
		"case collision": {file("a.go", "package m"), file("A.go", "package m")},
		"invalid path":   {file("a:b.go", "package m")},
		"go.mod spelt":   {file("GO.MOD", "module example.com/m")},
		"too large":      {{Path: "big", Size: 600 << 20, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil }}},
	} {
		err := goproxy.WriteZip(io.Discard, "example.com/m", "v1.0.0", files)
		if apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%s: want Invalid, got %v", name, err)
		}
	}
}
