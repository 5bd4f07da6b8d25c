// Package doccache keeps encoded package documents in memory (npm
// packuments, Composer p2 and packages.json, the Cargo index, RubyGems'
// compact index), each with a gzip copy made once, in one cache bounded
// in bytes for every format ([cache] PACKAGE_DOCUMENTS_MEMORY).
//
// A key names one content for good: it carries the change stamp the
// database keeps for what the document shows (a package's stamp, an
// owner's serial) and everything about the caller the document depends
// on. An entry is therefore never stale, only unused; the current key is
// read from the database on every request, so several processes sharing
// a database serve the same state.
package doccache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/klauspost/compress/gzip"

	"wharf/modules/lru"
)

// Document is one encoded document. Callers must not change it.
type Document struct {
	Body []byte
	// Gzip is Body gzip-compressed (always made, even where it does not
	// pay, so that a request accepting gzip always gets the same
	// representation, with its own ETag, whether or not it was built).
	Gzip []byte
	// ETag is quoted; the gzip copy is sent as GzipETag(ETag).
	ETag string
	// Modified is zero when the document has no Last-Modified.
	Modified time.Time
	// Meta is what the format keeps beside the body (e.g. the source
	// repositories a Composer document names), counted as MetaSize bytes.
	Meta any
	// MetaSize is the format's estimate of the memory Meta holds (a map
	// of a package's creators grows with them): the bound counts it.
	MetaSize int64

	// pending is the cache a document built by Cache.Build goes into when
	// Keep is called, under key; nil once kept.
	pending *Cache
	key     string
}

// gzipLevel: level 1 (klauspost's fastest with Huffman and matching)
// compresses a 1,000-version packument in a few milliseconds, far less
// than building it, and still shrinks JSON about tenfold.
const gzipLevel = gzip.BestSpeed

// New makes a document of body, compressing it once.
func New(body []byte, etag string, modified time.Time) *Document {
	d := &Document{Body: body, ETag: etag, Modified: modified}
	d.compress()
	return d
}

func (d *Document) compress() {
	body := d.Body
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 64)
	zw, _ := gzip.NewWriterLevel(&buf, gzipLevel) // the level is valid
	_, _ = zw.Write(body)                         // a bytes.Buffer does not fail
	_ = zw.Close()
	d.Gzip = buf.Bytes()
}

// Build makes a document of body that goes into the cache under key when
// Keep is called: the request that built it sends the identity bytes
// first and compresses afterwards (Keep), so that a cold build costs its
// client no compression. Without a cache, Keep does nothing and the
// document has no gzip copy.
func (c *Cache) Build(key string, body []byte, etag string, modified time.Time) *Document {
	return &Document{Body: body, ETag: etag, Modified: modified, pending: c, key: key}
}

// Pending reports whether d was built and is not kept yet (Build).
func (d *Document) Pending() bool { return d.pending != nil }

// Keep compresses a document made by Build and stores it in its cache.
// It is for the request that built it, once: the document is shared from
// then on.
func (d *Document) Keep() {
	c := d.pending
	if c == nil {
		return
	}
	d.pending = nil
	if !c.fits(int64(len(d.Body)) + entryOverhead) {
		return // not kept whatever its gzip copy: no compressing for nothing
	}
	d.compress()
	c.Put(d.key, d)
}

// ETag is the strong validator of the content a key names: known before
// the document is built, so a revalidation is answered without building.
func ETag(key string) string {
	sum := sha256.Sum256([]byte(key))
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// GzipETag is the validator of the gzip copy of a document whose ETag is
// etag: another representation, so another (strong) validator.
func GzipETag(etag string) string {
	if len(etag) < 2 {
		return etag
	}
	return etag[:len(etag)-1] + `-gzip"`
}

// Cache holds documents up to a total size, least recently used out
// first. A nil *Cache keeps nothing. Safe for concurrent use.
type Cache struct {
	lru *lru.Cache[*Document]
	max int64
}

// NewCache returns a cache of at most maxBytes; nil (no cache) when
// maxBytes is 0 or negative.
func NewCache(maxBytes int64) *Cache {
	if maxBytes <= 0 {
		return nil
	}
	return &Cache{lru: lru.New(maxBytes, sizeOf), max: maxBytes}
}

// fits reports whether a document of size may be kept (lru keeps
// nothing over a quarter of the bound).
func (c *Cache) fits(size int64) bool { return size <= c.max/4 }

// entryOverhead is a rough count of what an entry costs besides its
// bodies: the key (callers keep keys short, hashing long variants), the
// struct, the list element and the map slot.
const entryOverhead = 384

func sizeOf(d *Document) int64 {
	return int64(len(d.Body)+len(d.Gzip)) + d.MetaSize + entryOverhead
}

// Get returns the document stored under key.
func (c *Cache) Get(key string) (*Document, bool) {
	if c == nil {
		return nil, false
	}
	return c.lru.Get(key)
}

// Put stores d under key, unless a document is there already (a key names
// one content). A document over a quarter of the bound is not kept.
func (c *Cache) Put(key string, d *Document) {
	if c == nil {
		return
	}
	c.lru.Put(key, d)
}

// Size is how many documents the cache holds and the bytes they count
// for (bodies, gzip copies, keys and bookkeeping).
func (c *Cache) Size() (n int, bytes int64) {
	if c == nil {
		return 0, 0
	}
	return c.lru.Size()
}
