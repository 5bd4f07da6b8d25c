package tests

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"hash/crc32"
	"strings"
	"testing"
)

// damagedZip writes one composer.json member with the header fields given,
// whatever the bytes are.
func damagedZip(t *testing.T, h zip.FileHeader, data []byte) []byte {
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

// cutTarGz is a tar.gz of one file whose tar stream is cut after n bytes
// (then gzipped properly: the damage is in the tar).
func cutTarGz(t *testing.T, name string, content []byte, n int) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(content)
	tw.Close()
	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	gw.Write(tb.Bytes()[:n])
	gw.Close()
	return gb.Bytes()
}

// TestComposerDamagedUploads: archives with broken bytes are the
// uploader's mistake: 400 in Composer's error shape with a message, and
// nothing stored. They used to answer 500.
func TestComposerDamagedUploads(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")

	good := []byte(`{"name":"acme/damaged","description":"about fifty bytes"}`)
	crc := crc32.ChecksumIEEE(good)
	var fb bytes.Buffer
	fw, _ := flate.NewWriter(&fb, flate.DefaultCompression)
	fw.Write(good)
	fw.Close()
	deflated := fb.Bytes()
	long := []byte(`{"name":"acme/damaged","description":"` + strings.Repeat("x", 500) + `"}`)
	const claimed = 3 << 29 // 1.5 GiB

	for _, c := range []struct {
		name string
		body []byte
		msg  string
	}{
		{"zip whose header claims a 1.5 GiB composer.json holding 50 bytes", damagedZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Deflate,
			CRC32: crc, CompressedSize64: uint64(len(deflated)), UncompressedSize64: claimed}, deflated), "composer.json is larger than"},
		{"zip with a wrong CRC", damagedZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Store,
			CRC32: crc ^ 0xdeadbeef, CompressedSize64: uint64(len(good)), UncompressedSize64: uint64(len(good))}, good), "checksum"},
		{"zip whose member holds more than its header says", damagedZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Deflate,
			CRC32: crc, CompressedSize64: uint64(len(deflated)), UncompressedSize64: 10}, deflated), "archive is damaged"},
		{"tar.gz with a truncated composer.json", cutTarGz(t, "composer.json", long, 512+50), "archive is damaged"},
		{"tar.gz cut in the middle of the gzip stream", cutTarGz(t, "pkg/composer.json", long, 1024)[:40], "not a valid tar archive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version=1.0.0", string(c.body), h)
			if status != 400 {
				t.Fatalf("%d %s, want 400", status, body)
			}
			if msgs := composerErrors(t, body); !strings.Contains(msgs[0], c.msg) {
				t.Fatalf("message %q, want it to say %q", msgs[0], c.msg)
			}
		})
	}

	// Nothing stored: no package in the API, no blob.
	status, _, body := s.do(t, "GET", "/api/v1/packages/acme?type=composer", "", h)
	var listed []json.RawMessage
	if err := json.Unmarshal([]byte(body), &listed); status != 200 || err != nil || len(listed) != 0 {
		t.Fatalf("package list after damaged uploads: %d %s (%v)", status, body, err)
	}
	var blobs int
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM package_blob").Scan(&blobs); err != nil || blobs != 0 {
		t.Fatalf("%d blobs stored (%v)", blobs, err)
	}

	// The same member, undamaged, is accepted: what was refused was the damage.
	ok := damagedZip(t, zip.FileHeader{Name: "composer.json", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(deflated)), UncompressedSize64: uint64(len(good))}, deflated)
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version=1.0.0", string(ok), h); status != 201 {
		t.Fatalf("the undamaged archive: %d %s", status, body)
	}
}
