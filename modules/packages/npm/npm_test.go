package npm_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/packages/npm"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"left-pad", "@acme/hello", "a", "x.y", "~tilde", strings.Repeat("a", 214), "@a/b-c.d"} {
		if err := npm.ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Upper", "@Acme/x", "has space", " x", "..", ".hidden", "_under", "@acme/.x", "@/x", "@acme", "@acme/", "a/b", "@a/b/c",
		strings.Repeat("a", 215), "a%2fb", "ünï", "a:b", "a\x00"} {
		if apperr.KindOf(npm.ValidateName(bad)) != apperr.Invalid {
			t.Errorf("ValidateName(%q) accepted", bad)
		}
	}
	if s, b := npm.SplitName("@acme/hello"); s != "acme" || b != "hello" {
		t.Errorf("SplitName = %q %q", s, b)
	}
	if npm.TarballName("@acme/hello", "1.0.0") != "hello-1.0.0.tgz" {
		t.Error("TarballName")
	}
	if npm.ValidateVersion("1.0.0-beta.1") != nil || npm.ValidateVersion("v1.0") == nil || npm.ValidateVersion("1.0") == nil {
		t.Error("ValidateVersion")
	}
}

func tarball(t testing.TB, files map[string]string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
		tw.Write([]byte(content))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func publishBody(name, version string, tgz []byte, extra string) string {
	s1 := sha1.Sum(tgz)
	s5 := sha512.Sum512(tgz)
	return fmt.Sprintf(`{"_id":%q,"name":%q,"dist-tags":{"latest":%q},"versions":{%q:{"name":%q,"version":%q,"dist":{"shasum":%q,"integrity":%q}}},"access":null%s,"_attachments":{"%s-%s.tgz":{"content_type":"application/octet-stream","data":%q,"length":%d}}}`,
		name, name, version, version, name, version, hex.EncodeToString(s1[:]), "sha512-"+base64.StdEncoding.EncodeToString(s5[:]), extra,
		name, version, base64.StdEncoding.EncodeToString(tgz), len(tgz))
}

func TestParseDocument(t *testing.T) {
	tgz := tarball(t, map[string]string{"package/package.json": `{"name":"@acme/hello","version":"1.0.0"}`, "package/index.js": "x"})
	body := publishBody("@acme/hello", "1.0.0", tgz, `,"readme":"# hi"`)
	var got []byte
	doc, err := npm.ParseDocument(strings.NewReader(body), func(name string, r io.Reader) error {
		var err error
		got, err = io.ReadAll(r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, tgz) || doc.Name != "@acme/hello" || doc.DistTags["latest"] != "1.0.0" || len(doc.Versions) != 1 || doc.Readme != "# hi" {
		t.Fatalf("doc %+v, %d attachment bytes", doc, len(got))
	}
	if a := doc.Attachments["@acme/hello-1.0.0.tgz"]; a.Length != int64(len(tgz)) {
		t.Fatalf("attachment %+v", a)
	}
	m, err := npm.ReadTarballManifest(bytes.NewReader(got))
	if err != nil || m.Name != "@acme/hello" || m.Version != "1.0.0" {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	s1, s5 := sha1.Sum(tgz), sha512.Sum512(tgz)
	if err := npm.CheckDist(npm.Dist{Shasum: hex.EncodeToString(s1[:]), Integrity: npm.Integrity(hex.EncodeToString(s5[:]))}, hex.EncodeToString(s1[:]), hex.EncodeToString(s5[:])); err != nil {
		t.Fatal(err)
	}
	if npm.CheckDist(npm.Dist{Shasum: strings.Repeat("0", 40)}, hex.EncodeToString(s1[:]), hex.EncodeToString(s5[:])) == nil {
		t.Fatal("shasum mismatch accepted")
	}
	if npm.CheckDist(npm.Dist{Integrity: "sha512-AAAA"}, hex.EncodeToString(s1[:]), hex.EncodeToString(s5[:])) == nil {
		t.Fatal("integrity mismatch accepted")
	}

	// Escaped slashes in base64, and no attachments at all (deprecate).
	escaped := strings.ReplaceAll(body, "/", `\/`)
	if _, err := npm.ParseDocument(strings.NewReader(escaped), func(_ string, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err == nil && !bytes.Equal(b, tgz) {
			err = fmt.Errorf("escaped data decoded wrongly")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	doc, err = npm.ParseDocument(strings.NewReader(`{"name":"x","versions":{"1.0.0":{"deprecated":"old"}}}`), nil)
	if err != nil || len(doc.Attachments) != 0 {
		t.Fatalf("document without attachments: %+v, %v", doc, err)
	}

	for name, bad := range map[string]string{
		"garbage base64":  `{"_attachments":{"a.tgz":{"data":"!!!notbase64!!!"}}}`,
		"no data":         `{"_attachments":{"a.tgz":{"length":3}}}`,
		"truncated":       `{"name":"x","versions":{`,
		"not an object":   `["x"]`,
		"trailing data":   `{"name":"x"} {}`,
		"unterminated":    `{"_attachments":{"a.tgz":{"data":"AAAA`,
		"bad length type": `{"_attachments":{"a.tgz":{"data":"AAAA","length":"3"}}}`,
	} {
		_, err := npm.ParseDocument(strings.NewReader(bad), func(_ string, r io.Reader) error { _, err := io.ReadAll(r); return err })
		if k := apperr.KindOf(err); k != apperr.Invalid {
			t.Errorf("%s: %v (%v), want invalid", name, err, k)
		}
	}
	for name, tgz := range map[string][]byte{
		"not gzip":        []byte("plain"),
		"gzip, not tar":   gzipped([]byte("not a tar")),
		"no package.json": tarball(t, map[string]string{"package/index.js": "x"}),
		"bad json":        tarball(t, map[string]string{"package/package.json": "{"}),
	} {
		if _, err := npm.ReadTarballManifest(bytes.NewReader(tgz)); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.Write(b)
	gz.Close()
	return buf.Bytes()
}

func FuzzParseDocument(f *testing.F) {
	f.Add(publishBody("x", "1.0.0", []byte("abc"), ""))
	f.Add(`{"a":[1,{"b":"c\"}"}],"_attachments":{}}`)
	f.Fuzz(func(t *testing.T, body string) {
		_, err := npm.ParseDocument(strings.NewReader(body), func(_ string, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		})
		if err != nil {
			if k := apperr.KindOf(err); k != apperr.Invalid && k != apperr.TooLarge {
				t.Fatalf("kind %v for %q: %v", k, body, err)
			}
		}
	})
}
