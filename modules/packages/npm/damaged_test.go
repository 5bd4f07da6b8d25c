package npm_test

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/packages/npm"
)

// cutTarball is a tarball whose tar stream is cut after n bytes, then
// gzipped properly: the damage is inside the tar.
func cutTarball(t testing.TB, name, content string, n int) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(content))
	tw.Close()
	return gzipped(tb.Bytes()[:n])
}

func damagedTarballs(t testing.TB) map[string][]byte {
	manifest := `{"name":"x","version":"1.0.0","description":"` + strings.Repeat("d", 400) + `"}`
	good := tarball(t, map[string]string{"package/package.json": manifest})
	corrupt := append([]byte(nil), good...)
	for i := 12; i < len(corrupt)-8; i++ {
		corrupt[i] ^= 0x5a
	}
	return map[string][]byte{
		"truncated package.json": cutTarball(t, "package/package.json", manifest, 512+50),
		"truncated tar header":   cutTarball(t, "package/package.json", manifest, 100),
		"truncated gzip stream":  good[:len(good)/2],
		"corrupt deflate data":   corrupt,
		"gzip header only":       good[:10],
	}
}

func TestReadTarballManifestDamaged(t *testing.T) {
	for name, tgz := range damagedTarballs(t) {
		m, err := npm.ReadTarballManifest(bytes.NewReader(tgz))
		if apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%s: %+v, %v (kind %v); want invalid", name, m, err, apperr.KindOf(err))
		}
	}
	// A header that claims a huge package.json is refused by the header,
	// before anything is read.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: 3 << 29, Typeflag: tar.TypeReg})
	tw.Write([]byte(`{"name":"x","version":"1.0.0"}`))
	if _, err := npm.ReadTarballManifest(bytes.NewReader(gzipped(tb.Bytes()))); apperr.KindOf(err) != apperr.Invalid ||
		!strings.Contains(apperr.PublicMessage(err), "larger than") {
		t.Errorf("package.json claiming 1.5 GiB: %v", err)
	}
}

var errDisk = errors.New("read /tmp/upload: input/output error")

// failingReader is the server's copy of an upload that cannot be read past
// n bytes.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errDisk
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// TestReadTarballManifestSourceFailure: the server's own read failure is
// not the publisher's mistake.
func TestReadTarballManifestSourceFailure(t *testing.T) {
	good := tarball(t, map[string]string{"package/package.json": `{"name":"x","version":"1.0.0"}`})
	for _, n := range []int{0, 5, 20, len(good) / 2} {
		_, err := npm.ReadTarballManifest(&failingReader{r: bytes.NewReader(good), n: n})
		if !errors.Is(err, errDisk) || apperr.KindOf(err) != apperr.Internal {
			t.Errorf("failing after %d bytes: %v (kind %v); want the disk error, internal", n, err, apperr.KindOf(err))
		}
	}
}

// TestParseDocumentSinkErrors: the sink's own failure keeps its kind (a
// temp file that cannot be written is the server's, not a 400), while the
// client's broken attachment bytes are Invalid even when the sink wraps
// the error it got.
func TestParseDocumentSinkErrors(t *testing.T) {
	tgz := tarball(t, map[string]string{"package/package.json": `{"name":"x","version":"1.0.0"}`})
	body := publishBody("x", "1.0.0", tgz, "")
	full := errors.New("write /tmp/upload: no space left on device")
	_, err := npm.ParseDocument(strings.NewReader(body), func(_ string, r io.Reader) error {
		io.CopyN(io.Discard, r, 10)
		return fmt.Errorf("spill upload: %w", full)
	})
	if !errors.Is(err, full) || apperr.KindOf(err) != apperr.Internal {
		t.Fatalf("a failing sink: %v (kind %v); want its own error, internal", err, apperr.KindOf(err))
	}
	tooLarge := apperr.New(apperr.TooLarge, "upload is larger than the limit of 10 bytes")
	if _, err := npm.ParseDocument(strings.NewReader(body), func(string, io.Reader) error { return tooLarge }); !errors.Is(err, tooLarge) {
		t.Fatalf("a sink's classified error: %v", err)
	}

	enc := base64.StdEncoding.EncodeToString(tgz)
	for name, bad := range map[string]string{
		"body cut inside the data": `{"_attachments":{"a.tgz":{"data":"` + enc[:len(enc)/2],
		"bad base64":               `{"_attachments":{"a.tgz":{"data":"` + enc[:8] + "!!!!" + enc[12:] + `"}}}`,
		"bad escape":               `{"_attachments":{"a.tgz":{"data":"` + enc[:8] + `\u0041"}}}`,
	} {
		_, err := npm.ParseDocument(strings.NewReader(bad), func(_ string, r io.Reader) error {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return fmt.Errorf("spill upload: %w", err)
			}
			return nil
		})
		if apperr.KindOf(err) != apperr.Invalid || !strings.Contains(apperr.PublicMessage(err), "attachment") {
			t.Errorf("%s: %v (kind %v); want invalid, about the attachment", name, err, apperr.KindOf(err))
		}
	}
}

func FuzzReadTarballManifest(f *testing.F) {
	for _, b := range damagedTarballs(f) {
		f.Add(b)
	}
	f.Add(tarball(f, map[string]string{"package/package.json": `{"name":"x","version":"1.0.0"}`}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := npm.ReadTarballManifest(bytes.NewReader(b)); err != nil && apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("unexpected kind: %v", err)
		}
	})
}
