// Package gemtest builds .gem files, good and damaged in the ways clients
// (and attackers) send them, and runs the real Ruby, for the format's unit
// tests and the end-to-end tests alike.
package gemtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// File is one entry of a .gem's outer tar. Type defaults to a regular file.
type File struct {
	Name     string
	Body     []byte
	Type     byte
	Linkname string
}

// epoch is the modification time of every entry, as SOURCE_DATE_EPOCH=0
// would give.
var epoch = time.Unix(0, 0).UTC()

// Tar returns the entries as an uncompressed tar stream, as `gem build`
// writes one.
func Tar(files ...File) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: 0o444, Size: int64(len(f.Body)), Typeflag: f.Type,
			Linkname: f.Linkname, ModTime: epoch, Uname: "wheel", Gname: "wheel", Format: tar.FormatUSTAR}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Body); err != nil {
				panic(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return out.Bytes()
}

// DataTarGz is a data.tar.gz holding one file, lib/<name>.rb.
func DataTarGz(name string) []byte {
	return Gzip(Tar(File{Name: "lib/" + name + ".rb", Body: []byte("module Gemtest; end\n")}))
}

// Checksums is checksums.yaml.gz for the given metadata.gz and data.tar.gz,
// as `gem build` writes it.
func Checksums(metadataGz, dataTarGz []byte) []byte {
	s256 := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	s512 := func(b []byte) string { h := sha512.Sum512(b); return hex.EncodeToString(h[:]) }
	y := "---\nSHA256:\n  metadata.gz: " + s256(metadataGz) + "\n  data.tar.gz: " + s256(dataTarGz) +
		"\nSHA512:\n  metadata.gz: " + s512(metadataGz) + "\n  data.tar.gz: " + s512(dataTarGz) + "\n"
	return Gzip([]byte(y))
}

// Gem is a .gem whose metadata is the given YAML, with a small data.tar.gz
// and matching checksums.
func Gem(metadataYAML string) []byte {
	meta := Gzip([]byte(metadataYAML))
	data := DataTarGz("gemtest")
	return Tar(
		File{Name: "metadata.gz", Body: meta},
		File{Name: "data.tar.gz", Body: data},
		File{Name: "checksums.yaml.gz", Body: Checksums(meta, data)},
	)
}

// Metadata is the YAML `gem build` (RubyGems 3.3) writes for a gem with the
// given name and version, no dependencies, platform ruby, and the other
// fields as a minimal gemspec leaves them. extra lines are inserted before
// "specification_version" to add or override fields for a test (a later
// duplicate key is refused, so tests that override use Replace).
func Metadata(name, version string) string {
	return `--- !ruby/object:Gem::Specification
name: ` + name + `
version: !ruby/object:Gem::Version
  version: ` + version + `
platform: ruby
authors:
- Gem Test
autorequire:
bindir: bin
cert_chain: []
date: 2024-01-02 00:00:00.000000000 Z
dependencies: []
description:
email:
executables: []
extensions: []
extra_rdoc_files: []
files:
- lib/gemtest.rb
homepage:
licenses:
- MIT
metadata: {}
post_install_message:
rdoc_options: []
require_paths:
- lib
required_ruby_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '0'
required_rubygems_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '0'
requirements: []
rubygems_version: 3.3.15
signing_key:
specification_version: 4
summary: A test gem
test_files: []
`
}

// Replace returns yaml with the line that starts with "key:" (at the top
// level) replaced by the given lines, and any indented lines that belonged
// to it dropped.
func Replace(yaml, key, lines string) string {
	in := strings.Split(yaml, "\n")
	var out []string
	for i := 0; i < len(in); i++ {
		if !strings.HasPrefix(in[i], key+":") {
			out = append(out, in[i])
			continue
		}
		out = append(out, strings.TrimRight(lines, "\n"))
		for i+1 < len(in) && (strings.HasPrefix(in[i+1], " ") || strings.HasPrefix(in[i+1], "- ")) {
			i++
		}
	}
	return strings.Join(out, "\n")
}

// RequireRuby returns the path of the named Ruby tool ("ruby", "gem"),
// skipping the test when it is not installed, except under CI=true, where
// a missing tool fails the test (as tests/helpers_test.go requireClient
// does for the end-to-end tests).
func RequireRuby(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed; CI=true makes this a failure", name)
	}
	return p
}

// RunRuby runs `ruby -e script args…` with stdin and returns its standard
// output; a failure fails the test with Ruby's standard error.
func RunRuby(t testing.TB, stdin []byte, script string, args ...string) []byte {
	t.Helper()
	ruby := RequireRuby(t, "ruby")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ruby, append([]string{"-e", script}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	// A user's RUBYOPT or gem environment must not change what Ruby writes.
	cmd.Env = append(os.Environ(), "RUBYOPT=", "TZ=UTC", "LANG=C.UTF-8")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ruby: %v\n%s", err, stderr.String())
	}
	return stdout.Bytes()
}
