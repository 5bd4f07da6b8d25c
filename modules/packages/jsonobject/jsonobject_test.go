package jsonobject_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"wharf/modules/packages/jsonobject"
)

var registry = []jsonobject.Field{
	{Key: "name", Value: []byte(`"@acme/a"`)},
	{Key: "version", Value: []byte(`"1.0.0"`)},
	{Key: "dist", Value: []byte(`{"tarball":"http://x/a.tgz"}`)},
}

func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []jsonobject.Field
		stored string
		keep   []string
		want   string
	}{
		{"fields first, stored order kept", registry, `{"zeta":1,"name":"@acme/a","alpha":[1,2],"version":"1.0.0"}`, nil,
			`{"name":"@acme/a","version":"1.0.0","dist":{"tarball":"http://x/a.tgz"},"zeta":1,"alpha":[1,2]}`},
		{"the registry's value wins", registry, `{"dist":{"tarball":"evil"},"name":"other","version":"9"}`, nil,
			`{"name":"@acme/a","version":"1.0.0","dist":{"tarball":"http://x/a.tgz"}}`},
		{"empty stored", registry[:1], ``, nil, `{"name":"@acme/a"}`},
		{"null stored", registry[:1], " null ", nil, `{"name":"@acme/a"}`},
		{"empty object", registry[:1], ` { } `, nil, `{"name":"@acme/a"}`},
		{"no fields", nil, `{"a":1}`, nil, `{"a":1}`},
		{"no fields, nothing stored", nil, ``, nil, `{}`},
		{"whitespace between tokens", nil, " {\n \"a\" :\t[ 1 , {\"b\" : null} ] ,\r\"c\":\"d\" }\n", nil,
			`{"a":[ 1 , {"b" : null} ],"c":"d"}`},
		{"keep filters stored members only", registry[:2], `{"main":"i.js","dependencies":{"x":"1"},"name":"n","scripts":{}}`, []string{"dependencies", "name"},
			`{"name":"@acme/a","version":"1.0.0","dependencies":{"x":"1"}}`},
		{"a repeated top-level key: first position, last value", nil, `{"a":1,"b":2,"a":3}`, nil, `{"a":3,"b":2}`},
		{"a repeated key the registry sets", registry[:1], `{"name":"x","name":"y","b":1}`, nil, `{"name":"@acme/a","b":1}`},
		{"a repeated nested key", nil, `{"require":{"php":">=7","ext-json":"*","php":">=8.1"},"x":[{"k":1,"k":2}]}`, nil,
			`{"require":{"php":">=8.1","ext-json":"*"},"x":[{"k":2}]}`},
		{"repeated keys that differ only in escaping", nil, `{"a":1,"\u0061":2,"b":{"\/":1,"/":2}}`, nil, `{"a":2,"b":{"\/":2}}`},
		{"an escaped key matches a field", registry[:1], `{"n\u0061me":"x","ok":true}`, nil, `{"name":"@acme/a","ok":true}`},
		{"many keys (the set path)", nil, manyKeys(40, true), nil, manyKeysWant(40)},
		{"many distinct keys", nil, manyKeys(40, false), nil, manyKeys(40, false)},
		{"unicode kept as stored", nil, `{"d":"caf\u00e9 ☕","é":1}`, nil, `{"d":"caf\u00e9 ☕","é":1}`},
		{"a field left out drops the stored member", []jsonobject.Field{{Key: "name", Value: []byte(`"n"`)}, {Key: "source"}}, `{"source":{"url":"x"},"a":1}`, nil,
			`{"name":"n","a":1}`},
		{"only fields left out", []jsonobject.Field{{Key: "source"}}, `{"source":1}`, nil, `{}`},
		{"numbers", nil, `{"a":-0,"b":1.5e+10,"c":0.25,"d":-12E-3,"e":100}`, nil, `{"a":-0,"b":1.5e+10,"c":0.25,"d":-12E-3,"e":100}`},
		// Review of issue 10: what is written is UTF-8 without a lone
		// surrogate, written as \ufffd as encoding/json decodes it.
		{"a byte that is not UTF-8", nil, "{\"d\":\"caf\xe9\",\"e\":[1,\"\xff\xfe\",2]}", nil, `{"d":"caf\ufffd","e":[1,"\ufffd\ufffd",2]}`},
		{"a surrogate encoded as UTF-8", nil, "{\"d\":\"\xed\xa0\x80\"}", nil, `{"d":"\ufffd\ufffd\ufffd"}`},
		{"lone surrogates", nil, `{"a":"\ud800","b":"x\udc00y","c":"\ud800\u0041","d":"\ud800\ud83d\ude00","e":"\uDBFF"}`, nil,
			`{"a":"\ufffd","b":"x\ufffdy","c":"\ufffd\u0041","d":"\ufffd\ud83d\ude00","e":"\ufffd"}`},
		{"a surrogate pair kept", nil, `{"a":"\ud83d\ude00","b":"\uD83D\uDE00"}`, nil, `{"a":"\ud83d\ude00","b":"\uD83D\uDE00"}`},
		{"keys that are not UTF-8 compare as decoded", nil, "{\"\xff\":1,\"\\ufffd\":2,\"\\ud800\":3,\"k\":{\"\xfe\":1}}", nil,
			`{"\ufffd":3,"k":{"\ufffd":1}}`},
		{"a bad string deep inside", registry[:1], `{"x":{"y":[{"z":"\udfff"}],"w":"ok"},"v":1}`, nil, `{"name":"@acme/a","x":{"y":[{"z":"\ufffd"}],"w":"ok"},"v":1}`},
		{"clean elements around a bad one", nil, `{"a":[ 1 , 2 ,"\ud800", 3 ,4 ]}`, nil, `{"a":[1 , 2,"\ufffd",3 ,4]}`},
		{"repeated keys at every level", nil, `{"a":{"a":{"a":1,"a":2},"a":{"a":3,"a":4}},"b":0,"a":{"a":{"b":1,"b":2},"c":[{"a":1,"a":[]}]}}`, nil,
			`{"a":{"a":{"b":2},"c":[{"a":[]}]},"b":0}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var keep map[string]bool
			if tc.keep != nil {
				keep = map[string]bool{}
				for _, k := range tc.keep {
					keep[k] = true
				}
			}
			var m jsonobject.Merger
			got, err := m.Merge([]byte("prefix:"), tc.fields, []byte(tc.stored), keep)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "prefix:"+tc.want {
				t.Fatalf("got  %s\nwant prefix:%s", got, tc.want)
			}
			if err := strictCheck(got[len("prefix:"):]); err != nil {
				t.Fatalf("%s: %v", got, err)
			}
		})
	}
}

// manyKeys is an object of n keys k0…; repeated adds k0 again at the end.
func manyKeys(n int, repeated bool) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%d":{"v":%d}`, i, i)
	}
	if repeated {
		b.WriteString(`,"k0":{"v":"last"},"k30":{"v":"last","v":"really"}`)
	}
	return b.String() + "}"
}

func manyKeysWant(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		switch i {
		case 0:
			b.WriteString(`"k0":{"v":"last"}`)
		case 30:
			b.WriteString(`"k30":{"v":"really"}`)
		default:
			fmt.Fprintf(&b, `"k%d":{"v":%d}`, i, i)
		}
	}
	return b.String() + "}"
}

func TestMergeRefuses(t *testing.T) {
	for _, stored := range []string{
		`[]`, `"a"`, `1`, `true`, `nul`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1}x`, `{"a":1}{}`, `{"a":1} null`,
		`{a:1}`, `{'a':1}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":+1}`, `{"a":-}`, `{"a":tru}`, `{"a":nulll}`,
		`{"a":"x` + "\n" + `"}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`, `{"a":"unterminated}`, `{"a":[1 2]}`,
		`{"a":[1,]}`, `{"a":{"b" 1}}`, `{"a":{"b":1,}}`, `null x`, "{\"a\":1}\x00",
	} {
		if json.Valid([]byte(stored)) && strings.HasPrefix(strings.TrimSpace(stored), "{") {
			t.Fatalf("test case %q is valid JSON", stored)
		}
		if got, err := jsonobject.Merge(nil, registry, []byte(stored)); err == nil {
			t.Errorf("%q: no error, got %s", stored, got)
		}
	}
	if _, err := jsonobject.Merge(nil, []jsonobject.Field{{"a", []byte("1")}, {"a", []byte("2")}}, nil); err == nil {
		t.Error("a key the registry sets twice must be refused")
	}
}

// TestCheck: what an upload may store.
func TestCheck(t *testing.T) {
	for _, ok := range []string{`{}`, `{"a":[1,{"b":"caf\u00e9 ☕ \ud83d\ude00"}],"a":2}`, ` "x" `, `[[[[]]]]`, `"\ufffd"`} {
		if err := jsonobject.Check([]byte(ok), 4); err != nil {
			t.Errorf("Check(%s): %v", ok, err)
		}
	}
	for in, msg := range map[string]string{
		`[[[[[]]]]]`:                 "nested more than 4 deep",
		`{"a":{"b":{"c":{"d":{}}}}}`: "nested more than 4 deep",
		"{\"d\":\"caf\xe9\"}":        "not UTF-8",
		"{\"\xff\":1}":               "not UTF-8",
		"\"\xed\xa0\x80\"":           "not UTF-8",
		`{"d":"\ud800"}`:             `\ud800 escapes half of a UTF-16 surrogate pair`,
		`["\ud800\u0041"]`:           "half of a UTF-16 surrogate pair",
		`{"\udc00":1}`:               "half of a UTF-16 surrogate pair",
		`{"a":1} x`:                  "data after the value",
		`{"a":}`:                     "a value expected",
	} {
		err := jsonobject.Check([]byte(in), 4)
		var e *jsonobject.Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, msg) {
			t.Errorf("Check(%q) = %v, want %q", in, err, msg)
		}
	}
}

func TestDepth(t *testing.T) {
	for _, depth := range []int{9998, 9999, 10000, 10001} {
		// depth objects in all: the stored object and depth-1 inside it.
		stored := strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
		_, err := jsonobject.Merge(nil, nil, []byte(stored))
		if valid := json.Valid([]byte(stored)); valid != (err == nil) {
			t.Errorf("depth %d: json.Valid %v, Merge error %v", depth, valid, err)
		}
		// Containers count, not values: an empty one innermost, arrays.
		for _, stored := range []string{
			strings.Repeat(`{"a":`, depth-1) + "{}" + strings.Repeat("}", depth-1),
			`{"a":` + strings.Repeat(`[`, depth-1) + strings.Repeat("]", depth-1) + "}",
			`{"a":` + strings.Repeat(`[`, depth-2) + `{"b":1,"b":2}` + strings.Repeat("]", depth-2) + "}",
		} {
			_, err := jsonobject.Merge(nil, nil, []byte(stored))
			if valid := json.Valid([]byte(stored)); valid != (err == nil) {
				t.Errorf("depth %d, %.20s…: json.Valid %v, Merge error %v", depth, stored, valid, err)
			}
			if _, err := jsonobject.Clean(nil, []byte(stored)); (err == nil) != json.Valid([]byte(stored)) {
				t.Errorf("depth %d, %.20s…: Clean error %v", depth, stored, err)
			}
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		` "x" `:                      `"x"`,
		`[{"a":1,"a":2},{"b":[]}]`:   `[{"a":2},{"b":[]}]`,
		`{"a":{"b":1,"b":{"c":1}}}`:  `{"a":{"b":{"c":1}}}`,
		`{}`:                         `{}`,
		`[]`:                         `[]`,
		` {"a" : [ 1 , 2 ] , "a":3}`: `{"a":3}`,
	} {
		got, err := jsonobject.Clean(nil, []byte(in))
		if err != nil || string(got) != want {
			t.Errorf("Clean(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{``, `{"a":1} 2`, `[1,]`} {
		if _, err := jsonobject.Clean(nil, []byte(in)); err == nil {
			t.Errorf("Clean(%q): no error", in)
		}
	}
}

// The merger keeps no state from one call to the next that changes a
// result: a repeated key in one version does not leak into the next.
func TestMergerReuse(t *testing.T) {
	var m jsonobject.Merger
	inputs := []string{`{"a":1,"a":2,"b":{"c":1,"c":2}}`, `{"a":1,"b":2}`, manyKeys(20, true), `{"x":{"y":1},"y":2}`}
	for round := range 3 {
		for _, in := range inputs {
			got, err := m.Merge(nil, registry[:1], []byte(in), nil)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := jsonobject.Merge(nil, registry[:1], []byte(in))
			if !bytes.Equal(got, want) {
				t.Fatalf("round %d: %s\nwant %s", round, got, want)
			}
		}
	}
}

// TestMergeAllocations: a clean manifest costs no allocation once the
// merger's buffers have grown.
func TestMergeAllocations(t *testing.T) {
	for _, stored := range [][]byte{
		[]byte(`{"name":"@acme/a","version":"1.0.0","description":"d","dependencies":{"left-pad":"^1.0.0","b":"2"},"engines":{"node":">=18"},"scripts":{"test":"x"}}`),
		[]byte(composerManifest), // keys with escapes are decoded into the merger's buffer
	} {
		var m jsonobject.Merger
		dst := make([]byte, 0, 4096)
		if _, err := m.Merge(dst, registry, stored, nil); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = m.Merge(dst[:0], registry, stored, nil) }); n != 0 {
			t.Fatalf("%v allocations per merge of %s", n, stored)
		}
	}
}

func BenchmarkMerge(b *testing.B) {
	stored := []byte(`{"name":"@acme/a","version":"1.0.0","description":"a package","main":"index.js","license":"MIT",` +
		`"dependencies":{"left-pad":"^1.0.0","lodash":"^4.17.21","chalk":"^5.0.0"},"engines":{"node":">=18"},` +
		`"repository":{"type":"git","url":"git+https://example.com/acme/a.git"},"scripts":{"test":"node test.js"},"keywords":["a","b"]}`)
	var m jsonobject.Merger
	dst := make([]byte, 0, 4096)
	b.SetBytes(int64(len(stored)))
	for b.Loop() {
		dst, _ = m.Merge(dst[:0], registry, stored, nil)
	}
}

func FuzzMerge(f *testing.F) {
	for _, s := range []string{`{}`, ``, `null`, `{"name":"x","a":[1,{"b":2,"b":3}]}`, `{"a":1,"a":2}`, `{"\u0061":1,"a":2}`,
		`{"version":"1","dist":{},"x":"\ud83d\ude00"}`, `{"a":-1.5e3,"b":[true,false,null]}`, manyKeys(20, true), `[1]`, `{"a":1} x`,
		"{\"\xff\":1,\"\xfe\":2}", `{"a":"\ud800","b":["\udc00x",{"\ud800":1,"\ufffd":2}]}`, "{\"a\":[\"caf\xe9\",{\"k\":1,\"k\":\"\xed\xa0\x80\"}]}"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	keep := map[string]bool{"a": true, "b": true, "name": true}
	f.Fuzz(func(t *testing.T, stored []byte, filter bool) {
		k := keep
		if !filter {
			k = nil
		}
		fields := append(append([]jsonobject.Field{}, registry...), jsonobject.Field{Key: "source"}) // the registry's, left out
		var m jsonobject.Merger
		got, err := m.Merge(nil, fields, stored, k)
		trimmed := bytes.Trim(stored, " \t\r\n") // JSON's white space, not Unicode's
		isObject := json.Valid(stored) && len(trimmed) > 0 && trimmed[0] == '{'
		empty := len(trimmed) == 0 || string(trimmed) == "null"
		if err != nil {
			if isObject || empty {
				t.Fatalf("%q: %v", stored, err)
			}
			return
		}
		if !isObject && !empty {
			t.Fatalf("%q is no JSON object, yet merged: %s", stored, got)
		}
		if err := strictCheck(got); err != nil {
			t.Fatalf("%q → %s: %v", stored, got, err)
		}
		if !utf8.Valid(got) || loneSurrogate(got) {
			t.Fatalf("%q → %q: not UTF-8, or a lone surrogate", stored, got)
		}
		// What a tolerant reader made of the stored object (the last of
		// repeated keys), with the registry's fields over it.
		want := map[string]any{}
		if !empty {
			if err := json.Unmarshal(stored, &want); err != nil {
				t.Fatal(err)
			}
		}
		for key := range want {
			if k != nil && !k[key] {
				delete(want, key)
			}
		}
		delete(want, "source")
		for _, fl := range registry {
			var v any
			_ = json.Unmarshal(fl.Value, &v)
			want[fl.Key] = v
		}
		var have map[string]any
		if err := json.Unmarshal(got, &have); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(have, want) {
			t.Fatalf("%q → %s\nhave %v\nwant %v", stored, got, have, want)
		}
		// Order: the fields, then the stored keys in first-seen order.
		var order []string
		for _, fl := range registry {
			order = append(order, fl.Key)
		}
		seen := map[string]bool{"name": true, "version": true, "dist": true, "source": true}
		if !empty {
			for _, key := range topKeys(t, stored) {
				if !seen[key] && (k == nil || k[key]) {
					order = append(order, key)
				}
				seen[key] = true
			}
		}
		if gotOrder := topKeys(t, got); !reflect.DeepEqual(gotOrder, order) {
			t.Fatalf("%q → %s: keys %q, want %q", stored, got, gotOrder, order)
		}
		// Clean takes every valid value and leaves no key repeated.
		if json.Valid(stored) {
			if c, err := jsonobject.Clean(nil, stored); err != nil || strictCheck(c) != nil || !utf8.Valid(c) || loneSurrogate(c) {
				t.Fatalf("Clean(%q) = %q, %v", stored, c, err)
			}
		}
	})
}

// FuzzCheck: Check accepts exactly the valid JSON that is UTF-8 without
// a lone surrogate and nests no deeper than asked.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":"\ud83d\ude00"}]}`, `"\ud800"`, "\"caf\xe9\"", `[[[[]]]]`, `{"a":"\ud800\u0041"}`, `[1,2,]`} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, depth uint8) {
		err := jsonobject.Check(b, int(depth))
		want := json.Valid(b) && utf8.Valid(b) && !loneSurrogate(b) && nesting(b) <= int(depth)
		if (err == nil) != want {
			t.Fatalf("Check(%q, %d) = %v, want ok %v", b, depth, err, want)
		}
		var e *jsonobject.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("Check(%q): %T", b, err)
		}
	})
}

// loneSurrogate reports whether a JSON text has a \u escape of half a
// surrogate pair in a string.
func loneSurrogate(b []byte) bool {
	in := false
	for i := 0; i < len(b); i++ {
		switch {
		case !in:
			in = b[i] == '"'
		case b[i] == '"':
			in = false
		case b[i] == '\\' && i+1 < len(b) && b[i+1] == 'u' && i+6 <= len(b):
			r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
			if err != nil {
				return false // not JSON; json.Valid says so
			}
			switch {
			case r >= 0xdc00 && r <= 0xdfff:
				return true
			case r >= 0xd800 && r <= 0xdbff:
				if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
					return true
				}
				r2, err := strconv.ParseUint(string(b[i+8:i+12]), 16, 32)
				if err != nil || r2 < 0xdc00 || r2 > 0xdfff {
					return true
				}
				i += 6
			}
			i += 5
		case b[i] == '\\':
			i++
		}
	}
	return false
}

// nesting is how many containers a JSON text opens at most at once.
func nesting(b []byte) int {
	d := json.NewDecoder(bytes.NewReader(b))
	depth, most := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return most
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			most = max(most, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// topKeys lists an object's keys in order, repeats included.
func topKeys(t *testing.T, b []byte) []string {
	d := json.NewDecoder(bytes.NewReader(b))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// strictCheck is an independent strict reader: one value, no repeated key
// at any depth.
func strictCheck(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	var walk func() error
	walk = func() error {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return err
				}
				if seen[k.(string)] {
					return fmt.Errorf("key %q repeats", k)
				}
				seen[k.(string)] = true
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = d.Token()
			return err
		case json.Delim('['):
			for d.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = d.Token()
			return err
		}
		return nil
	}
	if err := walk(); err != nil {
		return err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("data after the value: %v", err)
	}
	return nil
}

// composerManifest is a typical composer.json: autoload keys carry an
// escaped backslash, so they are decoded to be compared.
const composerManifest = `{"name":"acme/hello","description":"A library","type":"library","license":"MIT",` +
	`"authors":[{"name":"A. Author","email":"a@example.com"}],"require":{"php":">=8.1","psr/log":"^3.0","symfony/console":"^6.4|^7.0"},` +
	`"require-dev":{"phpunit/phpunit":"^10.5"},"autoload":{"psr-4":{"Acme\\Hello\\":"src/"}},"autoload-dev":{"psr-4":{"Acme\\Hello\\Tests\\":"tests/"}},` +
	`"extra":{"branch-alias":{"dev-main":"1.x-dev"}},"config":{"sort-packages":true}}`

func BenchmarkMergeComposer(b *testing.B) {
	stored := []byte(composerManifest)
	var m jsonobject.Merger
	dst := make([]byte, 0, 4096)
	b.SetBytes(int64(len(stored)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = m.Merge(dst[:0], registry, stored, nil)
	}
}
