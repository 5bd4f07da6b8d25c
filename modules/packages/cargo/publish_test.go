package cargo_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"wharf/modules/apperr"
	"wharf/modules/packages/cargo"
	"wharf/modules/packages/cargo/cargotest"
)

// publish runs a publish body through what the service does with it: the
// metadata, exactly the declared .crate bytes, the end of the body, the
// .crate's contents. maxUnpacked bounds the .crate's unpacked size.
func publish(body io.Reader, maxUnpacked int64) (*cargo.PublishMetadata, []byte, *cargo.Manifest, error) {
	meta, n, err := cargo.ReadPublishMetadata(body)
	if err != nil {
		return nil, nil, nil, err
	}
	crate, err := io.ReadAll(cargo.CrateReader(body, n))
	if err != nil {
		return nil, nil, nil, err
	}
	if int64(len(crate)) != n {
		return nil, nil, nil, errors.New("CrateReader gave the wrong number of bytes")
	}
	if err := cargo.CheckBodyEnd(body); err != nil {
		return nil, nil, nil, err
	}
	m, err := cargo.ParseCrate(bytes.NewReader(crate), meta.Name, meta.Vers, maxUnpacked)
	return meta, crate, m, err
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPublishGood(t *testing.T) {
	meta, crate, m, err := publish(bytes.NewReader(cargotest.GoodBody("wharf-good", "1.2.3-rc.1+build.7")), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Name != "wharf-good" || meta.Vers != "1.2.3-rc.1+build.7" || m.Name != meta.Name || m.Version != meta.Vers {
		t.Fatalf("meta %+v, manifest %+v", meta, m)
	}
	if m.Description != "a test crate" || m.License != "MIT" {
		t.Errorf("manifest %+v", m)
	}
	if !bytes.Equal(crate, cargotest.GoodCrate("wharf-good", "1.2.3-rc.1+build.7")) {
		t.Error("the .crate bytes changed on the way")
	}
}

// TestPublishOneByteAtATime reads the body as a slow connection delivers
// it: the lengths and the end must not depend on how reads are cut.
func TestPublishOneByteAtATime(t *testing.T) {
	body := readFixture(t, "beta-0.2.0.body")
	if _, _, _, err := publish(iotest.OneByteReader(bytes.NewReader(body)), 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := publish(iotest.DataErrReader(bytes.NewReader(body)), 1<<20); err != nil {
		t.Fatal(err)
	}
}

func TestPublishDamaged(t *testing.T) {
	for _, c := range cargotest.DamagedBodies() {
		t.Run(c.Name, func(t *testing.T) {
			_, _, _, err := publish(bytes.NewReader(c.Body), 1<<20)
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("err = %v (kind %v), want invalid", err, apperr.KindOf(err))
			}
			if !strings.Contains(apperr.PublicMessage(err), c.Msg) {
				t.Fatalf("message %q does not say %q", apperr.PublicMessage(err), c.Msg)
			}
		})
	}
}

// TestPublishReadFailure: a failure to read the request body (the
// client's connection, a malformed chunk) is a client error, as every
// upload's read error is (never a 500), and keeps its cause for the log.
func TestPublishReadFailure(t *testing.T) {
	boom := errors.New("connection reset")
	body := cargotest.GoodBody("wharf-good", "1.0.0")
	for _, cut := range []int{0, 2, 4, 50, len(body) - 10, len(body)} {
		r := io.MultiReader(bytes.NewReader(body[:cut]), iotest.ErrReader(boom))
		_, _, _, err := publish(r, 1<<20)
		if !errors.Is(err, boom) || apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("cut at %d: err = %v (kind %v), want the read failure as the client's (invalid)", cut, err, apperr.KindOf(err))
		}
	}
}

// TestReadPublishMetadataReadsNoMore: the reader stops at the .crate, so
// the service can read the crate into its own buffer; and a huge declared
// JSON length is refused before anything is read or allocated.
func TestReadPublishMetadataReadsNoMore(t *testing.T) {
	body := cargotest.GoodBody("wharf-good", "1.0.0")
	r := bytes.NewReader(body)
	_, n, err := cargo.ReadPublishMetadata(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(r.Len()) != n {
		t.Fatalf("%d bytes left after the metadata, want the .crate's %d", r.Len(), n)
	}
	huge := cargotest.Frame(cargo.MaxMetadataSize+1, nil, 0, nil)
	counted := &countingReader{r: bytes.NewReader(huge)}
	if _, _, err := cargo.ReadPublishMetadata(counted); apperr.KindOf(err) != apperr.Invalid || counted.n != 4 {
		t.Fatalf("err = %v after reading %d bytes", err, counted.n)
	}
	exact := cargotest.Frame(cargo.MaxMetadataSize, bytes.Repeat([]byte(" "), cargo.MaxMetadataSize-2), 0, nil)
	if _, _, err := cargo.ReadPublishMetadata(bytes.NewReader(exact)); err == nil || strings.Contains(err.Error(), "limit") {
		t.Fatalf("metadata of exactly the limit: err = %v, want a JSON error, not the limit", err)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestCheckBodyEnd(t *testing.T) {
	if err := cargo.CheckBodyEnd(bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
	if err := cargo.CheckBodyEnd(iotest.DataErrReader(bytes.NewReader(nil))); err != nil {
		t.Fatal(err)
	}
	if apperr.KindOf(cargo.CheckBodyEnd(bytes.NewReader([]byte{0}))) != apperr.Invalid {
		t.Fatal("a byte after the .crate must be refused")
	}
}

func TestCrateReader(t *testing.T) {
	got, err := io.ReadAll(cargo.CrateReader(strings.NewReader("abcdef"), 4))
	if err != nil || string(got) != "abcd" {
		t.Fatalf("got %q, %v", got, err)
	}
	_, err = io.ReadAll(cargo.CrateReader(strings.NewReader("abc"), 4))
	if apperr.KindOf(err) != apperr.Invalid || !strings.Contains(err.Error(), "3 of 4 bytes") {
		t.Fatalf("short body: %v", err)
	}
	_, err = io.ReadAll(cargo.CrateReader(iotest.TimeoutReader(strings.NewReader("abcdef")), 10))
	// A body that cannot be read is the client's failure (4xx), with its
	// cause kept for the log.
	if !errors.Is(err, iotest.ErrTimeout) || apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("failing reader: %v", err)
	}
}

// TestPublishRealCargo reads the bodies cargo 1.95 sent to a recording
// registry (testdata/README.md says how they were made): alpha, and beta
// with a renamed optional dependency on alpha, a crates.io dependency, a
// dev-dependency, dep: and ?/ features and a version inherited from the
// workspace.
func TestPublishRealCargo(t *testing.T) {
	meta, crate, m, err := publish(bytes.NewReader(readFixture(t, "beta-0.2.0.body")), cargo.DefaultMaxUnpacked)
	if err != nil {
		t.Fatal(err)
	}
	want := cargo.Manifest{
		Name: "beta", Version: "0.2.0", RustVersion: "1.70",
		Description: "Second crate: a renamed dependency and dep: features",
		Repository:  "https://example.com/wharf/beta", License: "MIT",
		Keywords: []string{"wharf", "fixture"}, Readme: "README.md",
		Features: map[string][]string{"default": {"std"}, "fancy": {"dep:al"}, "std": {"rand/std"}, "top": {"fancy"}, "weak": {"al?/extra"}},
	}
	m.Deps = nil // compared below, in an order the TOML map does not fix
	if !equalJSON(t, *m, want) {
		t.Errorf("manifest\n%+v, want\n%+v", *m, want)
	}
	// What cargo sent agrees with what it packed.
	_, _, m, _ = publish(bytes.NewReader(readFixture(t, "beta-0.2.0.body")), cargo.DefaultMaxUnpacked)
	if err := meta.CheckManifest(m); err != nil {
		t.Errorf("cargo's own publish disagrees with its Cargo.toml: %v", err)
	}
	if len(m.Deps) != 3 {
		t.Errorf("Cargo.toml's deps: %+v", m.Deps)
	}
	if meta.Readme == nil || *meta.Readme != "# beta\n" || meta.ReadmeFile == nil || *meta.ReadmeFile != "README.md" {
		t.Errorf("readme %v, readme_file %v", meta.Readme, meta.ReadmeFile)
	}
	if len(meta.Deps) != 3 || meta.Deps[0].ExplicitNameInToml == nil || *meta.Deps[0].ExplicitNameInToml != "al" ||
		meta.Deps[1].Registry == nil || *meta.Deps[1].Registry != cratesIOIndex || meta.Deps[2].Kind != "dev" {
		t.Errorf("deps %+v", meta.Deps)
	}
	sum := sha256.Sum256(crate)
	line, err := cargo.NewIndexLine(meta, hex.EncodeToString(sum[:]), pubtime).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const wantLine = `{"name":"beta","vers":"0.2.0","deps":[` +
		`{"name":"al","req":"^0.1","features":[],"optional":true,"default_features":true,"target":null,"kind":"normal","package":"alpha"},` +
		`{"name":"alpha","req":"^0.1.0","features":[],"optional":false,"default_features":true,"target":null,"kind":"dev"},` +
		`{"name":"rand","req":"^0.8","features":["std"],"optional":false,"default_features":false,"target":null,"kind":"normal","registry":"https://github.com/rust-lang/crates.io-index"}],` +
		`"cksum":"822eb0d2710b622d43f03a81777a032942e4ef5bd70e18a0e2de718507e184e4",` +
		`"features":{"default":["std"],"std":["rand/std"]},` +
		`"features2":{"fancy":["dep:al"],"top":["fancy"],"weak":["al?/extra"]},` +
		`"yanked":false,"rust_version":"1.70","pubtime":"2025-11-12T19:30:12Z","v":2}`
	if string(line) != wantLine {
		t.Errorf("index line\n%s\nwant\n%s", line, wantLine)
	}

	meta, crate, m, err = publish(bytes.NewReader(readFixture(t, "alpha-0.1.0.body")), cargo.DefaultMaxUnpacked)
	if err != nil {
		t.Fatal(err)
	}
	sum = sha256.Sum256(crate)
	line, _ = cargo.NewIndexLine(meta, hex.EncodeToString(sum[:]), pubtime).Marshal()
	const wantAlpha = `{"name":"alpha","vers":"0.1.0","deps":[],"cksum":"30fe31ca57f879adf90c6a8cbaaebbaa53d9cc811ebde055f0b4c5af2dabb049",` +
		`"features":{"extra":[]},"yanked":false,"pubtime":"2025-11-12T19:30:12Z"}`
	if string(line) != wantAlpha || m.Description != "First crate of the wharf cargo fixtures" {
		t.Errorf("alpha: line\n%s\nwant\n%s\nmanifest %+v", line, wantAlpha, m)
	}
}

func FuzzPublish(f *testing.F) {
	f.Add(cargotest.GoodBody("wharf-good", "1.0.0"))
	for _, name := range []string{"alpha-0.1.0.body", "beta-0.2.0.body"} {
		f.Add(readFixture(f, name))
	}
	for _, c := range cargotest.DamagedBodies() {
		f.Add(c.Body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		meta, crate, _, err := publish(bytes.NewReader(body), 1<<20)
		if err != nil {
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("kind %v: %v", apperr.KindOf(err), err)
			}
			return
		}
		// Whatever is accepted makes an index line cargo can read back.
		sum := sha256.Sum256(crate)
		line, err := cargo.NewIndexLine(meta, hex.EncodeToString(sum[:]), pubtime).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(line, "\n\r") {
			t.Fatalf("index line spans lines: %q", line)
		}
		checkNoDuplicateKeys(t, line)
		back, err := cargo.ParseIndexLine(line)
		if err != nil || back.Name != meta.Name || back.Vers != meta.Vers || len(back.Deps) != len(meta.Deps) {
			t.Fatalf("line %s reads back as %+v, %v", line, back, err)
		}
	})
}
