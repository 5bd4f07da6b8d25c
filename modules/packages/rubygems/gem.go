package rubygems

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"wharf/modules/apperr"
	packages_module "wharf/modules/packages"
)

// MaxChecksumsSize bounds checksums.yaml.gz once unpacked: `gem build`
// writes two digests of two files, under 600 bytes.
const MaxChecksumsSize = 64 << 10

// MaxDataUnpacked bounds what data.tar.gz may unpack to. RubyGems unpacks
// it whole to check its gzip checksum before it installs a gem
// (Gem::Package#verify_gz), and so does ParseGem, so that a gem `gem
// install` would refuse is refused at push; the bound keeps a gzip bomb
// from costing more than a few seconds. The largest gems with native
// binaries unpack to a few hundred megabytes.
const MaxDataUnpacked = 2 << 30

// MaxGemEntries bounds the entries of a .gem's outer tar: `gem build`
// writes three (and three signatures for a signed gem).
const MaxGemEntries = 64

// ParseGem checks a .gem as `gem install` does (Gem::Package#verify) and
// reads its gemspec:
//   - an uncompressed tar, intact to its end, holding metadata.gz (the
//     gzip'd YAML gemspec, see ParseMetadata) and data.tar.gz, each once;
//     checksums.yaml.gz and signatures (*.sig) may be there too, any other
//     entry is kept but not read, and no name may appear twice;
//   - every entry a regular file (`gem build` writes nothing else);
//   - data.tar.gz a gzip stream intact to its checksum (its tar is not
//     read);
//   - when checksums.yaml.gz is there, its SHA256, SHA512 and SHA1 digests
//     of metadata.gz and data.tar.gz equal the files'.
//
// Faults in the client's bytes are apperr.Invalid, limits broken
// (MaxMetadataSize, MaxDataUnpacked) apperr.TooLarge, with messages a
// `gem push` user can act on; a failure of r itself (the server's copy of
// the upload) is returned unclassified.
func ParseGem(r io.ReaderAt, size int64) (*Spec, error) {
	return packages_module.ParseUpload(io.NewSectionReader(r, 0, size), ".gem", parseGem)
}

// tarFeed notes when the tar reader asked for more than the stream had
// left: the archive lacks (part of) its end, which archive/tar forgives
// when the cut falls between entries or in padding. The tar reader asks
// for exactly what it needs (a header block, an entry's bytes, padding),
// so a short read at the end means a cut; `gem build` always writes the
// two zero blocks that end a tar.
type tarFeed struct {
	r     io.Reader
	short bool
}

func (f *tarFeed) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF && n < len(p) {
		f.short = true
	}
	return n, err
}

// entryDigests are the digests RubyGems' checksums.yaml may list, by the
// names it gives them.
type entryDigests map[string]hash.Hash

func newDigests() entryDigests {
	return entryDigests{"SHA256": sha256.New(), "SHA512": sha512.New(), "SHA1": sha1.New()}
}

func (d entryDigests) writer() io.Writer {
	return io.MultiWriter(d["SHA256"], d["SHA512"], d["SHA1"])
}

var errTruncated = apperr.New(apperr.Invalid, "the .gem file is truncated")

func damaged(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncated
	}
	return apperr.Wrap(apperr.Invalid, err, "the .gem file is not a tar archive as `gem build` writes it")
}

func parseGem(r io.Reader) (*Spec, error) {
	var head [512]byte
	n, _ := io.ReadFull(r, head[:])
	if n == 0 {
		return nil, apperr.New(apperr.Invalid, "the .gem file is empty")
	}
	if n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		return nil, apperr.New(apperr.Invalid, "the .gem file is gzip-compressed; a .gem is a plain tar archive as `gem build` writes it")
	}
	feed := &tarFeed{r: io.MultiReader(bytes.NewReader(head[:n]), r)}
	tr := tar.NewReader(feed)
	// An entry cut short fails in whatever reads it (gzip, most often);
	// the cut is the cause to report.
	cut := func(err error) error {
		if feed.short {
			return errTruncated
		}
		return err
	}
	seen := map[string]bool{}
	var metadata, checksums []byte
	digests := map[string]entryDigests{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, cut(damaged(err))
		}
		if len(seen) >= MaxGemEntries {
			return nil, apperr.New(apperr.Invalid, "the .gem file holds more than %d entries", MaxGemEntries)
		}
		if seen[h.Name] {
			return nil, apperr.New(apperr.Invalid, "the .gem file holds %q twice", h.Name)
		}
		seen[h.Name] = true
		if h.Typeflag != tar.TypeReg {
			return nil, apperr.New(apperr.Invalid, "the .gem file holds %q, which is not a file", h.Name)
		}
		switch h.Name {
		case "metadata.gz":
			d := newDigests()
			digests[h.Name] = d
			if metadata, err = gunzipLimited(io.TeeReader(tr, d.writer()), MaxMetadataSize, "metadata.gz"); err != nil {
				return nil, cut(err)
			}
			// Whatever follows the first gzip member, RubyGems reads
			// past it unseen; it still counts for the digests.
			if _, err := io.Copy(d.writer(), tr); err != nil {
				return nil, cut(damaged(err))
			}
		case "data.tar.gz":
			d := newDigests()
			digests[h.Name] = d
			if err := verifyGzip(io.TeeReader(tr, d.writer())); err != nil {
				return nil, cut(err)
			}
			if _, err := io.Copy(d.writer(), tr); err != nil {
				return nil, cut(damaged(err))
			}
		case "checksums.yaml.gz":
			if checksums, err = gunzipLimited(tr, MaxChecksumsSize, "checksums.yaml.gz"); err != nil {
				return nil, cut(err)
			}
		case "metadata":
			return nil, apperr.New(apperr.Invalid, "the .gem file is in the format of RubyGems 0.9 (an uncompressed metadata entry); rebuild it with a current RubyGems")
		}
	}
	if len(seen) == 0 {
		return nil, apperr.New(apperr.Invalid, "the .gem file is not a tar archive as `gem build` writes it")
	}
	if feed.short {
		return nil, errTruncated
	}
	if metadata == nil {
		return nil, apperr.New(apperr.Invalid, "the .gem file has no metadata.gz, so it has no gemspec")
	}
	if !seen["data.tar.gz"] {
		return nil, apperr.New(apperr.Invalid, "the .gem file has no data.tar.gz, so it has no files to install")
	}
	if checksums != nil {
		if err := verifyChecksums(checksums, digests); err != nil {
			return nil, err
		}
	}
	return ParseMetadata(metadata)
}

// gunzipLimited unpacks the first gzip member of r, as Ruby's GzipReader
// reads it, and refuses more than max bytes.
func gunzipLimited(r io.Reader, max int64, name string) ([]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the .gem file's %s is not gzip-compressed", name)
	}
	zr.Multistream(false)
	b, err := io.ReadAll(io.LimitReader(zr, max+1))
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the .gem file's %s is damaged", name)
	}
	if int64(len(b)) > max {
		return nil, apperr.New(apperr.TooLarge, "the .gem file's %s unpacks to more than %d bytes", name, max)
	}
	return b, nil
}

// verifyGzip reads data.tar.gz's first gzip member to its end, which checks
// its CRC and length, without keeping it.
func verifyGzip(r io.Reader) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "the .gem file's data.tar.gz is not gzip-compressed")
	}
	zr.Multistream(false)
	n, err := io.Copy(io.Discard, io.LimitReader(zr, MaxDataUnpacked+1))
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "the .gem file's data.tar.gz is damaged")
	}
	if n > MaxDataUnpacked {
		return apperr.New(apperr.TooLarge, "the .gem file's data.tar.gz unpacks to more than %d bytes", int64(MaxDataUnpacked))
	}
	return nil
}

// verifyChecksums is Gem::Package#verify_checksums for the two files that
// matter: every digest checksums.yaml lists for metadata.gz or
// data.tar.gz must be the file's. Digests of algorithms RubyGems does not
// write are not checked.
func verifyChecksums(data []byte, digests map[string]entryDigests) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return apperr.Wrap(apperr.Invalid, err, "the .gem file's checksums.yaml.gz is not valid YAML")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || isNull(doc.Content[0]) {
		return nil // RubyGems: "Missing checksums are ignored."
	}
	if err := checkYAML(doc.Content[0], 0); err != nil {
		return apperr.Wrap(apperr.Invalid, err, "the .gem file's checksums.yaml.gz is refused")
	}
	algos, algoNames, err := object(doc.Content[0], "checksums.yaml")
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "the .gem file's checksums.yaml.gz is refused")
	}
	for _, algo := range algoNames {
		files, fileNames, err := object(algos[algo], "checksums.yaml "+algo)
		if err != nil {
			return apperr.Wrap(apperr.Invalid, err, "the .gem file's checksums.yaml.gz is refused")
		}
		for _, file := range fileNames {
			d, ok := digests[file][algo]
			if !ok {
				continue
			}
			want, err := str(files[file], "a checksum")
			if err != nil {
				return apperr.Wrap(apperr.Invalid, err, "the .gem file's checksums.yaml.gz is refused")
			}
			if got := hex.EncodeToString(d.Sum(nil)); got != strings.TrimSpace(want) {
				return apperr.New(apperr.Invalid, "%s checksum mismatch for %s: the .gem file is damaged", algo, file)
			}
		}
	}
	return nil
}
