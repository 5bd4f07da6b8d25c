package composer_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/packages/composer"
)

const goodJSON = `{"name":"acme/hello","type":"library","description":"fifty bytes!"}`

// rawZip writes one member with the header fields given, whatever the
// bytes are.
func rawZip(t testing.TB, h zip.FileHeader, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func deflated(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	fw.Write(data)
	fw.Close()
	return buf.Bytes()
}

func tarGz(t testing.TB, name string, content []byte, cut int) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(content)
	tw.Close()
	raw := tb.Bytes()
	if cut > 0 {
		raw = raw[:cut]
	}
	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	gw.Write(raw)
	gw.Close()
	return gb.Bytes()
}

// DamagedArchives are uploads whose bytes are broken in the ways clients
// (and attackers) send them; each must be refused as the client's mistake.
func damagedArchives(t testing.TB) map[string][]byte {
	good := []byte(goodJSON)
	crc := crc32.ChecksumIEEE(good)
	const claimed = 3 << 29 // 1.5 GiB
	longJSON := []byte(`{"name":"acme/hello","description":"` + strings.Repeat("x", 450) + `"}`)
	gz := tarGz(t, "composer.json", good, 0)
	corruptGz := append([]byte(nil), gz...)
	for i := 12; i < len(corruptGz)-8; i++ {
		corruptGz[i] ^= 0x5a
	}
	return map[string][]byte{
		"zip, stored member claiming 1.5 GiB": rawZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Store, CRC32: crc,
			CompressedSize64: uint64(len(good)), UncompressedSize64: claimed}, good),
		"zip, deflated member claiming 1.5 GiB": rawZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Deflate, CRC32: crc,
			CompressedSize64: uint64(len(deflated(t, good))), UncompressedSize64: claimed}, deflated(t, good)),
		"zip, member holding more than it claims": rawZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Deflate, CRC32: crc,
			CompressedSize64: uint64(len(deflated(t, good))), UncompressedSize64: 10}, deflated(t, good)),
		"zip, wrong CRC": rawZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Store, CRC32: crc ^ 0xdeadbeef,
			CompressedSize64: uint64(len(good)), UncompressedSize64: uint64(len(good))}, good),
		"zip, corrupt deflate data": rawZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Deflate, CRC32: crc,
			CompressedSize64: uint64(len(good)), UncompressedSize64: uint64(len(good))}, bytes.Repeat([]byte{0xff}, len(good))),
		"zip, unknown compression method": rawZip(t, zip.FileHeader{Name: "composer.json", Method: 99, CRC32: crc,
			CompressedSize64: uint64(len(good)), UncompressedSize64: uint64(len(good))}, good),
		"zip, truncated":                   rawZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Store, CRC32: crc, CompressedSize64: uint64(len(good)), UncompressedSize64: uint64(len(good))}, good)[:60],
		"tar.gz, truncated composer.json":  tarGz(t, "composer.json", longJSON, 512+50),
		"tar.gz, truncated gzip stream":    gz[:len(gz)/2],
		"tar.gz, corrupt deflate data":     corruptGz,
		"tar.gz, composer.json over limit": tarGz(t, "pkg/composer.json", bytes.Repeat([]byte(" "), composer.MaxComposerJSON+1), 0),
		"tar.bz2, not bzip2 after magic":   append([]byte("BZh9"), bytes.Repeat([]byte{0x42}, 100)...),
		"four bytes of zip magic, no more": []byte("PK\x03\x04"),
		"gzip magic, no more":              {0x1f, 0x8b},
	}
}

func TestParsePackageDamaged(t *testing.T) {
	for name, b := range damagedArchives(t) {
		t.Run(name, func(t *testing.T) {
			p, err := composer.ParsePackage(bytes.NewReader(b), int64(len(b)))
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("got %+v, %v (kind %v); want an invalid-upload error", p, err, apperr.KindOf(err))
			}
			if msg := apperr.PublicMessage(err); msg == "" || msg == "internal error" {
				t.Fatalf("message %q", msg)
			}
		})
	}
	// The same bytes, undamaged, parse: the damage is what is refused.
	good := []byte(goodJSON)
	for name, b := range map[string][]byte{
		"zip":    rawZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Store, CRC32: crc32.ChecksumIEEE(good), CompressedSize64: uint64(len(good)), UncompressedSize64: uint64(len(good))}, good),
		"tar.gz": tarGz(t, "composer.json", good, 0),
	} {
		if p, err := composer.ParsePackage(bytes.NewReader(b), int64(len(b))); err != nil || p.Name != "acme/hello" {
			t.Fatalf("%s: %+v, %v", name, p, err)
		}
	}
}

// failingSource is the server's copy of an upload that cannot be read.
type failingSource struct {
	data  []byte
	after int64 // bytes that read fine
}

var errDisk = errors.New("read /tmp/upload: input/output error")

func (f failingSource) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.after {
		n := max(0, int(f.after-off))
		copy(p, f.data[off:off+int64(n)])
		return n, errDisk
	}
	return copy(p, f.data[off:]), nil
}

// TestParsePackageSourceFailure: a failure of the server's own copy is not
// the client's mistake (no 400 for a disk error).
func TestParsePackageSourceFailure(t *testing.T) {
	good := []byte(goodJSON)
	for name, b := range map[string][]byte{
		"zip":    rawZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Store, CRC32: crc32.ChecksumIEEE(good), CompressedSize64: uint64(len(good)), UncompressedSize64: uint64(len(good))}, good),
		"tar.gz": tarGz(t, "composer.json", good, 0),
	} {
		for _, after := range []int64{0, 2, 20, int64(len(b)) / 2} {
			_, err := composer.ParsePackage(failingSource{data: b, after: after}, int64(len(b)))
			if !errors.Is(err, errDisk) || apperr.KindOf(err) != apperr.Internal {
				t.Errorf("%s, failing after %d bytes: %v (kind %v); want the disk error, internal", name, after, err, apperr.KindOf(err))
			}
		}
	}
}

func FuzzParsePackage(f *testing.F) {
	for _, b := range damagedArchives(f) {
		f.Add(b)
	}
	f.Add(tarGz(f, "composer.json", []byte(goodJSON), 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := composer.ParsePackage(bytes.NewReader(b), int64(len(b))); err != nil && apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("unexpected kind for a damaged upload: %v", err)
		}
	})
}

var _ io.ReaderAt = failingSource{}
