// Package jsonobject writes the JSON object a registry serves for one
// version: the fields the registry sets, then the members of the object
// stored at publish (a package.json, a composer.json) that the registry
// does not set, each key once at every depth.
//
// Stored objects are copied as bytes, in their stored key order: a
// document of a thousand versions is not decoded into maps and encoded
// again. Every byte is still read once, to find where members end, to
// validate, and to find keys that repeat; a repeated key (at any depth) is
// written once, at its first position with its last value, which is what
// the tolerant readers that accepted such documents saw (JavaScript's and
// PHP's JSON.parse/json_decode, Go's encoding/json).
//
// What is written is always UTF-8 without an escaped lone surrogate
// (RFC 8259; PHP's json_decode refuses the whole document otherwise): a
// stored byte that is not UTF-8, and a \u escape of half a surrogate pair,
// are written as \ufffd, which is what encoding/json decodes them to.
//
// The cost is linear in the stored bytes whatever they hold: a first pass
// validates and finds whether a member can be copied as it is; a member
// that cannot (a repeated key or a bad string somewhere inside) is read a
// second time into a tree whose clean parts are spans of the input, and
// the tree is written once. Keys are compared with the few before them
// while an object is small, and through a hash table with a random seed
// when it is large, so no object costs keys² comparisons.
package jsonobject

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Field is one member the registry sets.
type Field struct {
	Key string
	// Value is written as it is: the caller's own encoding of one JSON
	// value (json.Marshal of a string, a struct…), never stored input.
	// Nil means the key is the registry's but left out here (a source the
	// caller may not see): neither it nor the stored member is written.
	Value []byte
}

// maxDepth is encoding/json's nesting limit (containers open at once):
// what it refuses is refused.
const maxDepth = 10000

// smallObject is the member count up to which repeated keys are found by
// comparing each key with the ones before it; larger objects use a hash
// table.
const smallObject = 16

// Error says where a value is not accepted and why.
type Error struct {
	Offset int // in the bytes given
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("jsonobject: offset %d: %s", e.Offset, e.Msg) }

// Merger merges objects, reusing its buffers from one call to the next
// (the versions of one document). The zero value is ready to use; a
// Merger is not safe for concurrent use.
type Merger struct {
	members []member
	keys    []keyEntry // keys of the objects open in a scan, innermost last
	keyBuf  []byte     // keys decoded because their bytes hold escapes
	tables  [][]int32  // hash tables of the large objects open, innermost last
	nTables int        // how many of tables are in use
	nodes   []node     // the tree of a value being cleaned
	seed    maphash.Seed
	seeded  bool
	// work counts bytes handed to a scan, keys compared or probed, and
	// nodes written: what the cost is made of (tests bound it by the
	// input's size).
	work int
}

// member is one member of the stored object.
type member struct {
	rawKey []byte // with its quotes
	key    []byte // decoded
	value  []byte
	last   int  // the member whose value is written here (the last with this key)
	clean  bool // the value can be copied as it is
	dup    bool // an earlier member has the same key
	badKey bool // the raw key is not UTF-8 or escapes a lone surrogate
}

// keyEntry is a key of an open object and what the caller tags it with
// (a member's or a node's index).
type keyEntry struct {
	key []byte
	tag int32
}

// Merge appends to dst one JSON object: fields in their order, then the
// members of stored (a JSON object; empty or null is {}) whose keys are not
// among the fields', in stored order. A key in both is written once, with
// the field's value. Stored members whose key is not in keep are left out
// when keep is not nil.
func (m *Merger) Merge(dst []byte, fields []Field, stored []byte, keep map[string]bool) ([]byte, error) {
	for i, f := range fields {
		for _, g := range fields[:i] {
			if f.Key == g.Key {
				return dst, fmt.Errorf("jsonobject: the registry sets %q twice", f.Key)
			}
		}
	}
	m.keyBuf = m.keyBuf[:0]
	members, err := m.scanObject(stored)
	if err != nil {
		return dst, err
	}
	dst = append(dst, '{')
	n := 0
	for _, f := range fields {
		if f.Value == nil {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = AppendString(dst, f.Key)
		dst = append(dst, ':')
		dst = append(dst, f.Value...)
	}
	for i := range members {
		mb := &members[i]
		if mb.dup || isField(fields, mb.key) || keep != nil && !keep[string(mb.key)] {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		if mb.badKey {
			dst = appendSanitized(dst, mb.rawKey)
		} else {
			dst = append(dst, mb.rawKey...)
		}
		dst = append(dst, ':')
		if last := &members[mb.last]; last.clean {
			dst = append(dst, last.value...)
		} else if dst, err = m.appendClean(dst, last.value, 1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// Merge is Merger.Merge with buffers of its own.
func Merge(dst []byte, fields []Field, stored []byte) ([]byte, error) {
	var m Merger
	return m.Merge(dst, fields, stored, nil)
}

// Clean appends value (any JSON value) with each key once at every depth
// (first position, last value) and its strings made UTF-8.
func Clean(dst, value []byte) ([]byte, error) {
	var m Merger
	s := m.scanner(value, maxDepth)
	s.ws()
	start := s.i
	clean, err := s.value(0)
	if err != nil {
		return dst, err
	}
	end := s.i
	if s.ws(); s.i != len(s.b) {
		return dst, s.errorf("data after the value")
	}
	if clean {
		return append(dst, value[start:end]...), nil
	}
	return m.appendClean(dst, value[start:end], 0)
}

// Check validates one JSON value and refuses what not every reader reads
// alike or at all: containers nested more than depth deep, a string that
// is not UTF-8, a \u escape of a lone UTF-16 surrogate (PHP's json_decode
// refuses the last two, encoding/json changes them). Repeated keys pass:
// they are every tolerant reader's, and Merge resolves them. The error is
// an *Error.
func Check(value []byte, depth int) error {
	var m Merger
	s := m.scanner(value, depth)
	s.strict = true
	s.ws()
	if _, err := s.value(0); err != nil {
		return err
	}
	if s.ws(); s.i != len(s.b) {
		return s.errorf("data after the value")
	}
	return nil
}

func isField(fields []Field, key []byte) bool {
	for _, f := range fields {
		if f.Key == string(key) {
			return true
		}
	}
	return false
}

// scanner starts a scan of b: no key of an earlier scan is open.
func (m *Merger) scanner(b []byte, depth int) scanner {
	m.keys, m.nTables = m.keys[:0], 0
	m.work += len(b)
	return scanner{b: b, m: m, maxDepth: depth}
}

// scanObject splits a stored object into its members, validating it. A
// repeated key is found at every member, so that each first member knows
// its last.
func (m *Merger) scanObject(b []byte) ([]member, error) {
	m.members = m.members[:0]
	s := m.scanner(b, maxDepth)
	s.ws()
	if s.i == len(b) {
		return nil, nil
	}
	if bytes.HasPrefix(b[s.i:], []byte("null")) {
		s.i += 4
		if s.ws(); s.i != len(b) {
			return nil, s.errorf("data after the value")
		}
		return nil, nil
	}
	if b[s.i] != '{' {
		return nil, s.errorf("the stored value is not an object")
	}
	s.i++
	ks := m.openKeys()
	first := true
	for {
		s.ws()
		if first && s.peek() == '}' {
			s.i++
			break
		}
		first = false
		kstart := s.i
		key, kc, err := s.key()
		if err != nil {
			return nil, err
		}
		rawKey := b[kstart:s.i]
		if s.ws(); s.peek() != ':' {
			return nil, s.errorf("':' expected")
		}
		s.i++
		s.ws()
		vstart := s.i
		clean, err := s.value(1)
		if err != nil {
			return nil, err
		}
		i := len(m.members)
		mb := member{rawKey: rawKey, key: key, value: b[vstart:s.i], last: i, clean: clean, badKey: kc == strBad}
		if f := m.seen(&ks, key, int32(i)); f >= 0 {
			mb.dup = true
			m.members[f].last = i
		}
		m.members = append(m.members, mb)
		s.ws()
		if c := s.peek(); c == ',' {
			s.i++
			continue
		} else if c == '}' {
			s.i++
			break
		}
		return nil, s.errorf("',' or '}' expected")
	}
	m.closeKeys(ks)
	if s.ws(); s.i != len(b) {
		return nil, s.errorf("data after the object")
	}
	return m.members, nil
}

// appendClean writes a valid JSON value that is not clean, nested in
// depth containers: it is read once more into m.nodes, and the tree is
// written.
func (m *Merger) appendClean(dst, value []byte, depth int) ([]byte, error) {
	if len(value) > math.MaxInt32 {
		return dst, fmt.Errorf("jsonobject: a value of %d bytes", len(value))
	}
	keys := len(m.keyBuf) // the stored object's keys stay readable
	defer func() { m.keyBuf = m.keyBuf[:keys] }()
	m.nodes = m.nodes[:0]
	s := m.scanner(value, maxDepth)
	s.build = true
	if _, err := s.value(depth); err != nil {
		return dst, err
	}
	return m.emit(dst, value, 0), nil
}

type scanner struct {
	b        []byte
	i        int
	m        *Merger
	maxDepth int
	build    bool // record the tree of the value in m.nodes
	strict   bool // a string that is not UTF-8 is an error (Check)
}

func (s *scanner) errorf(format string, args ...any) error {
	return &Error{Offset: s.i, Msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value skips one value, validating it, and reports whether it is clean:
// no key repeats at any depth and every string is UTF-8 without a lone
// surrogate. depth is the number of containers around it. Building, it
// appends the value's tree to m.nodes; a clean value is one span node.
func (s *scanner) value(depth int) (bool, error) {
	start := s.i
	switch c := s.peek(); {
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		sc, err := s.str()
		if err != nil {
			return false, err
		}
		if s.build {
			kind := spanNode
			if sc == strBad {
				kind = strNode
			}
			s.m.push(kind, start, s.i)
		}
		return sc != strBad, nil
	case c == 't':
		if err := s.literal("true"); err != nil {
			return false, err
		}
	case c == 'f':
		if err := s.literal("false"); err != nil {
			return false, err
		}
	case c == 'n':
		if err := s.literal("null"); err != nil {
			return false, err
		}
	case c == '-' || c >= '0' && c <= '9':
		if err := s.number(); err != nil {
			return false, err
		}
	default:
		return false, s.errorf("a value expected")
	}
	if s.build {
		s.m.push(spanNode, start, s.i)
	}
	return true, nil
}

// object skips an object, finding the keys that repeat in it.
func (s *scanner) object(depth int) (bool, error) {
	if depth > s.maxDepth {
		return false, s.errorf("nested more than %d deep", s.maxDepth)
	}
	m := s.m
	start, n0 := s.i, len(m.nodes)
	if s.build {
		m.push(objectNode, start, start)
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		s.collapse(n0, start)
		return true, nil
	}
	ks := m.openKeys()
	clean := true
	for {
		s.ws()
		kstart := s.i
		key, kc, err := s.key()
		if err != nil {
			return false, err
		}
		if kc == strBad {
			clean = false
		}
		if s.build {
			tag := int32(len(m.nodes))
			m.nodes = append(m.nodes, node{kind: keyNode, start: int32(kstart), end: int32(s.i), next: tag + 1, value: tag, bad: kc == strBad})
			if f := m.seen(&ks, key, tag); f >= 0 {
				clean = false
				m.nodes[tag].dup = true
				m.nodes[f].value = tag // first position, last value
			}
		} else if clean && m.seen(&ks, key, 0) >= 0 {
			clean = false // whether it repeats is all a first pass needs
		}
		if s.ws(); s.peek() != ':' {
			return false, s.errorf("':' expected")
		}
		s.i++
		s.ws()
		ok, err := s.value(depth)
		if err != nil {
			return false, err
		}
		clean = clean && ok
		s.ws()
		if c := s.peek(); c == ',' {
			s.i++
			continue
		} else if c == '}' {
			s.i++
			break
		}
		return false, s.errorf("',' or '}' expected")
	}
	m.closeKeys(ks)
	if clean {
		s.collapse(n0, start)
	} else if s.build {
		m.nodes[n0].next = int32(len(m.nodes))
	}
	return clean, nil
}

// array skips an array. Building, a run of clean elements is one span
// node, so that a long clean array costs one node.
func (s *scanner) array(depth int) (bool, error) {
	if depth > s.maxDepth {
		return false, s.errorf("nested more than %d deep", s.maxDepth)
	}
	m := s.m
	start, n0 := s.i, len(m.nodes)
	if s.build {
		m.push(arrayNode, start, start)
	}
	s.i++
	s.ws()
	if s.peek() == ']' {
		s.i++
		s.collapse(n0, start)
		return true, nil
	}
	clean := true
	run := -1 // the span node of the clean elements just before
	for {
		s.ws()
		at := len(m.nodes)
		ok, err := s.value(depth)
		if err != nil {
			return false, err
		}
		clean = clean && ok
		if s.build {
			switch {
			case !ok:
				run = -1
			case run >= 0:
				m.nodes[run].end = m.nodes[at].end
				m.nodes = m.nodes[:at]
			default:
				run = at
			}
		}
		s.ws()
		if c := s.peek(); c == ',' {
			s.i++
			continue
		} else if c == ']' {
			s.i++
			break
		}
		return false, s.errorf("',' or ']' expected")
	}
	if clean {
		s.collapse(n0, start)
	} else if s.build {
		m.nodes[n0].next = int32(len(m.nodes))
	}
	return clean, nil
}

// collapse replaces, when building, the tree of a clean container that
// started at start (node n0) with one span node.
func (s *scanner) collapse(n0, start int) {
	if s.build {
		s.m.nodes = s.m.nodes[:n0]
		s.m.push(spanNode, start, s.i)
	}
}

// The tree of a value that is not clean.
type nodeKind uint8

const (
	spanNode   nodeKind = iota // bytes copied as they are
	strNode                    // a string written through appendSanitized
	objectNode                 // its members follow: a key node, then the value's tree
	arrayNode                  // its elements' trees follow
	keyNode                    // a member's key, its value's tree just after
)

type node struct {
	start, end int32 // the bytes of a span, a string or a key
	next       int32 // the node after this one's tree
	value      int32 // key nodes: the key node whose value is written here
	kind       nodeKind
	dup        bool // key nodes: an earlier member has this key
	bad        bool // key nodes: written through appendSanitized
}

func (m *Merger) push(kind nodeKind, start, end int) {
	n := int32(len(m.nodes))
	m.nodes = append(m.nodes, node{kind: kind, start: int32(start), end: int32(end), next: n + 1})
}

// emit writes node i's tree; each node is visited once (a member's value
// is written at most once: at its key's first position, or not at all).
func (m *Merger) emit(dst, b []byte, i int32) []byte {
	m.work++
	n := &m.nodes[i]
	switch n.kind {
	case spanNode:
		return append(dst, b[n.start:n.end]...)
	case strNode:
		return appendSanitized(dst, b[n.start:n.end])
	case arrayNode:
		dst = append(dst, '[')
		for j := i + 1; j < n.next; j = m.nodes[j].next {
			if j > i+1 {
				dst = append(dst, ',')
			}
			dst = m.emit(dst, b, j)
		}
		return append(dst, ']')
	default: // objectNode: key nodes are written by their object
		dst = append(dst, '{')
		written := 0
		for j := i + 1; j < n.next; j = m.nodes[j+1].next {
			k := &m.nodes[j]
			if k.dup {
				continue
			}
			if written > 0 {
				dst = append(dst, ',')
			}
			written++
			if k.bad {
				dst = appendSanitized(dst, b[k.start:k.end])
			} else {
				dst = append(dst, b[k.start:k.end]...)
			}
			dst = append(dst, ':')
			dst = m.emit(dst, b, k.value+1)
		}
		return append(dst, '}')
	}
}

// keySet is the keys of one open object: m.keys[base:], and while the
// object is large, the hash table m.tables[table].
type keySet struct {
	base  int
	table int // -1 while small
}

func (m *Merger) openKeys() keySet { return keySet{base: len(m.keys), table: -1} }

func (m *Merger) closeKeys(ks keySet) {
	m.keys = m.keys[:ks.base]
	if ks.table >= 0 {
		m.nTables--
	}
}

// seen records key with its tag and returns the tag of an equal key the
// object had already, or -1.
func (m *Merger) seen(ks *keySet, key []byte, tag int32) int32 {
	if ks.table < 0 {
		for _, e := range m.keys[ks.base:] {
			m.work++
			if bytes.Equal(e.key, key) {
				return e.tag
			}
		}
		m.keys = append(m.keys, keyEntry{key: key, tag: tag})
		if len(m.keys)-ks.base > smallObject {
			if !m.seeded {
				m.seed, m.seeded = maphash.MakeSeed(), true
			}
			ks.table = m.nTables
			m.nTables++
			if len(m.tables) < m.nTables {
				m.tables = append(m.tables, nil)
			}
			m.rehash(ks, 4*smallObject)
		}
		return -1
	}
	t := m.tables[ks.table]
	mask := uint64(len(t) - 1)
	p := maphash.Bytes(m.seed, key) & mask
	for ; t[p] != 0; p = (p + 1) & mask {
		m.work++
		if e := m.keys[t[p]-1]; bytes.Equal(e.key, key) {
			return e.tag
		}
	}
	m.keys = append(m.keys, keyEntry{key: key, tag: tag})
	t[p] = int32(len(m.keys))
	if n := len(m.keys) - ks.base; 2*n > len(t) {
		m.rehash(ks, 4*n)
	}
	return -1
}

// rehash sizes the object's table for its keys (size a power of two, at
// least twice their number) and enters them. Only the part in use is
// cleared: the cost follows this object, not the largest one before it.
func (m *Merger) rehash(ks *keySet, size int) {
	size = 1 << (64 - bits.LeadingZeros64(uint64(size-1)))
	t := m.tables[ks.table]
	if cap(t) < size {
		t = make([]int32, size)
	} else {
		t = t[:size]
		clear(t)
	}
	m.tables[ks.table] = t
	mask := uint64(size - 1)
	for i := ks.base; i < len(m.keys); i++ {
		p := maphash.Bytes(m.seed, m.keys[i].key) & mask
		for t[p] != 0 {
			m.work++
			p = (p + 1) & mask
		}
		t[p] = int32(i + 1)
	}
}

// Classes of strings.
const (
	strPlain   = iota // no escape, UTF-8: its bytes are its value
	strEscaped        // escapes, UTF-8, no lone surrogate
	strBad            // a byte that is not UTF-8, or a lone surrogate
)

// key reads a string and returns its decoded value: the raw bytes when
// they hold no escape (no copy), else what encoding/json decodes them to
// (in m.keyBuf), so that keys compare as every strict reader compares
// them.
func (s *scanner) key() ([]byte, int, error) {
	if s.peek() != '"' {
		return nil, 0, s.errorf("a string key expected")
	}
	start := s.i
	sc, err := s.str()
	if err != nil {
		return nil, 0, err
	}
	raw := s.b[start:s.i]
	if sc == strPlain {
		return raw[1 : len(raw)-1], sc, nil
	}
	m := s.m
	n := len(m.keyBuf)
	m.keyBuf = unquote(m.keyBuf, raw)
	return m.keyBuf[n:len(m.keyBuf):len(m.keyBuf)], sc, nil
}

// str skips a string and classifies it.
func (s *scanner) str() (int, error) {
	b, i := s.b, s.i+1 // after the opening quote
	sc := strPlain
	for i < len(b) {
		c := b[i]
		if stringByte[c] == plainByte {
			i++
			continue
		}
		switch stringByte[c] {
		case quoteByte:
			s.i = i + 1
			return sc, nil
		case escapeByte:
			sc = max(sc, strEscaped)
			if i+1 == len(b) {
				s.i = i + 1
				return 0, s.errorf("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				_, n, lone, ok := escapeU(b, i)
				if !ok {
					s.i = i + 1
					return 0, s.errorf("bad \\u escape")
				}
				if lone {
					if s.strict {
						s.i = i
						return 0, s.errorf("%s escapes half of a UTF-16 surrogate pair", b[i:i+6])
					}
					sc = strBad
				}
				i += n
			default:
				s.i = i + 1
				return 0, s.errorf("bad escape")
			}
		case controlByte:
			s.i = i
			return 0, s.errorf("control character in a string")
		default: // beyond ASCII
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				if s.strict {
					s.i = i
					return 0, s.errorf("a string is not UTF-8 (byte 0x%02x)", c)
				}
				sc = strBad
			}
			i += n
		}
	}
	s.i = i
	return 0, s.errorf("unterminated string")
}

// escapeU reads the \u escape at b[i:]: its code point, its length (12
// for a surrogate pair), whether it is a lone surrogate (its code point
// is then U+FFFD, as encoding/json decodes it; the escape after it is one
// of its own) and whether its hex digits are there.
func escapeU(b []byte, i int) (r rune, n int, lone, ok bool) {
	r, ok = hex4(b, i+2)
	if !ok {
		return 0, 0, false, false
	}
	if !utf16.IsSurrogate(r) {
		return r, 6, false, true
	}
	if i+8 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
		if r2, ok := hex4(b, i+8); ok {
			if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
				return pair, 12, false, true
			}
		}
	}
	return utf8.RuneError, 6, true, true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unquote appends the value of a valid JSON string (raw, with its
// quotes) as encoding/json decodes it: a byte that is not UTF-8 and a lone
// surrogate become U+FFFD.
func unquote(dst, raw []byte) []byte {
	for i := 1; i < len(raw)-1; {
		switch c := raw[i]; {
		case c == '\\':
			switch e := raw[i+1]; e {
			case 'u':
				r, n, _, _ := escapeU(raw, i)
				dst = utf8.AppendRune(dst, r)
				i += n
				continue
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			default: // " \ /
				dst = append(dst, e)
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, raw[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

// appendSanitized appends a valid JSON string (raw, with its quotes) with
// each byte that is not UTF-8 and each escaped lone surrogate written as
// \ufffd; the rest as it is.
func appendSanitized(dst, raw []byte) []byte {
	done := 0
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '\\':
			if raw[i+1] != 'u' {
				i += 2
				continue
			}
			_, n, lone, _ := escapeU(raw, i)
			if lone {
				dst = append(append(dst, raw[done:i]...), `\ufffd`...)
				done = i + n
			}
			i += n
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(append(dst, raw[done:i]...), `\ufffd`...)
				done = i + 1
			}
			i += n
		}
	}
	return append(dst, raw[done:]...)
}

// What a byte is inside a string.
const (
	plainByte = iota
	quoteByte
	escapeByte
	controlByte
	highByte
)

var stringByte = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case c == '"':
			t[c] = quoteByte
		case c == '\\':
			t[c] = escapeByte
		case c < 0x20:
			t[c] = controlByte
		case c >= 0x80:
			t[c] = highByte
		}
	}
	return t
}()

func (s *scanner) literal(word string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return s.errorf("a value expected")
	}
	s.i += len(word)
	return nil
}

// number skips a number of JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	if s.peek() == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for c := s.peek(); c >= '0' && c <= '9'; c = s.peek() {
			s.i++
			n++
		}
		return n
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		digits()
	default:
		return s.errorf("bad number")
	}
	if s.peek() == '.' {
		s.i++
		if digits() == 0 {
			return s.errorf("bad number")
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if digits() == 0 {
			return s.errorf("bad number")
		}
	}
	return nil
}

// AppendString appends s as a JSON string, as encoding/json writes it.
// Names, versions, digests and URLs are plain ASCII and skip the encoder.
func AppendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
