package jsonobject

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are stored objects of about size bytes that a merge slower than
// linear pays for on every request: a key repeated deep inside, at every
// level, in wide objects, and many small objects that each repeat a key.
func hostile(size int) map[string][]byte {
	shapes := map[string]func(n int) string{
		// Review of issue 10: one repeated key in a wide object.
		"wide": func(n int) string {
			var b strings.Builder
			b.WriteString(`{"name":"acme/odd","extra":{`)
			for i := range n / 8 {
				fmt.Fprintf(&b, `"k%d":1,`, i)
			}
			b.WriteString(`"k0":2}}`)
			return b.String()
		},
		"top-wide": func(n int) string {
			var b strings.Builder
			b.WriteString(`{`)
			for i := range n / 8 {
				fmt.Fprintf(&b, `"k%d":1,`, i)
			}
			b.WriteString(`"k0":2}`)
			return b.String()
		},
		// Review of issue 10: one repeated key at the bottom of a deep
		// value (each level read again by every level above it before).
		"deep": func(n int) string {
			d := min(n/50, 9000)
			return `{"name":"acme/odd","extra":` + strings.Repeat(`{"p":"`+strings.Repeat("x", 40)+`","a":`, d) + `{"b":1,"b":2}` + strings.Repeat("}", d) + `}`
		},
		"deep-array": func(n int) string {
			d := min(n/2, 9000)
			return `{"extra":` + strings.Repeat(`[`, d) + `{"b":1,"b":2}` + strings.Repeat("]", d) + `}`
		},
		// A repeated key at every level: every level's value is replaced.
		"every-level": func(n int) string {
			d := min(n/12, 9000)
			return `{"extra":` + strings.Repeat(`{"a":1,"a":`, d) + `1` + strings.Repeat("}", d) + `}`
		},
		// Objects of sixteen keys (the most compared without a table),
		// the last repeating the first.
		"small-objects": func(n int) string {
			var b strings.Builder
			b.WriteString(`{"extra":[`)
			for i := 0; b.Len() < n; i++ {
				if i > 0 {
					b.WriteString(",")
				}
				b.WriteString(`{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":0,"j":0,"k":0,"l":0,"m":0,"n":0,"o":0,"a":1}`)
			}
			b.WriteString(`]}`)
			return b.String()
		},
		// Strings that are not UTF-8 everywhere: each is rewritten.
		"bad-strings": func(n int) string {
			var b strings.Builder
			b.WriteString(`{"extra":[`)
			for i := 0; b.Len() < n; i++ {
				if i > 0 {
					b.WriteString(",")
				}
				b.WriteString(`"caf` + "\xe9" + `","\ud800",{"\udc00":1}`)
			}
			b.WriteString(`]}`)
			return b.String()
		},
		// Escaped keys, decoded to be compared; one repeats at the end.
		"escaped-keys": func(n int) string {
			var b strings.Builder
			b.WriteString(`{"autoload":{"psr-4":{`)
			for i := range n / 20 {
				fmt.Fprintf(&b, `"Acme\\N%d\\":"src/",`, i)
			}
			b.WriteString(`"Acme\\N0\\":"lib/"}}}`)
			return b.String()
		},
	}
	out := map[string][]byte{}
	for name, f := range shapes {
		out[name] = []byte(f(size))
	}
	return out
}

// TestMergeWorkIsLinear: the bytes scanned, keys compared or probed and
// nodes written stay within a constant times the stored bytes, at every
// size: each byte is scanned at most twice (a first pass, and a second
// one for a member that is not clean), and no key is compared with more
// than a bounded number of others. The old merge read a value again at
// every depth and compared each key with every earlier one.
func TestMergeWorkIsLinear(t *testing.T) {
	const perByte = 6
	fields := []Field{{Key: "name", Value: []byte(`"acme/odd"`)}, {Key: "source"}}
	for _, size := range []int{10_000, 80_000, 640_000} {
		for name, stored := range hostile(size) {
			var m Merger
			out, err := m.Merge(nil, fields, stored, nil)
			if err != nil {
				t.Fatalf("%s/%d: %v", name, size, err)
			}
			if !json.Valid(out) || !utf8.Valid(out) {
				t.Fatalf("%s/%d: the output is not JSON in UTF-8", name, size)
			}
			if m.work > perByte*len(stored) {
				t.Errorf("%s of %d bytes: work %d, %.1f per byte (at most %d)", name, len(stored), m.work, float64(m.work)/float64(len(stored)), perByte)
			}
			m.work = 0
			if _, err := m.cleanForTest(stored); err != nil {
				t.Fatal(err)
			}
			if m.work > perByte*len(stored) {
				t.Errorf("Clean of %s, %d bytes: work %d", name, len(stored), m.work)
			}
		}
	}
}

// cleanForTest is Clean on m, to read its work counter.
func (m *Merger) cleanForTest(value []byte) ([]byte, error) {
	s := m.scanner(value, maxDepth)
	clean, err := s.value(0)
	if err != nil || clean {
		return value, err
	}
	return m.appendClean(nil, value, 0)
}

// TestMergeAllocationsLarge: an object past the small-object size uses a
// hash table that is reused, not reallocated, from one merge to the next.
func TestMergeAllocationsLarge(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"require":{`)
	for i := range 200 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"vendor/p%d":"^1.%d","ext-%d":"*"`, i, i, i)
	}
	b.WriteString(`},"autoload":{"psr-4":{"A\\":"src/"}}}`)
	stored := []byte(b.String())
	var m Merger
	dst := make([]byte, 0, 2*len(stored))
	if _, err := m.Merge(dst, nil, stored, nil); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(50, func() { _, _ = m.Merge(dst[:0], nil, stored, nil) }); n != 0 {
		t.Fatalf("%v allocations per merge", n)
	}
}

func BenchmarkMergeHostile(b *testing.B) {
	fields := []Field{{Key: "name", Value: []byte(`"acme/odd"`)}, {Key: "source"}}
	for name, stored := range hostile(400_000) {
		b.Run(name, func(b *testing.B) {
			var m Merger
			dst := make([]byte, 0, 2*len(stored))
			b.SetBytes(int64(len(stored)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = m.Merge(dst[:0], fields, stored, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
