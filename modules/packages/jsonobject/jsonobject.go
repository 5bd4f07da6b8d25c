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
package jsonobject

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// maxDepth is encoding/json's nesting limit: what it refuses is refused.
const maxDepth = 10000

// smallObject is the member count up to which repeated keys are found by
// comparing each key with the ones before it; larger objects use a set.
const smallObject = 16

// Merger merges objects, reusing its buffers from one call to the next
// (the versions of one document). The zero value is ready to use; a
// Merger is not safe for concurrent use.
type Merger struct {
	members []member
	keys    [][]byte // decoded keys of the objects being scanned, innermost last
	anyDup  bool     // a key of the stored object repeats
}

// member is one member of the stored object: its raw key (with quotes),
// decoded key, and raw value.
type member struct {
	rawKey []byte
	key    []byte
	value  []byte
	clean  bool // the value holds no repeated key at any depth
	dup    bool // an earlier member has the same key
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
		dst = append(dst, mb.rawKey...)
		dst = append(dst, ':')
		last := mb
		if m.anyDup {
			last = lastOf(members, i)
		}
		if last.clean {
			dst = append(dst, last.value...)
		} else if dst, err = appendClean(dst, last.value); err != nil {
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

// Clean appends value (any JSON value) with each key once at every depth:
// first position, last value.
func Clean(dst, value []byte) ([]byte, error) {
	var m Merger
	s := scanner{b: value, m: &m}
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
	return appendClean(dst, value[start:end])
}

func isField(fields []Field, key []byte) bool {
	for _, f := range fields {
		if f.Key == string(key) {
			return true
		}
	}
	return false
}

// lastOf is the last member with members[i]'s key.
func lastOf(members []member, i int) *member {
	last := &members[i]
	for j := i + 1; j < len(members); j++ {
		if members[j].dup && bytes.Equal(members[j].key, last.key) {
			last = &members[j]
		}
	}
	return last
}

// scanObject splits a stored object into its members, validating it.
func (m *Merger) scanObject(b []byte) ([]member, error) {
	m.members, m.anyDup = m.members[:0], false
	s := scanner{b: b, m: m}
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
	ks := keySet{base: len(m.keys)}
	defer func() { m.keys = m.keys[:ks.base] }()
	first := true
	for {
		s.ws()
		if first && s.peek() == '}' {
			s.i++
			break
		}
		first = false
		kstart := s.i
		key, err := s.key()
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
		mb := member{rawKey: rawKey, key: key, value: b[vstart:s.i], clean: clean, dup: s.seen(&ks, key)}
		m.anyDup = m.anyDup || mb.dup
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
	if s.ws(); s.i != len(b) {
		return nil, s.errorf("data after the object")
	}
	return m.members, nil
}

// appendClean writes a valid JSON value with each key once: a repeated
// key keeps its first position and takes its last value. It is the slow
// path, for values a scan found a repeated key in.
func appendClean(dst, value []byte) ([]byte, error) {
	var m Merger
	s := scanner{b: value, m: &m}
	return s.appendClean(dst)
}

type scanner struct {
	b []byte
	i int
	m *Merger
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("jsonobject: offset %d: %s", s.i, fmt.Sprintf(format, args...))
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

// value skips one value, validating it, and reports whether it holds no
// repeated key at any depth.
func (s *scanner) value(depth int) (bool, error) {
	if depth > maxDepth {
		return false, s.errorf("nested more than %d deep", maxDepth)
	}
	switch c := s.peek(); {
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		s.i++
		s.ws()
		if s.peek() == ']' {
			s.i++
			return true, nil
		}
		clean := true
		for {
			s.ws()
			ok, err := s.value(depth + 1)
			if err != nil {
				return false, err
			}
			clean = clean && ok
			s.ws()
			if c := s.peek(); c == ',' {
				s.i++
				continue
			} else if c == ']' {
				s.i++
				return clean, nil
			}
			return false, s.errorf("',' or ']' expected")
		}
	case c == '"':
		_, err := s.str()
		return true, err
	case c == 't':
		return true, s.literal("true")
	case c == 'f':
		return true, s.literal("false")
	case c == 'n':
		return true, s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return true, s.number()
	}
	return false, s.errorf("a value expected")
}

// object skips an object, comparing each key with the others of the same
// object.
func (s *scanner) object(depth int) (bool, error) {
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		return true, nil
	}
	ks := keySet{base: len(s.m.keys)}
	defer func() { s.m.keys = s.m.keys[:ks.base] }()
	clean := true
	for {
		s.ws()
		key, err := s.key()
		if err != nil {
			return false, err
		}
		if clean && s.seen(&ks, key) {
			clean = false // the rest of this object need not be compared
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
			return clean, nil
		}
		return false, s.errorf("',' or '}' expected")
	}
}

// keySet finds the keys of one object that repeat: by comparing each
// with the ones before it while the object is small, with a set after.
type keySet struct {
	base int // where the object's keys start in Merger.keys
	set  map[string]struct{}
}

// seen records key and reports whether the object had it already.
func (s *scanner) seen(ks *keySet, key []byte) bool {
	if ks.set != nil {
		if _, ok := ks.set[string(key)]; ok {
			return true
		}
		ks.set[string(key)] = struct{}{}
		return false
	}
	for _, k := range s.m.keys[ks.base:] {
		if bytes.Equal(k, key) {
			return true
		}
	}
	s.m.keys = append(s.m.keys, key)
	if len(s.m.keys)-ks.base > smallObject {
		ks.set = make(map[string]struct{}, 4*smallObject)
		for _, k := range s.m.keys[ks.base:] {
			ks.set[string(k)] = struct{}{}
		}
	}
	return false
}

// key reads a string and returns its decoded value: the raw bytes when
// they are plain ASCII without escapes (no copy), else what encoding/json
// decodes them to, so that keys compare as every strict reader compares
// them.
func (s *scanner) key() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.errorf("a string key expected")
	}
	start := s.i
	plain, err := s.str()
	if err != nil {
		return nil, err
	}
	raw := s.b[start:s.i]
	if plain {
		return raw[1 : len(raw)-1], nil
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, s.errorf("key: %v", err)
	}
	return []byte(k), nil
}

// str skips a string; plain is true when it has no escape and no byte
// outside ASCII.
func (s *scanner) str() (plain bool, err error) {
	b, i := s.b, s.i+1 // after the opening quote
	plain = true
	for i < len(b) {
		c := b[i]
		if stringByte[c] == plainByte {
			i++
			continue
		}
		switch stringByte[c] {
		case quoteByte:
			s.i = i + 1
			return plain, nil
		case escapeByte:
			plain = false
			i++
			if i == len(b) {
				s.i = i
				return false, s.errorf("unterminated string")
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 > len(b) {
					s.i = i
					return false, s.errorf("short \\u escape")
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						s.i = i
						return false, s.errorf("bad \\u escape")
					}
				}
				i += 5
			default:
				s.i = i
				return false, s.errorf("bad escape")
			}
		case controlByte:
			s.i = i
			return false, s.errorf("control character in a string")
		default: // beyond ASCII
			plain = false
			i++
		}
	}
	s.i = i
	return false, s.errorf("unterminated string")
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

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

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

// appendClean writes the value at s.i (already validated) with each key
// once, recursively.
func (s *scanner) appendClean(dst []byte) ([]byte, error) {
	s.ws()
	switch s.peek() {
	case '{':
		type entry struct {
			rawKey, key []byte
			value       []byte
		}
		var entries []entry
		s.i++
		s.ws()
		if s.peek() == '}' {
			s.i++
			return append(dst, '{', '}'), nil
		}
		for {
			s.ws()
			kstart := s.i
			key, err := s.key()
			if err != nil {
				return dst, err
			}
			rawKey := s.b[kstart:s.i]
			s.ws()
			s.i++ // ':'
			s.ws()
			vstart := s.i
			if _, err := s.value(1); err != nil {
				return dst, err
			}
			e := entry{rawKey: rawKey, key: key, value: s.b[vstart:s.i]}
			replaced := false
			for j := range entries {
				if bytes.Equal(entries[j].key, key) {
					entries[j].value = e.value // first position, last value
					replaced = true
					break
				}
			}
			if !replaced {
				entries = append(entries, e)
			}
			s.ws()
			c := s.peek()
			s.i++
			if c == '}' {
				break
			}
		}
		dst = append(dst, '{')
		for j, e := range entries {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, e.rawKey...)
			dst = append(dst, ':')
			var err error
			sub := scanner{b: e.value, m: s.m}
			if dst, err = sub.appendClean(dst); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case '[':
		s.i++
		s.ws()
		dst = append(dst, '[')
		if s.peek() == ']' {
			s.i++
			return append(dst, ']'), nil
		}
		for n := 0; ; n++ {
			if n > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = s.appendClean(dst); err != nil {
				return dst, err
			}
			s.ws()
			c := s.peek()
			s.i++
			if c == ']' {
				return append(dst, ']'), nil
			}
		}
	default:
		start := s.i
		if _, err := s.value(1); err != nil {
			return dst, err
		}
		return append(dst, s.b[start:s.i]...), nil
	}
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
