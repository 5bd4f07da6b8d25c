package doccache_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"wharf/modules/doccache"
)

func TestGzipDecodesToBody(t *testing.T) {
	body := []byte(strings.Repeat(`{"name":"a","version":"1.0.0"},`, 200))
	d := doccache.New(body, doccache.ETag("k"), time.Time{})
	if d.Gzip == nil || len(d.Gzip) >= len(body) {
		t.Fatalf("gzip copy of %d bytes: %d", len(body), len(d.Gzip))
	}
	zr, err := gzip.NewReader(bytes.NewReader(d.Gzip))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("gzip copy decodes to %d bytes (%v), want the body", len(got), err)
	}
}

func TestETags(t *testing.T) {
	a, b := doccache.ETag("npm/1/1"), doccache.ETag("npm/1/2")
	if a == b || !strings.HasPrefix(a, `"`) || !strings.HasSuffix(a, `"`) {
		t.Fatalf("%s %s", a, b)
	}
	if g := doccache.GzipETag(a); g == a || !strings.HasSuffix(g, `-gzip"`) {
		t.Fatalf("gzip etag %s of %s", g, a)
	}
}

func TestBound(t *testing.T) {
	const bound = 1 << 20
	c := doccache.NewCache(bound)
	for i := range 2000 {
		body := []byte(strings.Repeat(fmt.Sprintf(`{"v":%d}`, i), 300))
		c.Put(fmt.Sprint("k", i), doccache.New(body, doccache.ETag(fmt.Sprint(i)), time.Time{}))
		if _, n := c.Size(); n > bound {
			t.Fatalf("after %d documents the cache holds %d bytes, over %d", i+1, n, bound)
		}
	}
	if n, _ := c.Size(); n == 0 || n == 2000 {
		t.Fatalf("%d documents kept", n)
	}
	if _, ok := c.Get("k1999"); !ok {
		t.Fatal("the newest document is gone")
	}
	if _, ok := c.Get("k0"); ok {
		t.Fatal("the oldest document is still there")
	}
	var none *doccache.Cache = doccache.NewCache(0)
	none.Put("a", doccache.New([]byte("x"), `"a"`, time.Time{}))
	if _, ok := none.Get("a"); ok || none != nil {
		t.Fatal("a zero bound kept something")
	}
}

func TestBuildIsKeptOnce(t *testing.T) {
	c := doccache.NewCache(1 << 20)
	body := []byte(strings.Repeat("x", 1000))
	d := c.Build("k", body, `"k"`, time.Time{})
	if !d.Pending() || d.Gzip != nil {
		t.Fatal("a built document is compressed or kept before Keep")
	}
	if _, ok := c.Get("k"); ok {
		t.Fatal("kept before Keep")
	}
	d.Keep()
	got, ok := c.Get("k")
	if !ok || got != d || d.Pending() || d.Gzip == nil {
		t.Fatalf("after Keep: %v %v %v", ok, d.Pending(), d.Gzip == nil)
	}
	var none *doccache.Cache
	d = none.Build("k", body, `"k"`, time.Time{})
	if d.Pending() {
		t.Fatal("without a cache a document waits to be kept")
	}
	d.Keep()
	if d.Gzip != nil {
		t.Fatal("without a cache a document was compressed")
	}
}

// TestMetaCounts: what a format keeps beside a body counts in the bound
// (a map of a package's creators grows with them).
func TestMetaCounts(t *testing.T) {
	const bound = 1 << 20
	c := doccache.NewCache(bound)
	c.Put("small", &doccache.Document{Meta: map[int64]bool{1: true}, MetaSize: 1000})
	if _, size := c.Size(); size < 1000 {
		t.Fatalf("a document whose meta holds 1000 bytes counts for %d", size)
	}
	c.Put("large", &doccache.Document{Meta: map[int64]bool{}, MetaSize: bound / 2})
	if _, ok := c.Get("large"); ok {
		t.Fatal("a document whose meta holds half the bound was kept")
	}
}

// TestKeepTooLarge: a built document over what the cache may keep is
// neither kept nor compressed (each of its requests would pay the gzip
// for nothing); one that fits is compressed and kept.
func TestKeepTooLarge(t *testing.T) {
	const bound = 64 << 10
	c := doccache.NewCache(bound)
	big := c.Build("big", bytes.Repeat([]byte("x"), bound/4+1), doccache.ETag("big"), time.Time{})
	big.Keep()
	if _, ok := c.Get("big"); ok || big.Gzip != nil || big.Pending() {
		t.Fatalf("a document over a quarter of the bound: kept %v, compressed %v, pending %v", ok, big.Gzip != nil, big.Pending())
	}
	small := c.Build("small", bytes.Repeat([]byte("x"), 1000), doccache.ETag("small"), time.Time{})
	small.Keep()
	if d, ok := c.Get("small"); !ok || d.Gzip == nil {
		t.Fatal("a small built document was not compressed and kept")
	}
}
