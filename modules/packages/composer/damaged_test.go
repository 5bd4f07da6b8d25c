package composer_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/packages/composer"
	"wharf/modules/packages/composer/composertest"
)

func TestParsePackageDamaged(t *testing.T) {
	for _, c := range composertest.Damaged() {
		t.Run(c.Name, func(t *testing.T) {
			p, err := composer.ParsePackage(bytes.NewReader(c.Body), int64(len(c.Body)))
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("got %+v, %v (kind %v); want an invalid-upload error", p, err, apperr.KindOf(err))
			}
			if msg := apperr.PublicMessage(err); msg == "" || msg == "internal error" || !strings.Contains(msg, c.Msg) {
				t.Fatalf("message %q, want it to say %q", msg, c.Msg)
			}
		})
	}
	// The same bytes, undamaged, parse: the damage is what is refused.
	for name, b := range goodArchives() {
		if p, err := composer.ParsePackage(bytes.NewReader(b), int64(len(b))); err != nil || p.Name != composertest.GoodName {
			t.Fatalf("%s: %+v, %v", name, p, err)
		}
	}
}

// goodArchives are the undamaged counterparts.
func goodArchives() map[string][]byte {
	return map[string][]byte{
		"zip":    composertest.GoodZip(),
		"tar.gz": composertest.TarGz("composer.json", []byte(composertest.GoodJSON), 0),
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
	for name, b := range goodArchives() {
		for _, after := range []int64{0, 2, 20, int64(len(b)) / 2} {
			_, err := composer.ParsePackage(failingSource{data: b, after: after}, int64(len(b)))
			if !errors.Is(err, errDisk) || apperr.KindOf(err) != apperr.Internal {
				t.Errorf("%s, failing after %d bytes: %v (kind %v); want the disk error, internal", name, after, err, apperr.KindOf(err))
			}
		}
	}
}

func FuzzParsePackage(f *testing.F) {
	for _, c := range composertest.Damaged() {
		f.Add(c.Body)
	}
	for _, b := range goodArchives() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := composer.ParsePackage(bytes.NewReader(b), int64(len(b))); err != nil && apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("unexpected kind for a damaged upload: %v", err)
		}
	})
}

var _ io.ReaderAt = failingSource{}
