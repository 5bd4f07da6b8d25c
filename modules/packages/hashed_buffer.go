// Package packages holds what every registry format shares: the upload
// buffer that hashes in one pass, and version ordering.
package packages

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	"wharf/modules/apperr"
)

// DefaultMemoryLimit is how much of an upload is kept in memory before it
// spills to a temp file.
const DefaultMemoryLimit = 32 << 20

// Hashes are the digests of an upload, lower-case hex.
type Hashes struct {
	MD5, SHA1, SHA256, SHA512 string
}

// HashedBuffer holds an upload that was read once: its size, its digests,
// and its bytes (in memory, or in an unlinked temp file beyond the memory
// limit) for as many re-reads as needed.
type HashedBuffer struct {
	size   int64
	hashes Hashes
	mem    chunks
	file   *os.File
}

// tooLarge is the error for an upload over its limit.
func tooLarge(limit int64) error {
	return apperr.New(apperr.TooLarge, "upload is larger than the limit of %d bytes", limit)
}

// NewHashedBuffer reads r to its end, hashing and buffering it. maxSize
// (-1: unlimited) is enforced on the bytes actually read: reading stops
// one byte past it. Beyond memLimit the bytes spill to a temp file in
// tmpDir, which is unlinked at once so that nothing is left behind if the
// process dies; Close releases it.
func NewHashedBuffer(r io.Reader, maxSize int64, memLimit int, tmpDir string) (*HashedBuffer, error) {
	h := []hash.Hash{md5.New(), sha1.New(), sha256.New(), sha512.New()}
	sink := &spillWriter{memLimit: memLimit, tmpDir: tmpDir}
	w := io.MultiWriter(h[0], h[1], h[2], h[3], sink)
	src := r
	if maxSize >= 0 {
		src = io.LimitReader(r, maxSize+1)
	}
	n, err := io.Copy(w, src)
	if err != nil {
		sink.close()
		return nil, fmt.Errorf("read upload: %w", err)
	}
	if maxSize >= 0 && n > maxSize {
		sink.close()
		return nil, tooLarge(maxSize)
	}
	return &HashedBuffer{
		size: n,
		hashes: Hashes{
			MD5: hex.EncodeToString(h[0].Sum(nil)), SHA1: hex.EncodeToString(h[1].Sum(nil)),
			SHA256: hex.EncodeToString(h[2].Sum(nil)), SHA512: hex.EncodeToString(h[3].Sum(nil)),
		},
		mem:  sink.mem,
		file: sink.file,
	}, nil
}

// Size is the number of bytes read.
func (b *HashedBuffer) Size() int64 { return b.size }

// Hashes are the digests.
func (b *HashedBuffer) Hashes() Hashes { return b.hashes }

// InMemory reports whether the bytes never touched the disk.
func (b *HashedBuffer) InMemory() bool { return b.file == nil }

// Reader returns a fresh reader over the bytes; several may be used one
// after the other (parse, then store).
func (b *HashedBuffer) Reader() *io.SectionReader {
	if b.file != nil {
		return io.NewSectionReader(b.file, 0, b.size)
	}
	return io.NewSectionReader(b.mem, 0, b.size)
}

// Close releases the temp file, if any.
func (b *HashedBuffer) Close() error {
	if b.file != nil {
		err := b.file.Close()
		b.file = nil
		return err
	}
	return nil
}

// chunkSize is the unit of in-memory buffering: growing by fixed chunks,
// never by doubling and copying, keeps the memory an upload takes at its
// size (not twice it, plus garbage).
const chunkSize = 1 << 20

// chunks is an in-memory upload: full chunks, the last one partly filled.
type chunks [][]byte

// ReadAt reads from the concatenated chunks.
func (c chunks) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for _, ch := range c {
		if off >= int64(len(ch)) {
			off -= int64(len(ch))
			continue
		}
		m := copy(p[n:], ch[off:])
		n += m
		off = 0
		if n == len(p) {
			return n, nil
		}
	}
	return n, io.EOF
}

// spillWriter keeps writes in memory up to memLimit, then moves them to a
// temp file.
type spillWriter struct {
	memLimit int
	tmpDir   string
	mem      chunks
	memLen   int
	file     *os.File
}

func (s *spillWriter) writeMem(p []byte) {
	for len(p) > 0 {
		if len(s.mem) == 0 || len(s.mem[len(s.mem)-1]) == cap(s.mem[len(s.mem)-1]) {
			s.mem = append(s.mem, make([]byte, 0, min(chunkSize, s.memLimit)))
		}
		last := &s.mem[len(s.mem)-1]
		n := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:n]...)
		p = p[n:]
		s.memLen += n
	}
}

func (s *spillWriter) Write(p []byte) (int, error) {
	if s.file == nil && s.memLen+len(p) <= s.memLimit {
		s.writeMem(p)
		return len(p), nil
	}
	if s.file == nil {
		if err := os.MkdirAll(s.tmpDir, 0o755); err != nil {
			return 0, err
		}
		f, err := os.CreateTemp(s.tmpDir, "upload-*")
		if err != nil {
			return 0, fmt.Errorf("create upload temp file: %w", err)
		}
		// Unlinked at once: the open file lives until Close, and a crash
		// cannot leave it behind.
		if err := os.Remove(f.Name()); err != nil {
			f.Close()
			return 0, err
		}
		for _, ch := range s.mem {
			if _, err := f.Write(ch); err != nil {
				f.Close()
				return 0, err
			}
		}
		s.mem, s.memLen = nil, 0
		s.file = f
	}
	return s.file.Write(p)
}

func (s *spillWriter) close() {
	if s.file != nil {
		s.file.Close()
	}
}
