// Package lru is a cache bounded in bytes that forgets the least recently
// used entry first. The package indexes keep generated documents in it
// under keys that name one content for good (an ETag, a digest), so an
// entry is never stale, only unused.
package lru

import (
	"container/list"
	"sync"
)

// Cache holds values under string keys, up to a total size. A nil *Cache
// keeps nothing and finds nothing. Safe for concurrent use.
type Cache[V any] struct {
	mu     sync.Mutex
	max    int64
	size   int64
	sizeOf func(V) int64
	order  *list.List // front: most recently used
	byKey  map[string]*list.Element
}

type entry[V any] struct {
	key  string
	val  V
	size int64
}

// New returns a cache of at most maxBytes, where sizeOf tells a value's
// size.
func New[V any](maxBytes int64, sizeOf func(V) int64) *Cache[V] {
	return &Cache[V]{max: maxBytes, sizeOf: sizeOf, order: list.New(), byKey: map[string]*list.Element{}}
}

// Get returns the value stored under key; callers must not change it.
func (c *Cache[V]) Get(key string) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*entry[V]).val, true
}

// Put stores v under key, unless a value is there already (a key names
// one content). A value larger than a quarter of the cache is not kept:
// it would push out everything else.
func (c *Cache[V]) Put(key string, v V) {
	if c == nil {
		return
	}
	size := c.sizeOf(v)
	if size > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return
	}
	c.byKey[key] = c.order.PushFront(&entry[V]{key: key, val: v, size: size})
	c.size += size
	for c.size > c.max {
		last := c.order.Back()
		e := last.Value.(*entry[V])
		c.order.Remove(last)
		delete(c.byKey, e.key)
		c.size -= e.size
	}
}

// Size is how many values the cache holds and their total size.
func (c *Cache[V]) Size() (n int, bytes int64) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey), c.size
}
