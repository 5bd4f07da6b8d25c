package packages_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"wharf/modules/apperr"
	"wharf/modules/packages"
)

func TestHashedBuffer(t *testing.T) {
	tmp := t.TempDir()
	for _, c := range []struct {
		name     string
		size     int
		memLimit int
		inMemory bool
	}{{"empty", 0, 16, true}, {"small", 10, 16, true}, {"exact", 16, 16, true}, {"spills", 100_000, 16, false},
		{"several chunks", 2_500_000, 3 << 20, true}, {"spills after chunks", 3_500_000, 3 << 20, false}} {
		t.Run(c.name, func(t *testing.T) {
			data := make([]byte, c.size)
			for i := range data {
				data[i] = byte(i * 7)
			}
			b, err := packages.NewHashedBuffer(iotest.HalfReader(bytes.NewReader(data)), -1, c.memLimit, tmp)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			sum := sha256.Sum256(data)
			if b.Size() != int64(c.size) || b.Hashes().SHA256 != hex.EncodeToString(sum[:]) || b.InMemory() != c.inMemory {
				t.Fatalf("size %d, sha256 %s, in memory %v", b.Size(), b.Hashes().SHA256, b.InMemory())
			}
			for range 2 { // re-readable
				got, err := io.ReadAll(b.Reader())
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("re-read %d bytes, %v", len(got), err)
				}
			}
			if c.size > 10 { // random access across chunk boundaries
				part := make([]byte, 10)
				off := int64(c.size - 10)
				if _, err := b.Reader().ReadAt(part, off); err != nil || !bytes.Equal(part, data[off:]) {
					t.Fatalf("ReadAt(%d) = %v", off, err)
				}
			}
			if b.Hashes().MD5 == "" || len(b.Hashes().SHA1) != 40 || len(b.Hashes().SHA512) != 128 {
				t.Fatalf("hashes %+v", b.Hashes())
			}
		})
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}

func TestHashedBufferLimits(t *testing.T) {
	tmp := t.TempDir()
	data := bytes.Repeat([]byte{'x'}, 1000)
	if b, err := packages.NewHashedBuffer(bytes.NewReader(data), 1000, 10, tmp); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	} else {
		b.Close()
	}
	_, err := packages.NewHashedBuffer(bytes.NewReader(data), 999, 10, tmp)
	if apperr.KindOf(err) != apperr.TooLarge {
		t.Fatalf("over the limit: %v", err)
	}
	// An aborted upload (the client went away) is an error, and nothing
	// is left on disk.
	aborted := io.MultiReader(bytes.NewReader(data), iotest.ErrReader(errors.New("connection reset")))
	if _, err := packages.NewHashedBuffer(aborted, -1, 10, tmp); err == nil {
		t.Fatal("an aborted upload was accepted")
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}

// digests are the four digests of data, computed the plain way.
func digests(data []byte) packages.Hashes {
	m, s1, s2, s5 := md5.Sum(data), sha1.Sum(data), sha256.Sum256(data), sha512.Sum512(data)
	return packages.Hashes{MD5: hex.EncodeToString(m[:]), SHA1: hex.EncodeToString(s1[:]),
		SHA256: hex.EncodeToString(s2[:]), SHA512: hex.EncodeToString(s5[:])}
}

// TestHashedBufferDeferredDigests: without AllDigests an upload that
// spills gets its SHA-256 only (the rest is left for later, and
// OtherDigests computes it), one that stays in memory gets all four; with
// a declared size over the memory limit it spills from the first byte;
// the digests are right whatever the read sizes.
func TestHashedBufferDeferredDigests(t *testing.T) {
	data := make([]byte, 3<<20+12345)
	for i := range data {
		data[i] = byte(i*31 + i>>11)
	}
	want := digests(data)
	for _, c := range []struct {
		name     string
		memLimit int
		declared int64
		all      bool
		spilled  bool
	}{
		{"in memory", 4 << 20, -1, false, false},
		{"spills", 1 << 20, -1, false, true},
		{"spills from the start", 4 << 20, 4<<20 + 1, false, true},
		{"spills with all digests", 1 << 20, -1, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			spills := 0
			b, err := packages.NewHashedBufferWith(iotest.HalfReader(bytes.NewReader(data)), packages.Options{
				MaxSize: -1, MemoryLimit: c.memLimit, Declared: c.declared, AllDigests: c.all,
				NewSpill: func() (packages.SpillFile, error) {
					spills++
					return os.CreateTemp(tmp, "spill-*")
				}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.InMemory() == c.spilled || (b.Spill() != nil) != c.spilled || spills != map[bool]int{false: 0, true: 1}[c.spilled] {
				t.Fatalf("in memory %v, %d spill files, want spilled %v", b.InMemory(), spills, c.spilled)
			}
			h := b.Hashes()
			if h.SHA256 != want.SHA256 || b.Size() != int64(len(data)) {
				t.Fatalf("sha256 %s, size %d", h.SHA256, b.Size())
			}
			if c.spilled && !c.all {
				if h.Complete() || h.MD5 != "" || h.SHA1 != "" || h.SHA512 != "" {
					t.Fatalf("a spilled upload got digests it should have deferred: %+v", h)
				}
				h, err = packages.OtherDigests(b.Reader())
				if err != nil {
					t.Fatal(err)
				}
				h.SHA256 = want.SHA256
			}
			if h != want {
				t.Fatalf("digests %+v, want %+v", h, want)
			}
			got, err := io.ReadAll(b.Reader())
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestHashedBufferDeclaredTooLarge: a declared size over the limit is
// refused before anything is read.
func TestHashedBufferDeclaredTooLarge(t *testing.T) {
	read := false
	r := readerFunc(func(p []byte) (int, error) { read = true; return 0, io.EOF })
	_, err := packages.NewHashedBufferWith(r, packages.Options{MaxSize: 10, MemoryLimit: 100, Declared: 11})
	if apperr.KindOf(err) != apperr.TooLarge || read {
		t.Fatalf("declared over the limit: %v, body read %v", err, read)
	}
}

type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
