// Package cargotest builds Cargo publish bodies and .crate files, good and
// damaged in the ways clients (and attackers) send them, for the format's
// unit tests and the end-to-end tests alike: each damaged body must be
// refused as the publisher's mistake (400), with the message given, and
// nothing stored.
package cargotest

import (
	"archive/tar"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"strings"
	"time"
)

// File is one tar entry of a .crate. Type defaults to a regular file.
type File struct {
	Name     string
	Body     string
	Type     byte
	Linkname string
}

// epoch is the modification time cargo gives every entry.
var epoch = time.Date(2006, 7, 24, 1, 21, 28, 0, time.UTC)

// Tar returns the entries as an uncompressed tar stream.
func Tar(files ...File) []byte {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: 0o644, Size: int64(len(f.Body)), Typeflag: f.Type, Linkname: f.Linkname, ModTime: epoch, Format: tar.FormatGNU}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err) // only a programming error in a test table gets here
		}
		if h.Size > 0 {
			_, _ = tw.Write([]byte(f.Body))
		}
	}
	_ = tw.Close()
	return tb.Bytes()
}

// Gzip compresses b as one gzip member.
func Gzip(b []byte) []byte {
	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	_, _ = gw.Write(b)
	_ = gw.Close()
	return gb.Bytes()
}

// Crate returns a .crate (gzipped tar) holding files in the order given.
func Crate(files ...File) []byte { return Gzip(Tar(files...)) }

// Manifest is a Cargo.toml as `cargo package` normalizes it, for a crate
// with no dependencies.
func Manifest(name, version string) string {
	return "[package]\nedition = \"2021\"\nname = \"" + name + "\"\nversion = \"" + version +
		"\"\nbuild = false\ndescription = \"a test crate\"\nlicense = \"MIT\"\n\n[lib]\nname = \"" +
		strings.ReplaceAll(name, "-", "_") + "\"\npath = \"src/lib.rs\"\n"
}

// GoodCrate is a well-formed .crate for name and version.
func GoodCrate(name, version string) []byte {
	root := name + "-" + version + "/"
	return Crate(
		File{Name: root + "Cargo.toml", Body: Manifest(name, version)},
		File{Name: root + "Cargo.toml.orig", Body: "[package]\nname = \"" + name + "\"\nversion = \"" + version + "\"\n"},
		File{Name: root + "src/lib.rs", Body: "pub fn hello() {}\n"},
	)
}

// Metadata is the publish JSON cargo 1.95 sends for a crate with no
// dependencies and no features.
func Metadata(name, version string) []byte {
	b, _ := json.Marshal(map[string]any{
		"name": name, "vers": version, "deps": []any{}, "features": map[string]any{},
		"authors": []any{}, "description": "a test crate", "documentation": nil, "homepage": nil,
		"readme": nil, "readme_file": nil, "keywords": []any{}, "categories": []any{},
		"license": "MIT", "license_file": nil, "repository": nil, "badges": map[string]any{},
		"links": nil, "rust_version": nil,
	})
	return b
}

// Body frames a publish body: u32 LE JSON length, JSON, u32 LE .crate
// length, .crate.
func Body(meta, crate []byte) []byte {
	return Frame(uint32(len(meta)), meta, uint32(len(crate)), crate)
}

// Frame is Body with the lengths given, true or not.
func Frame(metaLen uint32, meta []byte, crateLen uint32, crate []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, metaLen)
	b = append(b, meta...)
	b = binary.LittleEndian.AppendUint32(b, crateLen)
	return append(b, crate...)
}

// GoodBody is a well-formed publish body for name and version.
func GoodBody(name, version string) []byte {
	return Body(Metadata(name, version), GoodCrate(name, version))
}

// GzipBomb is a .crate whose Cargo.toml is fine but whose second entry,
// all zeros, makes the archive unpack to more than unpacked bytes (rounded
// up to whole MiB) from about a thousandth of that. It is made without
// compressing the zeros: one compressed MiB of zeros, byte-aligned and
// referring only to itself, is repeated.
func GzipBomb(name, version string, unpacked int64) []byte {
	const mib = 1 << 20
	chunks := unpacked/mib + 1
	root := name + "-" + version + "/"
	// The zeros file is followed by tar's end-of-archive blocks (zeros as
	// well), which the repeated chunks hold too.
	head := Tar(File{Name: root + "Cargo.toml", Body: Manifest(name, version)})
	head = head[:len(head)-1024] // drop the end-of-archive blocks
	var th bytes.Buffer
	tw := tar.NewWriter(&th)
	_ = tw.WriteHeader(&tar.Header{Name: root + "src/zeros.rs", Mode: 0o644, Size: chunks*mib - 1024, Typeflag: tar.TypeReg, ModTime: epoch, Format: tar.FormatGNU})
	head = append(head, th.Bytes()...)

	var deflated bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, flate.BestCompression)
	_, _ = fw.Write(head)
	_ = fw.Flush()
	var chunk bytes.Buffer
	cw, _ := flate.NewWriter(&chunk, flate.BestCompression)
	zeros := make([]byte, mib)
	_, _ = cw.Write(zeros)
	_ = cw.Flush()
	crc := crc32.ChecksumIEEE(head)
	for range chunks {
		deflated.Write(chunk.Bytes())
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	var end bytes.Buffer
	ew, _ := flate.NewWriter(&end, flate.BestCompression)
	_ = ew.Close() // a final empty block
	deflated.Write(end.Bytes())

	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255} // gzip header, no name, unknown OS
	out = append(out, deflated.Bytes()...)
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, uint32(int64(len(head))+chunks*mib))
}

// Case is a publish body and a part of the message it must be refused
// with.
type Case struct {
	Name string
	Body []byte
	Msg  string
}

// DamagedBodies lists publish bodies that must each be refused with
// apperr.Invalid (400) whose message contains Msg. None of them is a gzip
// bomb, which depends on the server's limit (GzipBomb).
func DamagedBodies() []Case {
	const name, version = "wharf-bad", "1.0.0"
	root := name + "-" + version + "/"
	meta := Metadata(name, version)
	good := GoodCrate(name, version)
	withMeta := func(edit func(m map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(meta, &m)
		edit(m)
		b, _ := json.Marshal(m)
		return b
	}
	named := func(n, v string) []byte { return Body(Metadata(n, v), GoodCrate(n, v)) }
	crate := func(files ...File) []byte { return Body(meta, Crate(files...)) }
	manifest := File{Name: root + "Cargo.toml", Body: Manifest(name, version)}
	corrupt := append([]byte(nil), good...)
	for i := 12; i < len(corrupt)-8; i++ {
		corrupt[i] ^= 0x5a
	}
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-8] ^= 0xff
	return []Case{
		// The framing.
		{"empty body", nil, "ends before the length of the metadata"},
		{"body of 3 bytes", []byte{1, 0, 0}, "ends before the length of the metadata"},
		{"metadata length 0", Frame(0, nil, uint32(len(good)), good), "the metadata is empty"},
		{"metadata length 4 GiB", Frame(0xffffffff, meta, uint32(len(good)), good), "more than the limit"},
		{"metadata length past the end", Frame(uint32(len(meta)+1000), meta, 0, nil), "ends inside the metadata"},
		{"metadata length longer than the JSON", Frame(uint32(len(meta)+4), meta, uint32(len(good)), good), "not valid JSON"},
		{"metadata length shorter than the JSON", Frame(uint32(len(meta)-1), meta, uint32(len(good)), good), "not valid JSON"},
		{"no .crate length", Frame(uint32(len(meta)), meta, 0, nil)[:4+len(meta)], "ends before the length of the .crate"},
		{".crate length 0", Frame(uint32(len(meta)), meta, 0, nil), "the .crate file is empty"},
		{".crate length past the end", Frame(uint32(len(meta)), meta, uint32(len(good)+1), good), "ends inside the .crate"},
		{".crate cut short", Frame(uint32(len(meta)), meta, uint32(len(good)), good[:len(good)/2]), "ends inside the .crate"},
		{"bytes after the .crate", append(Body(meta, good), 0), "bytes after the .crate"},
		{".crate length shorter than the .crate", Frame(uint32(len(meta)), meta, uint32(len(good)-1), good), "bytes after the .crate"},

		// The metadata.
		{"metadata not JSON", Body([]byte("name=wharf-bad"), good), "not valid JSON"},
		{"metadata an array", Body([]byte("[]"), good), "must be an object"},
		{"vers a number", Body(withMeta(func(m map[string]any) { m["vers"] = 1 }), good), `"vers" must be a string`},
		{"description a number", Body(withMeta(func(m map[string]any) { m["description"] = 5 }), good), `"description" must be a string`},
		{"deps an object", Body(withMeta(func(m map[string]any) { m["deps"] = map[string]any{} }), good), `"deps" must be an array`},
		{"dependency optional a string", Body(withMeta(func(m map[string]any) {
			m["deps"] = []any{map[string]any{"name": "serde", "version_req": "^1", "kind": "normal", "features": []any{}, "optional": "yes", "default_features": true, "target": nil}}
		}), good), `"deps.optional" must be true or false`},
		{"name starts with a digit", named("0abc", version), "cannot start with a digit"},
		{"name of 65 characters", named(strings.Repeat("a", 65), version), "too long"},
		{"name not ASCII", named("wharf-bäd", version), "may only contain"},
		{"name reserved", named("std", version), "reserved"},
		{"name reserved, other spelling", named("Proc-Macro", version), "reserved"},
		{"name a Windows device", named("nul", version), "reserved"},
		{"version not semver", named(name, "1.0"), "not a semver version"},
		{"version with v", named(name, "v1.0.0"), "not a semver version"},
		{"version with a leading zero", named(name, "01.0.0"), "not a semver version"},
		{"dependency of unknown kind", Body(withMeta(func(m map[string]any) {
			m["deps"] = []any{map[string]any{"name": "serde", "version_req": "^1", "kind": "runtime", "features": []any{}, "optional": false, "default_features": true, "target": nil}}
		}), good), `unknown kind "runtime"`},
		{"dependency renamed to a bad name", Body(withMeta(func(m map[string]any) {
			m["deps"] = []any{map[string]any{"name": "serde", "version_req": "^1", "kind": "normal", "explicit_name_in_toml": "se rde", "features": []any{}, "optional": false, "default_features": true, "target": nil}}
		}), good), "dependency name"},
		{"dependency without version requirement", Body(withMeta(func(m map[string]any) {
			m["deps"] = []any{map[string]any{"name": "serde", "version_req": "", "kind": "normal", "features": []any{}, "optional": false, "default_features": true, "target": nil}}
		}), good), "no version requirement"},

		// The .crate against the metadata.
		{"name differs from Cargo.toml", Body(Metadata(name, version), Crate(File{Name: root + "Cargo.toml", Body: Manifest("wharf-other", version)})), `named "wharf-other" in Cargo.toml`},
		{"version differs from Cargo.toml", Body(Metadata(name, version), Crate(File{Name: root + "Cargo.toml", Body: Manifest(name, "1.0.1")})), `version is "1.0.1" in Cargo.toml`},
		{"crate of another version", Body(Metadata(name, version), GoodCrate(name, "1.0.1")), "every path must be under wharf-bad-1.0.0/"},

		// The .crate itself.
		{"not gzip", Body(meta, Tar(manifest)), "not gzip-compressed"},
		{"gzip cut short", Body(meta, good[:len(good)-12]), "damaged"},
		{"gzip corrupt", Body(meta, corrupt), "damaged"},
		{"gzip checksum wrong", Body(meta, badCRC), "damaged"},
		{"tar cut inside a file", Body(meta, Gzip(Tar(manifest)[:600])), "damaged"},
		{"tar cut inside a header", Body(meta, Gzip(Tar(manifest)[:100])), "damaged"},
		{"tar cut inside the padding", Body(meta, Gzip(Tar(manifest)[:700])), "cut short"},
		{"tar without its end", Body(meta, Gzip(Tar(manifest)[:1024])), "cut short"},
		{"gzip of nothing", Body(meta, Gzip(nil)), "cut short"},
		{"no Cargo.toml", crate(File{Name: root + "src/lib.rs", Body: "\n"}), "has no wharf-bad-1.0.0/Cargo.toml"},
		{"Cargo.toml one level down", crate(File{Name: root + "src/Cargo.toml", Body: Manifest(name, version)}), "has no wharf-bad-1.0.0/Cargo.toml"},
		{"empty tar", Body(meta, Gzip(make([]byte, 1024))), "has no wharf-bad-1.0.0/Cargo.toml"},
		{"path with ..", crate(manifest, File{Name: root + "../evil.rs", Body: "x"}), "'..'"},
		{"path with .. inside", crate(manifest, File{Name: root + "src/../../evil.rs", Body: "x"}), "'..'"},
		{"absolute path", crate(manifest, File{Name: "/etc/passwd", Body: "x"}), "absolute"},
		{"another top directory", crate(manifest, File{Name: "other-1.0.0/src/lib.rs", Body: "x"}), "other top directory"},
		{"top directory as a prefix", crate(manifest, File{Name: root[:len(root)-1] + "x/lib.rs", Body: "x"}), "other top directory"},
		{"backslash", crate(manifest, File{Name: root + `..\..\evil.rs`, Body: "x"}), "backslash"},
		{"symlink outside", crate(manifest, File{Name: root + "src/link", Type: tar.TypeSymlink, Linkname: "/etc/passwd"}), "link"},
		{"symlink inside", crate(manifest, File{Name: root + "src/link", Type: tar.TypeSymlink, Linkname: "lib.rs"}), "link"},
		{"hard link", crate(manifest, File{Name: root + "src/link", Type: tar.TypeLink, Linkname: "/etc/passwd"}), "link"},
		{"device", crate(manifest, File{Name: root + "dev", Type: tar.TypeChar}), "neither a file nor a directory"},
		{"two manifests", crate(manifest, File{Name: root + "cargo.toml", Body: Manifest(name, version)}), "two manifests"},
		{"Cargo.toml twice", crate(manifest, manifest), "twice"},
		{"manifest wrongly cased", crate(File{Name: root + "CARGO.TOML", Body: Manifest(name, version)}), "cargo reads only Cargo.toml"},
		{"Cargo.toml not TOML", crate(File{Name: root + "Cargo.toml", Body: "[package\nname = 1"}), "not valid TOML"},
		{"Cargo.toml duplicate key", crate(File{Name: root + "Cargo.toml", Body: Manifest(name, version) + "[package]\nname = \"x\"\n"}), "not valid TOML"},
		{"Cargo.toml without [package]", crate(File{Name: root + "Cargo.toml", Body: "[lib]\npath = \"src/lib.rs\"\n"}), "no [package] table"},
		{"Cargo.toml with an inherited version", crate(File{Name: root + "Cargo.toml", Body: "[package]\nname = \"" + name + "\"\nversion.workspace = true\n"}), "package.version"},
		{"root directory as a file", crate(File{Name: name + "-" + version, Body: "x"}, manifest), "root directory"},
	}
}
