package cargo_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"wharf/modules/apperr"
	"wharf/modules/packages/cargo"
	"wharf/modules/packages/cargo/cargotest"
)

// realCrate is the .crate of a publish body.
func realCrate(t testing.TB, name string) []byte {
	t.Helper()
	body := bytes.NewReader(readFixture(t, name))
	_, n, err := cargo.ReadPublishMetadata(body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(cargo.CrateReader(body, n))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCrateAccepts(t *testing.T) {
	const name, version = "wharf-ok", "1.0.0"
	root := name + "-" + version + "/"
	manifest := cargotest.File{Name: root + "Cargo.toml", Body: cargotest.Manifest(name, version)}
	for _, c := range []struct {
		name  string
		crate []byte
	}{
		{"as cargo packs it", cargotest.GoodCrate(name, version)},
		{"with directory entries", cargotest.Crate(
			cargotest.File{Name: root, Type: tar.TypeDir},
			cargotest.File{Name: root + "src/", Type: tar.TypeDir},
			manifest,
			cargotest.File{Name: root + "src/lib.rs", Body: "\n"})},
		{"legacy cargo.toml", cargotest.Crate(cargotest.File{Name: root + "cargo.toml", Body: cargotest.Manifest(name, version)})},
		{"legacy [project]", cargotest.Crate(cargotest.File{Name: root + "Cargo.toml", Body: "[project]\nname = \"" + name + "\"\nversion = \"" + version + "\"\n"})},
		{"Cargo.toml inside src is just a file", cargotest.Crate(manifest, cargotest.File{Name: root + "src/Cargo.toml", Body: "not toml ["})},
		{"names that only look odd", cargotest.Crate(manifest,
			cargotest.File{Name: root + "..rs", Body: "x"}, cargotest.File{Name: root + "a..b/c", Body: "x"}, cargotest.File{Name: root + ".cargo_vcs_info.json", Body: "{}"})},
		{"two gzip members", append(cargotest.Gzip(cargotest.Tar(manifest)[:1024]), cargotest.Gzip(make([]byte, 1024))...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := cargo.ParseCrate(bytes.NewReader(c.crate), name, version, 1<<20)
			if err != nil || m.Name != name || m.Version != version {
				t.Fatalf("ParseCrate = %+v, %v", m, err)
			}
		})
	}
}

func TestParseCrateManifestFields(t *testing.T) {
	const toml = `[package]
name = "wharf-ok"
version = "1.0.0"
rust-version = "1.74"
description = """multi
line"""
documentation = "https://docs.example/wharf-ok"
homepage = "https://example.com"
repository = "https://example.com/git"
license = "MIT OR Apache-2.0"
keywords = ["a", "b"]
categories = ["development-tools"]
readme = "docs/README.md"

[dependencies.serde]
version = "1"
`
	m, err := cargo.ParseCrate(bytes.NewReader(cargotest.Crate(cargotest.File{Name: "wharf-ok-1.0.0/Cargo.toml", Body: toml})), "wharf-ok", "1.0.0", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := cargo.Manifest{
		Name: "wharf-ok", Version: "1.0.0", RustVersion: "1.74", Description: "multi\nline",
		Documentation: "https://docs.example/wharf-ok", Homepage: "https://example.com", Repository: "https://example.com/git",
		License: "MIT OR Apache-2.0", Keywords: []string{"a", "b"}, Categories: []string{"development-tools"}, Readme: "docs/README.md",
		Deps: []cargo.ManifestDep{{Name: "serde", Kind: "normal", Req: "1"}},
	}
	if !equalJSON(t, *m, want) {
		t.Fatalf("manifest\n%+v\nwant\n%+v", *m, want)
	}
	// Fields set to something other than a plain value are left out, not
	// refused: they are only shown.
	odd := "[package]\nname = \"wharf-ok\"\nversion = \"1.0.0\"\ndescription.workspace = true\nreadme = false\nkeywords = [1]\n"
	m, err = cargo.ParseCrate(bytes.NewReader(cargotest.Crate(cargotest.File{Name: "wharf-ok-1.0.0/Cargo.toml", Body: odd})), "wharf-ok", "1.0.0", 1<<20)
	if err != nil || m.Description != "" || m.Readme != "" || m.Keywords != nil {
		t.Fatalf("manifest %+v, %v", m, err)
	}
}

// TestParseCrateRealCargo: the .crate files cargo 1.95 packed. beta's
// Cargo.toml.orig inherits its version from the workspace; the
// Cargo.toml cargo wrote has it literally.
func TestParseCrateRealCargo(t *testing.T) {
	crate := realCrate(t, "beta-0.2.0.body")
	if _, err := cargo.ParseCrate(bytes.NewReader(crate), "beta", "0.2.0", cargo.DefaultMaxUnpacked); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, version, msg string }{
		{"Beta", "0.2.0", "every path must be under Beta-0.2.0/"},
		{"beta", "0.2.1", "every path must be under beta-0.2.1/"},
		{"alpha", "0.1.0", "every path must be under alpha-0.1.0/"},
	} {
		_, err := cargo.ParseCrate(bytes.NewReader(crate), c.name, c.version, cargo.DefaultMaxUnpacked)
		if apperr.KindOf(err) != apperr.Invalid || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ParseCrate as %s %s: %v", c.name, c.version, err)
		}
	}
}

// TestParseCrateUnpackLimit: the bound counts decompressed bytes, tar
// headers included, and stops a gzip bomb early.
func TestParseCrateUnpackLimit(t *testing.T) {
	crate := realCrate(t, "beta-0.2.0.body")
	// The tar is 6 entries of one 512-byte block (each file fits in one
	// more) plus 1024 bytes of end-of-archive, padded by cargo's writer.
	var unpacked int64
	for limit := int64(512); limit < 1<<20; limit += 512 {
		if _, err := cargo.ParseCrate(bytes.NewReader(crate), "beta", "0.2.0", limit); err == nil {
			unpacked = limit
			break
		} else if !strings.Contains(err.Error(), "unpacks to more than") {
			t.Fatalf("limit %d: %v", limit, err)
		}
	}
	if unpacked < 12*512 {
		t.Fatalf("beta unpacked within %d bytes, less than its entries take", unpacked)
	}

	const limit = 8 << 20
	bomb := cargotest.GzipBomb("wharf-bomb", "1.0.0", limit)
	if len(bomb) > 64<<10 {
		t.Fatalf("the bomb is %d bytes; it should be about a thousandth of %d", len(bomb), limit)
	}
	counted := &countingReader{r: bytes.NewReader(bomb)}
	_, err := cargo.ParseCrate(counted, "wharf-bomb", "1.0.0", limit)
	if apperr.KindOf(err) != apperr.Invalid || !strings.Contains(err.Error(), "unpacks to more than 8388608 bytes") {
		t.Fatalf("bomb: %v", err)
	}
	// The bomb is a well-formed crate: with room enough it parses, so the
	// refusal above is the limit's doing.
	if _, err := cargo.ParseCrate(bytes.NewReader(bomb), "wharf-bomb", "1.0.0", 2*limit); err != nil {
		t.Fatalf("bomb with room: %v", err)
	}
}

func TestParseCrateReadFailure(t *testing.T) {
	boom := errors.New("disk gone")
	crate := cargotest.GoodCrate("wharf-ok", "1.0.0")
	for _, cut := range []int{0, 5, 30, len(crate) - 1} {
		_, err := cargo.ParseCrate(io.MultiReader(bytes.NewReader(crate[:cut]), iotest.ErrReader(boom)), "wharf-ok", "1.0.0", 1<<20)
		if !errors.Is(err, boom) || apperr.KindOf(err) != apperr.Internal {
			t.Errorf("cut at %d: %v (kind %v), want the read failure, unclassified", cut, err, apperr.KindOf(err))
		}
	}
}

func TestParseCrateTooManyEntries(t *testing.T) {
	files := []cargotest.File{{Name: "wharf-ok-1.0.0/Cargo.toml", Body: cargotest.Manifest("wharf-ok", "1.0.0")}}
	files = append(files,
		cargotest.File{Name: "wharf-ok-1.0.0/a", Body: "x"},
		cargotest.File{Name: "wharf-ok-1.0.0/b", Body: "x"},
		cargotest.File{Name: "wharf-ok-1.0.0/c/", Type: tar.TypeDir},
		cargotest.File{Name: "wharf-ok-1.0.0/c/d", Body: "x"})
	crate := cargotest.Crate(files...)
	if _, err := cargo.ParseCrateWithMaxEntries(bytes.NewReader(crate), "wharf-ok", "1.0.0", 1<<20, 5); err != nil {
		t.Fatalf("5 entries with a bound of 5: %v", err)
	}
	_, err := cargo.ParseCrateWithMaxEntries(bytes.NewReader(crate), "wharf-ok", "1.0.0", 1<<20, 4)
	if apperr.KindOf(err) != apperr.Invalid || !strings.Contains(err.Error(), "more than 4 entries") {
		t.Fatalf("5 entries with a bound of 4: %v", err)
	}
}

// FuzzParseCrate takes a .crate, or a tar that it gzips first: mutations
// of compressed bytes almost never get past gzip's checksum, so the tar and
// manifest checks need the second form to be reached.
func FuzzParseCrate(f *testing.F) {
	manifest := cargotest.File{Name: "wharf-ok-1.0.0/Cargo.toml", Body: "[package]\nname = \"wharf-ok\"\nversion = \"1.0.0\"\n"}
	f.Add(cargotest.GoodCrate("wharf-ok", "1.0.0"), false)
	f.Add(realCrate(f, "beta-0.2.0.body"), false)
	f.Add(cargotest.Tar(manifest), true)
	f.Add(cargotest.Tar(manifest, cargotest.File{Name: "wharf-ok-1.0.0/src/", Type: tar.TypeDir}, cargotest.File{Name: "wharf-ok-1.0.0/src/lib.rs", Body: "fn x() {}"}), true)
	f.Add(cargotest.Tar(cargotest.File{Name: "beta-0.2.0/Cargo.toml", Body: "[package]\nname = \"beta\"\nversion = \"0.2.0\"\n"}, cargotest.File{Name: "beta-0.2.0/l", Type: tar.TypeSymlink, Linkname: "../x"}), true)
	f.Fuzz(func(t *testing.T, data []byte, compress bool) {
		crate := data
		if compress {
			crate = cargotest.Gzip(data)
		}
		for _, c := range []struct{ name, version string }{{"wharf-ok", "1.0.0"}, {"beta", "0.2.0"}} {
			m, err := cargo.ParseCrate(bytes.NewReader(crate), c.name, c.version, 1<<20)
			if err != nil {
				if apperr.KindOf(err) != apperr.Invalid {
					t.Fatalf("kind %v: %v", apperr.KindOf(err), err)
				}
				continue
			}
			if m.Name != c.name || m.Version != c.version {
				t.Fatalf("accepted %+v for %s %s", m, c.name, c.version)
			}
		}
	})
}

// FuzzManifest feeds go-toml what a crate's Cargo.toml may hold.
func FuzzManifest(f *testing.F) {
	f.Add(cargotest.Manifest("wharf-ok", "1.0.0"))
	f.Add("[package]\nname = \"wharf-ok\"\nversion = \"1.0.0\"\nkeywords = [[[1]]]\n")
	f.Add("[project]\nname = 'wharf-ok'\nversion = '1.0.0'\n[a.b.c]\nd = { e = [1, 2.5, 1979-05-27T07:32:00Z] }\n")
	f.Fuzz(func(t *testing.T, toml string) {
		crate := cargotest.Crate(cargotest.File{Name: "wharf-ok-1.0.0/Cargo.toml", Body: toml})
		if _, err := cargo.ParseCrate(bytes.NewReader(crate), "wharf-ok", "1.0.0", 1<<20); err != nil && apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("kind %v: %v", apperr.KindOf(err), err)
		}
	})
}
