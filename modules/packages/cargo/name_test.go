package cargo_test

import (
	"strings"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/packages/cargo"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{
		"a", "A", "serde", "serde_json", "serde-json", "Serde", "a1", "a-", "a_", "x--y",
		strings.Repeat("a", 64),
		"rust", "cargo", "std2", "stdx", "core-foundation", "nul1", "com10", "lpt", "tests",
	} {
		if err := cargo.ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, c := range []struct{ name, msg string }{
		{"", "empty"},
		{strings.Repeat("a", 65), "too long"},
		{"0abc", "cannot start with a digit"},
		{"9", "cannot start with a digit"},
		{"_abc", "must start with an ASCII letter"},
		{"-abc", "must start with an ASCII letter"},
		{"ünïcode", "must start with an ASCII letter"},
		{"abç", "may only contain"},
		{"a.b", "may only contain"},
		{"a b", "may only contain"},
		{"a/b", "may only contain"},
		{"a+b", "may only contain"},
		{"a\x00", "may only contain"},
		{"std", "reserved"},
		{"core", "reserved"},
		{"alloc", "reserved"},
		{"proc_macro", "reserved"},
		{"proc-macro", "reserved"},
		{"Proc-Macro", "reserved"},
		{"test", "reserved"},
		{"compiler-builtins", "reserved"},
		{"compiler_builtins", "reserved"},
		{"rust-installer", "reserved"},
		{"rustc", "reserved"},
		{"nul", "reserved"},
		{"NUL", "reserved"},
		{"con", "reserved"},
		{"prn", "reserved"},
		{"aux", "reserved"},
		{"com0", "reserved"},
		{"com1", "reserved"},
		{"COM9", "reserved"},
		{"lpt0", "reserved"},
		{"lpt1", "reserved"},
		{"lpt9", "reserved"},
	} {
		err := cargo.ValidateName(c.name)
		if apperr.KindOf(err) != apperr.Invalid || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ValidateName(%q) = %v, want Invalid with %q", c.name, err, c.msg)
		}
	}
}

func TestCanonicalName(t *testing.T) {
	for in, want := range map[string]string{
		"serde": "serde", "Serde-JSON": "serde_json", "serde_json": "serde_json", "a-b_c-D": "a_b_c_d",
	} {
		if got := cargo.CanonicalName(in); got != want {
			t.Errorf("CanonicalName(%q) = %q, want %q", in, got, want)
		}
	}
	if cargo.CanonicalName("foo-bar") != cargo.CanonicalName("Foo_Bar") {
		t.Error("foo-bar and Foo_Bar must collide")
	}
}

func TestIndexPath(t *testing.T) {
	for name, want := range map[string]string{
		"a":           "1/a",
		"A":           "1/a",
		"ab":          "2/ab",
		"abc":         "3/a/abc",
		"Abc":         "3/a/abc",
		"abcd":        "ab/cd/abcd",
		"serde":       "se/rd/serde",
		"Hello_World": "he/ll/hello_world",
		"a-b-c":       "a-/b-/a-b-c",
	} {
		if got := cargo.IndexPath(name); got != want {
			t.Errorf("IndexPath(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestNameFromIndexPath(t *testing.T) {
	for _, c := range []struct {
		segs []string
		want string
	}{
		{[]string{"1", "a"}, "a"},
		{[]string{"2", "ab"}, "ab"},
		{[]string{"3", "a", "abc"}, "abc"},
		{[]string{"se", "rd", "serde"}, "serde"},
		{[]string{"he", "ll", "hello_world"}, "hello_world"},
		// Case is not part of the match: the name comes back as asked.
		{[]string{"he", "ll", "Hello_World"}, "Hello_World"},
		{[]string{"HE", "ll", "hello_world"}, "hello_world"},
		{[]string{"3", "A", "abc"}, "abc"},
	} {
		got, err := cargo.NameFromIndexPath(c.segs...)
		if err != nil || got != c.want {
			t.Errorf("NameFromIndexPath(%q) = %q, %v; want %q", c.segs, got, err, c.want)
		}
	}
	for _, segs := range [][]string{
		nil,
		{"a"},
		{"1", "ab"},
		{"2", "a"},
		{"2", "abc"},
		{"3", "abc"},
		{"3", "b", "abc"},
		{"3", "a", "b", "abc"},
		{"se", "rd"},
		{"se", "rx", "serde"},
		{"sr", "de", "serde"},
		{"se", "rd", "serde", "x"},
		{"ab", "cd", "abc"},
		{"1", "_"},
		{"2", "0a"},
		{"..", "..", "...."},
		{"se", "rd", "serde.json"},
		{"ab", "cd", "abcd" + strings.Repeat("x", 61)},
		{"config.json"},
		{"", "", ""},
	} {
		if _, err := cargo.NameFromIndexPath(segs...); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("NameFromIndexPath(%q) = %v, want not found", segs, err)
		}
	}
	// Every valid name finds its way back from its own path.
	for _, name := range []string{"a", "ab", "abc", "abcd", "Serde_JSON", strings.Repeat("z", 64)} {
		got, err := cargo.NameFromIndexPath(strings.Split(cargo.IndexPath(name), "/")...)
		if err != nil || !strings.EqualFold(got, name) {
			t.Errorf("round trip of %q: %q, %v", name, got, err)
		}
	}
}

func FuzzNameFromIndexPath(f *testing.F) {
	f.Add("se/rd/serde")
	f.Add("3/a/abc")
	f.Add("1/a")
	f.Fuzz(func(t *testing.T, p string) {
		name, err := cargo.NameFromIndexPath(strings.Split(p, "/")...)
		if err != nil {
			if apperr.KindOf(err) != apperr.NotFound {
				t.Fatalf("NameFromIndexPath(%q): kind %v", p, apperr.KindOf(err))
			}
			return
		}
		if !strings.EqualFold(cargo.IndexPath(name), p) {
			t.Fatalf("NameFromIndexPath(%q) = %q, whose path is %q", p, name, cargo.IndexPath(name))
		}
	})
}

func FuzzValidateName(f *testing.F) {
	f.Add("serde")
	f.Add("proc-macro")
	f.Fuzz(func(t *testing.T, name string) {
		err := cargo.ValidateName(name)
		if err != nil {
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("ValidateName(%q): kind %v", name, apperr.KindOf(err))
			}
			return
		}
		// A valid name has a path that leads back to it.
		got, err := cargo.NameFromIndexPath(strings.Split(cargo.IndexPath(name), "/")...)
		if err != nil || got != strings.ToLower(name) && got != name {
			t.Fatalf("valid name %q: path %q gives %q, %v", name, cargo.IndexPath(name), got, err)
		}
	})
}
