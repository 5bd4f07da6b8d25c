// Package composertest builds Composer uploads whose bytes are damaged in
// the ways clients (and attackers) send them, for the parser's tests and
// the end-to-end tests alike: each must be refused as the uploader's
// mistake, with the message given.
package composertest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"hash/crc32"
	"strings"

	"wharf/modules/packages/composer"
)

// GoodJSON is the composer.json every archive here carries, damaged or
// not; its package name is GoodName.
const (
	GoodJSON = `{"name":"acme/hello","type":"library","description":"fifty bytes!"}`
	GoodName = "acme/hello"
)

// Archive is one upload and a part of the message it must be refused with.
type Archive struct {
	Name string
	Body []byte
	Msg  string
}

// Damaged lists the damaged uploads.
func Damaged() []Archive {
	good := []byte(GoodJSON)
	crc := crc32.ChecksumIEEE(good)
	const claimed = 3 << 29 // 1.5 GiB
	longJSON := []byte(`{"name":"acme/hello","description":"` + strings.Repeat("x", 450) + `"}`)
	gz := TarGz("composer.json", good, 0)
	corruptGz := append([]byte(nil), gz...)
	for i := 12; i < len(corruptGz)-8; i++ {
		corruptGz[i] ^= 0x5a
	}
	stored := func(crc uint32, size uint64) zip.FileHeader {
		return zip.FileHeader{Name: "composer.json", Method: zip.Store, CRC32: crc, CompressedSize64: uint64(len(good)), UncompressedSize64: size}
	}
	deflatedGood := deflate(good)
	deflatedHeader := func(size uint64) zip.FileHeader {
		return zip.FileHeader{Name: "composer.json", Method: zip.Deflate, CRC32: crc, CompressedSize64: uint64(len(deflatedGood)), UncompressedSize64: size}
	}
	corruptDeflate := zip.FileHeader{Name: "composer.json", Method: zip.Deflate, CRC32: crc, CompressedSize64: uint64(len(good)), UncompressedSize64: uint64(len(good))}
	unknownMethod := stored(crc, uint64(len(good)))
	unknownMethod.Method = 99
	return []Archive{
		{"zip, stored member claiming 1.5 GiB", RawZip(stored(crc, claimed), good), "composer.json is larger than"},
		{"zip, deflated member claiming 1.5 GiB", RawZip(deflatedHeader(claimed), deflatedGood), "composer.json is larger than"},
		{"zip, member holding more than it claims", RawZip(deflatedHeader(10), deflatedGood), "the archive is damaged"},
		{"zip, wrong CRC", RawZip(stored(crc^0xdeadbeef, uint64(len(good))), good), "checksum error"},
		{"zip, corrupt deflate data", RawZip(corruptDeflate, bytes.Repeat([]byte{0xff}, len(good))), "the archive is damaged"},
		{"zip, unknown compression method", RawZip(unknownMethod, good), "unsupported compression"},
		{"zip, truncated", RawZip(stored(crc, uint64(len(good))), good)[:60], "not a valid zip archive"},
		{"tar.gz, truncated composer.json", TarGz("composer.json", longJSON, 512+50), "the archive is damaged"},
		{"tar.gz, truncated gzip stream", gz[:len(gz)/2], "not a valid tar archive"},
		{"tar.gz, corrupt deflate data", corruptGz, "not a valid tar archive"},
		{"tar.gz, composer.json over limit", TarGz("pkg/composer.json", bytes.Repeat([]byte(" "), composer.MaxComposerJSON+1), 0), "composer.json is larger than"},
		{"tar.bz2, not bzip2 after magic", append([]byte("BZh9"), bytes.Repeat([]byte{0x42}, 100)...), "not a valid tar archive"},
		{"four bytes of zip magic, no more", []byte("PK\x03\x04"), "not a valid zip archive"},
		{"gzip magic, no more", []byte{0x1f, 0x8b}, "not an archive"},
	}
}

// GoodZip is a zip of GoodJSON whose member is deflated: the undamaged
// counterpart of the damaged zips.
func GoodZip() []byte {
	good := []byte(GoodJSON)
	d := deflate(good)
	return RawZip(zip.FileHeader{Name: "composer.json", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(good),
		CompressedSize64: uint64(len(d)), UncompressedSize64: uint64(len(good))}, d)
}

// RawZip writes one member with the header fields given, whatever the
// bytes are.
func RawZip(h zip.FileHeader, data []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&h)
	if err != nil {
		panic(err) // writing to memory fails only on a bad header, a bug here
	}
	_, _ = w.Write(data)
	_ = zw.Close()
	return buf.Bytes()
}

// TarGz is a tar.gz of one file; with cut > 0 the tar stream is cut after
// that many bytes (then gzipped properly: the damage is in the tar).
func TarGz(name string, content []byte, cut int) []byte {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		panic(err)
	}
	_, _ = tw.Write(content)
	_ = tw.Close()
	raw := tb.Bytes()
	if cut > 0 {
		raw = raw[:cut]
	}
	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	_, _ = gw.Write(raw)
	_ = gw.Close()
	return gb.Bytes()
}

func deflate(data []byte) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	_, _ = fw.Write(data)
	_ = fw.Close()
	return buf.Bytes()
}
