package common_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"wharf/routers/common"
)

type failingReader struct{ after int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after == 0 {
		return 0, errors.New("corrupt object")
	}
	n := min(len(p), f.after)
	f.after -= n
	return n, nil
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestCopyBody(t *testing.T) {
	var out bytes.Buffer
	if err := common.CopyBody(&out, strings.NewReader("hello")); err != nil || out.String() != "hello" {
		t.Fatalf("clean copy: %q, %v", out.String(), err)
	}
	out.Reset()
	err := common.CopyBody(&out, &failingReader{after: 3})
	if err == nil || !strings.Contains(err.Error(), "corrupt object") {
		t.Fatalf("a failing source must be reported, got %v", err)
	}
	if out.Len() != 3 {
		t.Fatalf("copied %d bytes before the failure, want 3", out.Len())
	}
	if err := common.CopyBody(failingWriter{}, strings.NewReader("hello")); err != nil {
		t.Fatalf("a client that left is not the server's error, got %v", err)
	}
	if err := common.CopyBody(io.Discard, &failingReader{after: 0}); err == nil {
		t.Fatal("a source failing at once must be reported")
	}
}
