//go:build cluster

package cluster

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// upload is a PUT whose body is held after its first bytes until the test
// releases it, so that a fault lands in the middle of the body.
type upload struct {
	URL    string
	Seed   uint64
	Size   int64
	sent   chan struct{} // closed once the first bytes were taken
	done   chan struct{} // closed with the outcome below set
	Status int
	Body   string
	Err    error // the client's error (no answer)
}

// startUpload sends size pattern bytes (seed) to u: the first `first`
// bytes at once, the rest once release is closed.
func startUpload(t *testing.T, u string, h map[string]string, seed uint64, size, first int64, release <-chan struct{}) *upload {
	t.Helper()
	up := &upload{URL: u, Seed: seed, Size: size, sent: make(chan struct{}), done: make(chan struct{})}
	pr, pw := io.Pipe()
	go func() {
		src := newPattern(seed, size)
		if _, err := io.CopyN(pw, src, first); err != nil {
			pw.CloseWithError(err)
			return
		}
		close(up.sent)
		<-release
		_, err := io.Copy(pw, src)
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(t.Context(), "PUT", u, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	for k, v := range h {
		req.Header.Set(k, v)
	}
	// A connection of its own: a fault on one upload's connection is not
	// seen by another's.
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		defer close(up.done)
		resp, err := cl.Do(req)
		if err != nil {
			up.Err = err
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		up.Status, up.Body, up.Err = resp.StatusCode, string(b), err
		if err != nil {
			up.Err = fmt.Errorf("read the answer (status %d): %w", resp.StatusCode, err)
		}
	}()
	return up
}

// waitSent waits until every upload has sent its first bytes.
func waitSent(t *testing.T, ups ...*upload) {
	t.Helper()
	for _, up := range ups {
		select {
		case <-up.sent:
		case <-up.done:
			t.Fatalf("PUT %s ended before its first bytes were sent: %d %s %v", up.URL, up.Status, up.Body, up.Err)
		case <-time.After(2 * time.Minute):
			t.Fatalf("PUT %s: the first bytes were not taken in time", up.URL)
		}
	}
}

// waitDone waits until every upload has its outcome.
func waitDone(t *testing.T, ups ...*upload) {
	t.Helper()
	for _, up := range ups {
		select {
		case <-up.done:
		case <-time.After(3 * time.Minute):
			t.Fatalf("PUT %s: no outcome in time (a hang)", up.URL)
		}
	}
}
