package scope_test

import (
	"slices"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/scope"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in        []string
		canonical []string
		has       map[scope.Category]scope.Level
		lacks     map[scope.Category]scope.Level
	}{
		{[]string{"all"}, []string{"all"}, map[scope.Category]scope.Level{scope.Admin: scope.Write, scope.Package: scope.Write}, nil},
		{[]string{"read:package"}, []string{"read:package"}, map[scope.Category]scope.Level{scope.Package: scope.Read}, map[scope.Category]scope.Level{scope.Package: scope.Write, scope.User: scope.Read}},
		{[]string{"write:package,read:repository"}, []string{"write:package", "read:repository"}, map[scope.Category]scope.Level{scope.Package: scope.Read, scope.Repository: scope.Read}, map[scope.Category]scope.Level{scope.Repository: scope.Write}},
		{[]string{"read:user", "write:user"}, []string{"write:user"}, map[scope.Category]scope.Level{scope.User: scope.Write}, nil},
		{[]string{"admin"}, []string{"write:admin"}, map[scope.Category]scope.Level{scope.Admin: scope.Write}, map[scope.Category]scope.Level{scope.Package: scope.Read}},
		{[]string{"repo", "read:org", "package"}, []string{"read:organization", "write:package", "write:repository"}, map[scope.Category]scope.Level{scope.Organization: scope.Read}, map[scope.Category]scope.Level{scope.Organization: scope.Write}},
		{[]string{" WRITE:Package "}, []string{"write:package"}, nil, nil},
	}
	for _, c := range cases {
		s, err := scope.Parse(c.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		got := s.Strings()
		want := slices.Clone(c.canonical)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("Parse(%q) = %q, want %q", c.in, got, want)
		}
		for cat, lvl := range c.has {
			if !s.Has(cat, lvl) {
				t.Errorf("Parse(%q) lacks %s level %d", c.in, cat, lvl)
			}
		}
		for cat, lvl := range c.lacks {
			if s.Has(cat, lvl) {
				t.Errorf("Parse(%q) wrongly has %s level %d", c.in, cat, lvl)
			}
		}
		again, err := scope.Parse([]string{s.String()})
		if err != nil || again.String() != s.String() {
			t.Errorf("round trip of %q: %q, %v", s.String(), again.String(), err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range [][]string{nil, {""}, {" , "}, {"read:everything"}, {"delete:repository"}, {"write"}, {"read:package", "root"}} {
		if _, err := scope.Parse(in); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("Parse(%q) err = %v, want invalid", in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("read:package,write:user")
	f.Add("all")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := scope.Parse([]string{in})
		if err != nil {
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("unexpected kind for %q: %v", in, err)
			}
			return
		}
		again, err := scope.Parse([]string{s.String()})
		if err != nil || again.String() != s.String() {
			t.Fatalf("round trip of %q failed: %v", in, err)
		}
	})
}
