package cargo

import (
	"container/list"
	"sync"
)

// DefaultIndexCacheBytes bounds the index files a process keeps in memory.
const DefaultIndexCacheBytes = 32 << 20

// indexCache keeps recently served index files by their ETag. An ETag
// names one content of one crate's file for good (it is derived from the
// crate's change serial, which every change moves and every request reads
// from the database), so an entry is never stale, only unused: several
// processes may each keep one. It is bounded in bytes and forgets the
// least recently used file first.
type indexCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // front: most recently used
	byTag map[string]*list.Element
}

type cachedFile struct {
	etag string
	body []byte
}

func newIndexCache(maxBytes int64) *indexCache {
	return &indexCache{max: maxBytes, order: list.New(), byTag: map[string]*list.Element{}}
}

// get returns the body stored under etag; callers must not change it.
func (c *indexCache) get(etag string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byTag[etag]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cachedFile).body, true
}

// put stores body under etag; a file larger than a quarter of the cache
// is not kept (it would push out everything else).
func (c *indexCache) put(etag string, body []byte) {
	if c == nil || int64(len(body)) > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byTag[etag]; ok {
		return
	}
	c.byTag[etag] = c.order.PushFront(&cachedFile{etag: etag, body: body})
	c.size += int64(len(body))
	for c.size > c.max {
		last := c.order.Back()
		f := last.Value.(*cachedFile)
		c.order.Remove(last)
		delete(c.byTag, f.etag)
		c.size -= int64(len(f.body))
	}
}
