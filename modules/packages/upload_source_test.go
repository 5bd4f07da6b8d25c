package packages_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"wharf/modules/apperr"
	packages_module "wharf/modules/packages"
)

// TestParseUpload checks that a failure of the server's copy is told from
// the client's damage: it wins over what the parser made of the short
// read, and it is not classified (a 500, not a 400).
func TestParseUpload(t *testing.T) {
	damaged := func(r io.Reader) (string, error) {
		b, err := io.ReadAll(r)
		if err != nil || len(b) < 5 {
			return "", apperr.New(apperr.Invalid, "truncated")
		}
		return string(b), nil
	}
	v, err := packages_module.ParseUpload(strings.NewReader("hello"), "thing", damaged)
	if err != nil || v != "hello" {
		t.Fatalf("good bytes: %q, %v", v, err)
	}
	_, err = packages_module.ParseUpload(strings.NewReader("hi"), "thing", damaged)
	if apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("client's damage: %v, want Invalid", err)
	}
	disk := errors.New("disk on fire")
	_, err = packages_module.ParseUpload(io.MultiReader(strings.NewReader("he"), iotest.ErrReader(disk)), "thing", damaged)
	if !errors.Is(err, disk) || apperr.KindOf(err) == apperr.Invalid || !strings.Contains(err.Error(), "uploaded thing") {
		t.Fatalf("server's failure: %v, want it unclassified and wrapped", err)
	}
}
