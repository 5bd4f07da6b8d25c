package lru

import (
	"strings"
	"testing"
)

func TestCache(t *testing.T) {
	c := New(100, func(b []byte) int64 { return int64(len(b)) })
	c.Put("a", []byte(strings.Repeat("a", 20)))
	c.Put("b", []byte(strings.Repeat("b", 20)))
	c.Put("too big", []byte(strings.Repeat("x", 26))) // over a quarter: not kept
	if _, ok := c.Get("too big"); ok {
		t.Fatal("a value over a quarter of the cache was kept")
	}
	if b, ok := c.Get("a"); !ok || string(b) != strings.Repeat("a", 20) {
		t.Fatalf("a: %q %v", b, ok)
	}
	c.Put("a", []byte("other")) // a key names one content: the first stays
	if b, _ := c.Get("a"); string(b) != strings.Repeat("a", 20) {
		t.Fatalf("a replaced by %q", b)
	}
	// a was used after b: c, d, e and f, over the bound, push out b.
	for _, k := range []string{"c", "d", "e", "f"} {
		c.Put(k, []byte(strings.Repeat("c", 20)))
	}
	if _, ok := c.Get("b"); ok {
		t.Fatal("b, the least recently used, is still there")
	}
	for _, k := range []string{"a", "c", "d", "e", "f"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("%s went before b", k)
		}
	}
	if c.size > c.max || c.size != 100 || len(c.byKey) != c.order.Len() {
		t.Fatalf("size %d of %d, %d keys, %d in order", c.size, c.max, len(c.byKey), c.order.Len())
	}
	var none *Cache[[]byte] // no cache: nothing kept, nothing found
	none.Put("a", []byte("a"))
	if _, ok := none.Get("a"); ok {
		t.Fatal("a nil cache found something")
	}
}
