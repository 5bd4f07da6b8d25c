package rubygems

import (
	"container/list"
	"sync"
)

// DefaultCacheBytes bounds the documents a process keeps in memory.
const DefaultCacheBytes = 64 << 20

// docCache keeps recently served documents (versions files, info bodies,
// names and the Marshal indexes) under keys that name one content for
// good: an info body's MD5, or the versions file's MD5 for what derives
// from the whole index (every change appends to the versions file, so
// its MD5 moves with every change). An entry is never stale, only unused,
// so several processes may each keep one; the database is read on every
// request for the current key. Bounded in bytes, least recently used
// first out.
type docCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // front: most recently used
	byKey map[string]*list.Element
}

type cachedDoc struct {
	key string
	doc *Document
}

func newDocCache(maxBytes int64) *docCache {
	return &docCache{max: maxBytes, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns the document stored under key; callers must not change it.
func (c *docCache) get(key string) (*Document, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cachedDoc).doc, true
}

// put stores d under key; a document larger than a quarter of the cache
// is not kept (it would push out everything else).
func (c *docCache) put(key string, d *Document) {
	if c == nil || int64(len(d.Body)) > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return
	}
	c.byKey[key] = c.order.PushFront(&cachedDoc{key: key, doc: d})
	c.size += int64(len(d.Body))
	for c.size > c.max {
		last := c.order.Back()
		cd := last.Value.(*cachedDoc)
		c.order.Remove(last)
		delete(c.byKey, cd.key)
		c.size -= int64(len(cd.doc.Body))
	}
}
