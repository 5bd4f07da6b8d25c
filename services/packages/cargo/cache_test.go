package cargo

import (
	"strings"
	"testing"
)

func TestIndexCache(t *testing.T) {
	c := newIndexCache(100)
	c.put(`"a"`, []byte(strings.Repeat("a", 20)))
	c.put(`"b"`, []byte(strings.Repeat("b", 20)))
	c.put(`"too big"`, []byte(strings.Repeat("x", 26))) // over a quarter: not kept
	if _, ok := c.get(`"too big"`); ok {
		t.Fatal("a file over a quarter of the cache was kept")
	}
	if b, ok := c.get(`"a"`); !ok || string(b) != strings.Repeat("a", 20) {
		t.Fatalf("a: %q %v", b, ok)
	}
	// a was used after b: c, d, e and f, over the bound, push out b.
	for _, tag := range []string{`"c"`, `"d"`, `"e"`, `"f"`} {
		c.put(tag, []byte(strings.Repeat("c", 20)))
	}
	if _, ok := c.get(`"b"`); ok {
		t.Fatal("b, the least recently used, is still there")
	}
	if _, ok := c.get(`"a"`); !ok {
		t.Fatal("a went before b")
	}
	if c.size > c.max || len(c.byTag) != c.order.Len() {
		t.Fatalf("size %d of %d, %d tags, %d in order", c.size, c.max, len(c.byTag), c.order.Len())
	}
	var none *indexCache // no cache: nothing kept, nothing found
	none.put(`"a"`, []byte("a"))
	if _, ok := none.get(`"a"`); ok {
		t.Fatal("a nil cache found something")
	}
}
