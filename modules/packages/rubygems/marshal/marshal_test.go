package marshal_test

import (
	"bytes"
	"encoding/hex"
	"math"
	"strings"
	"testing"
	"time"

	"wharf/modules/packages/rubygems/gemtest"
	"wharf/modules/packages/rubygems/marshal"
)

func mustTime(t *testing.T, tm time.Time) marshal.Value {
	t.Helper()
	v, err := marshal.Time(tm)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func version(v string) marshal.Value {
	return marshal.UserMarshal{Class: "Gem::Version", Data: marshal.Array{marshal.Str(v)}}
}

// TestDumpMatchesRuby writes each structure with this package and with
// Ruby's own Marshal.dump, and wants the same bytes.
func TestDumpMatchesRuby(t *testing.T) {
	sharedStr := &marshal.Shared{V: marshal.Str("x")}
	sharedVer := &marshal.Shared{V: version("1.0")}
	sharedTime := &marshal.Shared{V: mustTime(t, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))}
	sharedSym := &marshal.Shared{V: marshal.Symbol("s")}
	long := strings.Repeat("é", 200)
	cases := []struct {
		ruby string
		v    marshal.Value
	}{
		{`nil`, marshal.Nil},
		{`true`, marshal.Bool(true)},
		{`false`, marshal.Bool(false)},
		{`[0, 1, 122, 123, -1, -123, -124, -125, 255, 256, 300, -300, -256, -257, 65535, 65536, 2**24, -(2**24), 2**30-1, -(2**30)]`,
			marshal.Array{marshal.Int(0), marshal.Int(1), marshal.Int(122), marshal.Int(123), marshal.Int(-1), marshal.Int(-123),
				marshal.Int(-124), marshal.Int(-125), marshal.Int(255), marshal.Int(256), marshal.Int(300), marshal.Int(-300),
				marshal.Int(-256), marshal.Int(-257), marshal.Int(65535), marshal.Int(65536), marshal.Int(1 << 24),
				marshal.Int(-(1 << 24)), marshal.Int(1<<30 - 1), marshal.Int(-(1 << 30))}},
		// Beyond 30 bits Ruby writes Bignums, which take object numbers: the
		// link at the end proves the numbering.
		{`s = "x"; [2**30, -(2**30)-1, 2**40, 2**62, 2**63-1, -(2**63), 256**3, s, s]`,
			marshal.Array{marshal.Int(1 << 30), marshal.Int(-(1 << 30) - 1), marshal.Int(1 << 40), marshal.Int(1 << 62),
				marshal.Int(math.MaxInt64), marshal.Int(math.MinInt64), marshal.Int(1 << 24), sharedStr, sharedStr}},
		{`[:a, :a, :b, :a, :b]`, marshal.Array{marshal.Symbol("a"), marshal.Symbol("a"), marshal.Symbol("b"), marshal.Symbol("a"), marshal.Symbol("b")}},
		{`["", "héllo", "ruby".b, "zone".encode("US-ASCII"), "` + long + `"]`,
			marshal.Array{marshal.Str(""), marshal.Str("héllo"), marshal.String{S: "ruby", Enc: marshal.Binary},
				marshal.String{S: "zone", Enc: marshal.USASCII}, marshal.Str(long)}},
		{`{"a" => 1, :b => [nil, {}], "c" => {"d" => "e"}}`, marshal.Hash{
			{Key: marshal.Str("a"), Value: marshal.Int(1)},
			{Key: marshal.Symbol("b"), Value: marshal.Array{marshal.Nil, marshal.Hash{}}},
			{Key: marshal.Str("c"), Value: marshal.Hash{{Key: marshal.Str("d"), Value: marshal.Str("e")}}},
		}},
		{`Gem::Platform.new("x86_64-linux")`, marshal.Object{Class: "Gem::Platform", Ivars: []marshal.Ivar{
			{Name: "@cpu", Value: marshal.Str("x86_64")}, {Name: "@os", Value: marshal.Str("linux")}, {Name: "@version", Value: marshal.Nil}}}},
		{`Gem::Requirement.new("~> 1.0", ">= 1.0.2")`, marshal.UserMarshal{Class: "Gem::Requirement", Data: marshal.Array{marshal.Array{
			marshal.Array{marshal.Str("~>"), version("1.0")},
			marshal.Array{marshal.Str(">="), version("1.0.2")},
		}}}},
		{`Time.utc(2024, 1, 2)`, mustTime(t, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC))},
		{`Time.utc(1999, 12, 31, 23, 59, 58, 999999)`, mustTime(t, time.Date(1999, 12, 31, 23, 59, 58, 999999000, time.UTC))},
		// Gem::Version.new hands out one object per version string, so
		// Ruby links the second; a Time is numbered after its zone.
		{`v = Gem::Version.new("1.0"); t = Time.utc(2020, 1, 1); s = "x"; [v, t, s, v, :s, t, :s, s]`,
			marshal.Array{sharedVer, sharedTime, sharedStr, sharedVer, sharedSym, sharedTime, sharedSym, sharedStr}},
		{`o = Object.new; o.instance_variable_set(:@a, 1); o.instance_variable_set(:@b, [o2 = Object.new, o2]); o`,
			func() marshal.Value {
				o2 := &marshal.Shared{V: marshal.Object{Class: "Object"}}
				return marshal.Object{Class: "Object", Ivars: []marshal.Ivar{{Name: "@a", Value: marshal.Int(1)}, {Name: "@b", Value: marshal.Array{o2, o2}}}}
			}()},
	}
	var script strings.Builder
	for _, c := range cases {
		script.WriteString(c.ruby + "\n")
	}
	out := gemtest.RunRuby(t, []byte(script.String()),
		`STDIN.read.split("\n").each { |e| puts Marshal.dump(eval(e)).unpack1("H*") }`)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("ruby printed %d dumps for %d cases", len(lines), len(cases))
	}
	for i, c := range cases {
		// Shared values remember their number per stream, so each dump
		// starts from a clean slate anyway.
		got, err := marshal.Dump(c.v)
		if err != nil {
			t.Fatalf("%s: %v", c.ruby, err)
		}
		want, _ := hex.DecodeString(lines[i])
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %x\nwant %x", c.ruby, got, want)
		}
	}
}

func TestDumpRefusesWhatItCannotWrite(t *testing.T) {
	if _, err := marshal.Time(time.Date(2024, 1, 2, 0, 0, 0, 0, time.FixedZone("X", 3600))); err == nil {
		t.Error("a non-UTC time was accepted")
	}
	if _, err := marshal.Time(time.Date(2024, 1, 2, 0, 0, 0, 1, time.UTC)); err == nil {
		t.Error("a sub-microsecond time was accepted")
	}
	if _, err := marshal.Time(time.Date(1899, 1, 2, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("a year before 1900 was accepted")
	}
	if _, err := marshal.Dump(marshal.Symbol("é")); err == nil {
		t.Error("a non-ASCII symbol was accepted")
	}
	if _, err := marshal.Dump(marshal.Array{nil}); err == nil {
		t.Error("a nil Value was accepted")
	}
}
