package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestGetAnswers(t *testing.T) {
	var gotAuth, gotVia string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotVia = r.Header.Get("Authorization"), r.Header.Get(ViaHeader)
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("If-None-Match") == `"e"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"e"`)
			_, _ = io.WriteString(w, "body")
		case "/gone":
			w.WriteHeader(http.StatusGone)
		case "/denied":
			w.WriteHeader(http.StatusUnauthorized)
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		case "/stall":
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "abc")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	c := New(Options{Timeout: 300 * time.Millisecond, MaxRequests: 1})
	tgt := Target{URL: srv.URL + "/", Username: "u", Token: "p", AllowPrivate: true}
	ctx := context.Background()

	r, err := c.Get(ctx, tgt, srv.URL+"/ok", "", Validators{})
	if err != nil || r.Status != Found || r.ETag != `"e"` {
		t.Fatalf("ok: %+v %v", r, err)
	}
	b, _ := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if string(b) != "body" || gotAuth == "" || !c.LoopDetected(http.Header{ViaHeader: {"other, " + gotVia}}) || c.LoopDetected(http.Header{ViaHeader: {"other"}}) {
		t.Fatalf("body %q, auth %q, via %q", b, gotAuth, gotVia)
	}
	// With MaxRequests 1, each of these needs the slot the last one freed.
	if r, err := c.Get(ctx, tgt, srv.URL+"/ok", "", Validators{ETag: `"e"`}); err != nil || r.Status != NotModified {
		t.Fatalf("conditional: %+v %v", r, err)
	}
	if r, err := c.Get(ctx, tgt, srv.URL+"/gone", "", Validators{}); err != nil || r.Status != NotFound {
		t.Fatalf("gone: %+v %v", r, err)
	}
	var ue *Error
	if _, err := c.Get(ctx, tgt, srv.URL+"/denied", "", Validators{}); !errors.As(err, &ue) || !ue.Denied {
		t.Fatalf("denied: %v", err)
	}
	if _, err := c.Get(ctx, tgt, srv.URL+"/teapot", "", Validators{}); !errors.As(err, &ue) || ue.Denied {
		t.Fatalf("teapot: %v", err)
	}
	r, err = c.Get(ctx, tgt, srv.URL+"/stall", "", Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r.Body); !errors.As(err, &ue) {
		t.Fatalf("a stalled body: %v", err)
	}
	_ = r.Body.Close()
	if r, err := c.Get(ctx, tgt, srv.URL+"/gone", "", Validators{}); err != nil || r.Status != NotFound {
		t.Fatalf("after the stall the slot is free: %+v %v", r, err)
	}
}

// TestPrivateAddresses: loopback is reached only by a target that allows
// it, and credentials go only to the target's own origin.
func TestPrivateAddresses(t *testing.T) {
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gotAuth = r.Header.Get("Authorization") }))
	defer srv.Close()
	c := New(Options{Timeout: time.Second})
	if _, err := c.Get(context.Background(), Target{URL: srv.URL + "/"}, srv.URL+"/x", "", Validators{}); !errors.Is(err, ErrPrivateAddress) {
		t.Fatalf("loopback without AllowPrivate: %v", err)
	}
	r, err := c.Get(context.Background(), Target{URL: "http://registry.example/", Token: "t", AllowPrivate: true}, srv.URL+"/x", "", Validators{})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Body.Close()
	if gotAuth != "" {
		t.Fatalf("credentials went to another origin: %q", gotAuth)
	}
}
