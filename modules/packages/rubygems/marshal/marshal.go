// Package marshal writes Ruby's Marshal format 4.8, the subset RubyGems'
// indexes are made of: nil, true, false, Integers, Symbols, Strings with
// their encoding, Arrays, Hashes, plain objects ('o'), objects with
// marshal_dump ('U') and _dump ('u'), UTC Times, and links to an object
// written before ('@').
//
// Ruby has no other writer and Go has no well-kept one, so this one follows
// marshal.c (Ruby 3.1) and is tested byte for byte against Ruby's own
// Marshal.dump: the same structure must give the same bytes, symbol table
// and object numbering included, because RubyGems' readers (Marshal.load
// and, since RubyGems 3.4, Gem::SafeMarshal) resolve links by those numbers.
package marshal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A Value is one Ruby object to dump. The concrete types below are the only
// implementations.
type Value interface {
	// write dumps the value and returns the number Ruby gave it in the
	// stream's object table, or -1 for immediates (nil, true, false,
	// Fixnums, Symbols), which are never remembered.
	write(e *encoder) (int, error)
}

// Nil is Ruby's nil.
var Nil Value = nilValue{}

type nilValue struct{}

func (nilValue) write(e *encoder) (int, error) {
	e.byte('0')
	return -1, nil
}

// Bool is true or false.
type Bool bool

func (b Bool) write(e *encoder) (int, error) {
	if b {
		e.byte('T')
	} else {
		e.byte('F')
	}
	return -1, nil
}

// Int is an Integer. Ruby writes those in [-2^30, 2^30) as a Fixnum ('i')
// and the others as a Bignum ('l'), which, unlike a Fixnum, takes a number
// in the object table.
type Int int64

const (
	fixnumMin = -1 << 30
	fixnumMax = 1<<30 - 1
)

func (n Int) write(e *encoder) (int, error) {
	if n >= fixnumMin && n <= fixnumMax {
		e.byte('i')
		e.long(int64(n))
		return -1, nil
	}
	idx := e.remember()
	e.byte('l')
	mag := uint64(n)
	if n < 0 {
		e.byte('-')
		mag = -mag // two's complement: also right for math.MinInt64
	} else {
		e.byte('+')
	}
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], mag)
	nbytes := 8
	for nbytes > 0 && buf[nbytes-1] == 0 {
		nbytes--
	}
	shorts := (nbytes + 1) / 2
	e.long(int64(shorts))
	e.buf = append(e.buf, buf[:shorts*2]...)
	return idx, nil
}

// Symbol is a Ruby Symbol of ASCII characters. The first occurrence in a
// stream is written out and numbered; later ones refer to that number.
type Symbol string

func (s Symbol) write(e *encoder) (int, error) {
	if err := e.symbol(string(s)); err != nil {
		return -1, err
	}
	return -1, nil
}

// Encoding is a String's encoding as Marshal records it.
type Encoding int

const (
	// UTF8 strings carry the ivar E=true, as every String read from a
	// gemspec's YAML does.
	UTF8 Encoding = iota
	// USASCII strings carry E=false (Time's zone is one).
	USASCII
	// Binary (ASCII-8BIT) strings carry no encoding ivar at all.
	Binary
)

// String is a Ruby String.
type String struct {
	S   string
	Enc Encoding
}

// Str is a UTF-8 String, the common case.
func Str(s string) String { return String{S: s} }

func (s String) write(e *encoder) (int, error) {
	idx := e.remember()
	if s.Enc != Binary {
		e.byte('I')
	}
	e.byte('"')
	e.bytes(s.S)
	if s.Enc != Binary {
		e.long(1)
		if err := e.symbol("E"); err != nil {
			return -1, err
		}
		if _, err := Bool(s.Enc == UTF8).write(e); err != nil {
			return -1, err
		}
	}
	return idx, nil
}

// Array is a Ruby Array.
type Array []Value

func (a Array) write(e *encoder) (int, error) {
	idx := e.remember()
	e.byte('[')
	e.long(int64(len(a)))
	for _, v := range a {
		if err := e.value(v); err != nil {
			return -1, err
		}
	}
	return idx, nil
}

// Pair is one entry of a Hash.
type Pair struct{ Key, Value Value }

// Hash is a Ruby Hash without a default value; Ruby keeps insertion order,
// and so does this slice.
type Hash []Pair

func (h Hash) write(e *encoder) (int, error) {
	idx := e.remember()
	e.byte('{')
	e.long(int64(len(h)))
	for _, p := range h {
		if err := e.value(p.Key); err != nil {
			return -1, err
		}
		if err := e.value(p.Value); err != nil {
			return -1, err
		}
	}
	return idx, nil
}

// Ivar is one instance variable; Name includes the "@" for an object's
// own variables (Marshal also uses ivars without "@" for a String's
// encoding and a Time's zone).
type Ivar struct {
	Name  string
	Value Value
}

// Object is a plain object ('o'): its class and instance variables, in the
// order Ruby would list them (the order they were first set in).
type Object struct {
	Class string
	Ivars []Ivar
}

func (o Object) write(e *encoder) (int, error) {
	idx := e.remember()
	e.byte('o')
	if err := e.symbol(o.Class); err != nil {
		return -1, err
	}
	if err := e.ivars(o.Ivars); err != nil {
		return -1, err
	}
	return idx, nil
}

// UserMarshal is an object whose class defines marshal_dump ('U'), such as
// Gem::Version and Gem::Requirement: the class and what marshal_dump
// returns.
type UserMarshal struct {
	Class string
	Data  Value
}

func (u UserMarshal) write(e *encoder) (int, error) {
	// marshal.c remembers the object before it calls marshal_dump, so the
	// dumped value numbers after it.
	idx := e.remember()
	e.byte('U')
	if err := e.symbol(u.Class); err != nil {
		return -1, err
	}
	if err := e.value(u.Data); err != nil {
		return -1, err
	}
	return idx, nil
}

// UserDef is an object whose class defines _dump ('u'), such as
// Gem::Specification and Time: the class and the bytes _dump returned,
// with the instance variables that string carried (a Time's zone).
type UserDef struct {
	Class string
	Data  []byte
	Ivars []Ivar
}

func (u UserDef) write(e *encoder) (int, error) {
	if len(u.Ivars) > 0 {
		e.byte('I')
	}
	e.byte('u')
	if err := e.symbol(u.Class); err != nil {
		return -1, err
	}
	e.bytes(string(u.Data))
	if len(u.Ivars) > 0 {
		if err := e.ivars(u.Ivars); err != nil {
			return -1, err
		}
	}
	// Unlike every other object, marshal.c remembers a _dump object only
	// once it is written, after the ivars' own values.
	return e.remember(), nil
}

// Time returns a UTC Time as Time#_dump writes it: eight bytes packing the
// date, time and microseconds, and the zone "UTC". Times before 1900 or
// after 65435, in another zone or with a fraction of a microsecond need
// more ivars and are refused, as nothing here writes them.
func Time(t time.Time) (Value, error) {
	if t.Location() != time.UTC {
		return nil, errors.New("marshal: only UTC times are supported")
	}
	if t.Nanosecond()%1000 != 0 {
		return nil, errors.New("marshal: times with a fraction of a microsecond are not supported")
	}
	if t.Year() < 1900 || t.Year() > 1900+0xffff {
		return nil, fmt.Errorf("marshal: year %d is out of the supported range", t.Year())
	}
	p := uint32(1)<<31 | 1<<30 | // the layout marker, and "UTC"
		uint32(t.Year()-1900)<<14 | uint32(t.Month()-1)<<10 | uint32(t.Day())<<5 | uint32(t.Hour())
	s := uint32(t.Minute())<<26 | uint32(t.Second())<<20 | uint32(t.Nanosecond()/1000)
	data := make([]byte, 8)
	binary.LittleEndian.PutUint32(data[:4], p)
	binary.LittleEndian.PutUint32(data[4:], s)
	return UserDef{Class: "Time", Data: data, Ivars: []Ivar{{Name: "zone", Value: String{S: "UTC", Enc: USASCII}}}}, nil
}

// Shared is one Ruby object that appears in several places of a
// structure. The first time a *Shared is written, its value is written;
// every later time, a link to it ('@'), as Ruby does for an object it has
// already dumped. Use the same pointer for every place.
type Shared struct {
	V Value
}

func (s *Shared) write(e *encoder) (int, error) {
	if idx, ok := e.shared[s]; ok {
		if idx < 0 {
			// Linking to an immediate would be a link to nothing; Ruby
			// writes immediates again.
			return s.V.write(e)
		}
		e.byte('@')
		e.long(int64(idx))
		return idx, nil
	}
	idx, err := s.V.write(e)
	if err != nil {
		return -1, err
	}
	e.shared[s] = idx
	return idx, nil
}

// Dump returns the Marshal 4.8 stream of v: the version bytes 4, 8 and the
// value.
func Dump(v Value) ([]byte, error) {
	e := &encoder{symbols: map[string]int{}, shared: map[*Shared]int{}}
	e.buf = append(e.buf, 4, 8)
	if err := e.value(v); err != nil {
		return nil, err
	}
	return e.buf, nil
}

type encoder struct {
	buf     []byte
	symbols map[string]int
	shared  map[*Shared]int
	objects int
}

func (e *encoder) value(v Value) error {
	if v == nil {
		return errors.New("marshal: nil Value (use marshal.Nil)")
	}
	_, err := v.write(e)
	return err
}

// remember numbers the next object, as marshal.c's w_remember does.
func (e *encoder) remember() int {
	e.objects++
	return e.objects - 1
}

func (e *encoder) byte(b byte) { e.buf = append(e.buf, b) }

// long is marshal.c's w_long: small numbers in one byte, others as a count
// of little-endian bytes (negative for negative numbers) and the bytes.
func (e *encoder) long(x int64) {
	switch {
	case x == 0:
		e.byte(0)
		return
	case 0 < x && x < 123:
		e.byte(byte(x + 5))
		return
	case -124 < x && x < 0:
		e.byte(byte((x - 5) & 0xff))
		return
	}
	var tmp [9]byte
	i := 1
	for ; i < len(tmp); i++ {
		tmp[i] = byte(x & 0xff)
		x >>= 8
		if x == 0 {
			tmp[0] = byte(i)
			break
		}
		if x == -1 {
			tmp[0] = byte(-i)
			break
		}
	}
	e.buf = append(e.buf, tmp[:i+1]...)
}

func (e *encoder) bytes(s string) {
	e.long(int64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) symbol(name string) error {
	if idx, ok := e.symbols[name]; ok {
		e.byte(';')
		e.long(int64(idx))
		return nil
	}
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			// Ruby writes a non-ASCII symbol with its encoding ivar;
			// nothing RubyGems reads has one.
			return fmt.Errorf("marshal: symbol %q is not ASCII", name)
		}
	}
	e.symbols[name] = len(e.symbols)
	e.byte(':')
	e.bytes(name)
	return nil
}

func (e *encoder) ivars(ivars []Ivar) error {
	e.long(int64(len(ivars)))
	for _, iv := range ivars {
		if err := e.symbol(iv.Name); err != nil {
			return err
		}
		if err := e.value(iv.Value); err != nil {
			return err
		}
	}
	return nil
}
