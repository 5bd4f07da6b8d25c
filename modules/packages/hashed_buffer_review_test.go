package packages_test

import (
	"bytes"
	"io"
	"math"
	"testing"

	packages_module "wharf/modules/packages"
)

// TestHashedBufferLargestLimit: the largest limit there is (a LIMIT_SIZE
// of 2^63-1) reads the whole upload: reading to one byte past the limit
// must not overflow into reading nothing (an empty file stored as the
// upload).
func TestHashedBufferLargestLimit(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 3<<20+5)
	for _, mem := range []int{1 << 20, 8 << 20} { // spilled, in memory
		b, err := packages_module.NewHashedBufferWith(bytes.NewReader(data), packages_module.Options{
			MaxSize: math.MaxInt64, MemoryLimit: mem, Declared: -1, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(b.Reader())
		if err != nil || !bytes.Equal(got, data) || b.Size() != int64(len(data)) {
			t.Fatalf("memory limit %d: read %d bytes (size %d), %v", mem, len(got), b.Size(), err)
		}
		b.Close()
	}
}
