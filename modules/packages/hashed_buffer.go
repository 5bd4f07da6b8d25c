// Package packages holds what every registry format shares: the upload
// buffer that hashes in one pass, and version ordering.
package packages

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"sync"

	"wharf/modules/apperr"
)

// DefaultMemoryLimit is how much of an upload is kept in memory before it
// spills to a temp file.
const DefaultMemoryLimit = 32 << 20

// readSize is the unit the body is read, hashed and written in: large
// reads keep the per-call costs (syscalls, hash calls) out of the way.
const readSize = 1 << 20

// readBuffer is the buffer to read an upload of declared bytes (-1:
// unknown) through: readSize, or the declared size when smaller (a small
// upload takes no MiB), at least 4 KiB.
func readBuffer(declared int64) []byte {
	if declared < 0 {
		declared = readSize
	}
	return make([]byte, max(4<<10, min(declared, readSize)))
}

// Hashes are the digests of an upload, lower-case hex. MD5, SHA1 and
// SHA512 are empty when they were deferred (see Options.AllDigests).
type Hashes struct {
	MD5, SHA1, SHA256, SHA512 string
}

// Complete reports whether every digest is known.
func (h Hashes) Complete() bool { return h.MD5 != "" && h.SHA1 != "" && h.SHA512 != "" }

// SpillFile is where an upload beyond the memory limit is written: a
// file the buffer writes once and then reads back as often as needed.
type SpillFile interface {
	io.Writer
	io.ReaderAt
	io.Closer
}

// Options say how to read an upload.
type Options struct {
	// MaxSize is the largest upload (-1: unlimited), enforced on the
	// bytes actually read: reading stops one byte past it.
	MaxSize int64
	// MemoryLimit is how much stays in memory before the upload spills.
	MemoryLimit int
	// Declared is the size the client announced (Content-Length), -1
	// when unknown: an upload declared larger than MemoryLimit spills
	// from its first byte instead of passing through memory.
	Declared int64
	// AllDigests computes MD5, SHA-1 and SHA-512 while reading even when
	// the upload spills. Without it a spilled upload gets only its
	// SHA-256 (the blob's key) and size, and the others are left empty
	// for a job to compute from storage: hashing four digests inline
	// runs at the speed of the slowest (MD5, SHA-512), well under the
	// disk's. Uploads that stay in memory always get all four.
	AllDigests bool
	// TempDir is where the default spill file goes (an unlinked temp
	// file, so that a crash leaves nothing behind).
	TempDir string
	// NewSpill, when set, makes the spill file instead (a store's own,
	// which it can adopt as the blob without copying the bytes).
	NewSpill func() (SpillFile, error)
}

// HashedBuffer holds an upload that was read once: its size, its digests,
// and its bytes (in memory, or in a spill file beyond the memory limit)
// for as many re-reads as needed.
type HashedBuffer struct {
	size   int64
	hashes Hashes
	mem    chunks
	file   SpillFile
}

// tooLarge is the error for an upload over its limit.
func tooLarge(limit int64) error {
	return apperr.New(apperr.TooLarge, "upload is larger than the limit of %d bytes", limit)
}

// NewHashedBuffer reads r to its end with every digest (Options with
// AllDigests and the default spill file in tmpDir).
func NewHashedBuffer(r io.Reader, maxSize int64, memLimit int, tmpDir string) (*HashedBuffer, error) {
	return NewHashedBufferWith(r, Options{MaxSize: maxSize, MemoryLimit: memLimit, Declared: -1, AllDigests: true, TempDir: tmpDir})
}

// NewHashedBufferWith reads r to its end, hashing and buffering it as o
// says. A read that fails leaves nothing behind.
func NewHashedBufferWith(r io.Reader, o Options) (*HashedBuffer, error) {
	if o.MaxSize >= 0 && o.Declared > o.MaxSize {
		return nil, tooLarge(o.MaxSize) // refused before a byte is read
	}
	sink := &spillWriter{o: o}
	sha := sha256.New()
	var extra []hash.Hash // hashed inline with sha when AllDigests
	if o.AllDigests {
		extra = []hash.Hash{md5.New(), sha1.New(), sha512.New()}
	}
	if o.Declared > int64(o.MemoryLimit) {
		if err := sink.spill(); err != nil {
			return nil, err
		}
	}
	src := r
	if o.MaxSize >= 0 && o.MaxSize < math.MaxInt64 { // MaxSize+1 would overflow: unlimited
		src = io.LimitReader(r, o.MaxSize+1)
	}
	buf := readBuffer(o.Declared)
	hs := append(extra, sha)
	var n int64
	for {
		m, err := readFull(src, buf)
		if m > 0 {
			p := buf[:m]
			hashAll(hs, p)
			if _, werr := sink.Write(p); werr != nil {
				sink.close()
				return nil, fmt.Errorf("buffer upload: %w", werr)
			}
			n += int64(m)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			sink.close()
			return nil, fmt.Errorf("read upload: %w", err)
		}
	}
	if o.MaxSize >= 0 && n > o.MaxSize {
		sink.close()
		return nil, tooLarge(o.MaxSize)
	}
	b := &HashedBuffer{size: n, mem: sink.mem, file: sink.file}
	b.hashes.SHA256 = hex.EncodeToString(sha.Sum(nil))
	if extra == nil && sink.file == nil {
		// In memory: the other digests cost little now, from memory.
		extra = []hash.Hash{md5.New(), sha1.New(), sha512.New()}
		for _, ch := range sink.mem {
			hashAll(extra, ch)
		}
	}
	if extra != nil {
		b.hashes.MD5 = hex.EncodeToString(extra[0].Sum(nil))
		b.hashes.SHA1 = hex.EncodeToString(extra[1].Sum(nil))
		b.hashes.SHA512 = hex.EncodeToString(extra[2].Sum(nil))
	}
	return b, nil
}

// readFull reads into buf until it is full or r ends (io.EOF, possibly
// with bytes).
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// parallelHash is the size from which hashAll hashes on several cores.
const parallelHash = 64 << 10

// hashAll writes p to every hash, each on its own goroutine when there
// are several and p is large: the digests then take as long as the
// slowest one, not their sum.
func hashAll(hs []hash.Hash, p []byte) {
	if len(hs) == 1 || len(p) < parallelHash {
		for _, h := range hs {
			h.Write(p)
		}
		return
	}
	var wg sync.WaitGroup
	for _, h := range hs[1:] {
		wg.Go(func() { h.Write(p) })
	}
	hs[0].Write(p)
	wg.Wait()
}

// Size is the number of bytes read.
func (b *HashedBuffer) Size() int64 { return b.size }

// Hashes are the digests.
func (b *HashedBuffer) Hashes() Hashes { return b.hashes }

// InMemory reports whether the bytes never touched the disk.
func (b *HashedBuffer) InMemory() bool { return b.file == nil }

// Spill is the spill file holding the bytes, nil when they are in memory
// (a store that made it may adopt it as the blob).
func (b *HashedBuffer) Spill() SpillFile { return b.file }

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

// spillWriter keeps writes in memory up to the memory limit, then moves
// them to a spill file.
type spillWriter struct {
	o      Options
	mem    chunks
	memLen int
	file   SpillFile
}

func (s *spillWriter) writeMem(p []byte) {
	for len(p) > 0 {
		if len(s.mem) == 0 || len(s.mem[len(s.mem)-1]) == cap(s.mem[len(s.mem)-1]) {
			s.mem = append(s.mem, make([]byte, 0, min(chunkSize, s.o.MemoryLimit)))
		}
		last := &s.mem[len(s.mem)-1]
		n := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:n]...)
		p = p[n:]
		s.memLen += n
	}
}

func (s *spillWriter) Write(p []byte) (int, error) {
	if s.file == nil && s.memLen+len(p) <= s.o.MemoryLimit {
		s.writeMem(p)
		return len(p), nil
	}
	if s.file == nil {
		if err := s.spill(); err != nil {
			return 0, err
		}
	}
	return s.file.Write(p)
}

// spill moves what is in memory to a new spill file, which takes every
// later write.
func (s *spillWriter) spill() error {
	f, err := s.newFile()
	if err != nil {
		return err
	}
	for _, ch := range s.mem {
		if _, err := f.Write(ch); err != nil {
			f.Close()
			return err
		}
	}
	s.mem, s.memLen = nil, 0
	s.file = f
	return nil
}

func (s *spillWriter) newFile() (SpillFile, error) {
	if s.o.NewSpill != nil {
		f, err := s.o.NewSpill()
		if err != nil {
			return nil, fmt.Errorf("create upload spill file: %w", err)
		}
		return f, nil
	}
	if err := os.MkdirAll(s.o.TempDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.o.TempDir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("create upload temp file: %w", err)
	}
	// Unlinked at once: the open file lives until Close, and a crash
	// cannot leave it behind.
	if err := os.Remove(f.Name()); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return f, nil
}

func (s *spillWriter) close() {
	if s.file != nil {
		s.file.Close()
	}
}

// OtherDigests reads r to its end and returns its MD5, SHA-1 and SHA-512
// (SHA256 empty), hashed side by side: the digests an upload left for
// later (Options.AllDigests).
func OtherDigests(r io.Reader) (Hashes, error) {
	hs := []hash.Hash{md5.New(), sha1.New(), sha512.New()}
	buf := readBuffer(-1)
	for {
		n, err := readFull(r, buf)
		if n > 0 {
			hashAll(hs, buf[:n])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return Hashes{}, err
		}
	}
	return Hashes{MD5: hex.EncodeToString(hs[0].Sum(nil)), SHA1: hex.EncodeToString(hs[1].Sum(nil)),
		SHA512: hex.EncodeToString(hs[2].Sum(nil))}, nil
}
