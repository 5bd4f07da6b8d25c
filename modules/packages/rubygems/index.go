package rubygems

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"slices"
	"strings"
	"time"

	"wharf/modules/apperr"
	"wharf/modules/packages/rubygems/marshal"
)

// NameTuple is one entry of the Marshal indexes (specs.4.8.gz,
// latest_specs.4.8.gz, prerelease_specs.4.8.gz): Gem::NameTuple#to_a.
type NameTuple struct {
	Name, Version, Platform string
}

// SortTuples puts tuples in the order rubygems.org lists them: by name,
// then by version (Compare), oldest first; the platforms of one version
// by name.
func SortTuples(tuples []NameTuple) {
	slices.SortStableFunc(tuples, func(a, b NameTuple) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := Compare(a.Version, b.Version); c != 0 {
			return c
		}
		return strings.Compare(a.Platform, b.Platform)
	})
}

// LatestTuples picks what latest_specs.4.8.gz lists: for each gem and
// platform, the highest version that is not a pre-release (rubygems.org's
// Rubygem#reorder_versions). Give it the versions that are not yanked; the
// result is sorted (SortTuples).
func LatestTuples(tuples []NameTuple) []NameTuple {
	type key struct{ name, platform string }
	best := map[key]NameTuple{}
	for _, t := range tuples {
		if IsPrerelease(t.Version) {
			continue
		}
		k := key{t.Name, t.Platform}
		if cur, ok := best[k]; !ok || Compare(t.Version, cur.Version) > 0 {
			best[k] = t
		}
	}
	out := make([]NameTuple, 0, len(best))
	for _, t := range best {
		out = append(out, t)
	}
	SortTuples(out)
	return out
}

// marshalTuples is the Marshal dump of the tuples as rubygems.org's
// Indexer#minimize_specs makes it: one String object per distinct name,
// one per distinct platform and one Gem::Version per distinct version, so
// that repeats are written as links.
func marshalTuples(tuples []NameTuple) ([]byte, error) {
	names := map[string]*marshal.Shared{}
	versions := map[string]*marshal.Shared{}
	platforms := map[string]*marshal.Shared{}
	shared := func(m map[string]*marshal.Shared, k string, v func() marshal.Value) *marshal.Shared {
		s, ok := m[k]
		if !ok {
			s = &marshal.Shared{V: v()}
			m[k] = s
		}
		return s
	}
	list := make(marshal.Array, 0, len(tuples))
	for _, t := range tuples {
		list = append(list, marshal.Array{
			shared(names, t.Name, func() marshal.Value { return marshal.Str(t.Name) }),
			shared(versions, t.Version, func() marshal.Value { return gemVersion(t.Version) }),
			shared(platforms, t.Platform, func() marshal.Value { return marshal.Str(t.Platform) }),
		})
	}
	return marshal.Dump(list)
}

// SpecsIndex is the body of specs.4.8.gz, latest_specs.4.8.gz or
// prerelease_specs.4.8.gz: the gzip'd Marshal dump of the tuples, in the
// order given (see SortTuples, LatestTuples). specs.4.8.gz lists every
// version that is neither yanked nor a pre-release, prerelease_specs.4.8.gz
// the pre-releases that are not yanked.
func SpecsIndex(tuples []NameTuple) ([]byte, error) {
	raw, err := marshalTuples(tuples)
	if err != nil {
		return nil, fmt.Errorf("marshal the specs index: %w", err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func gemVersion(v string) marshal.Value {
	return marshal.UserMarshal{Class: "Gem::Version", Data: marshal.Array{marshal.Str(v)}}
}

// gemRequirement is a Gem::Requirement from its requirement list ("op
// version" each).
func gemRequirement(list []string) (marshal.Value, error) {
	if len(list) == 0 {
		list = defaultRequirement
	}
	pairs := make(marshal.Array, 0, len(list))
	for _, r := range list {
		op, v, ok := strings.Cut(r, " ")
		if !ok || !requirementOps[op] {
			return nil, apperr.New(apperr.Invalid, "%q is not a RubyGems requirement", r)
		}
		pairs = append(pairs, marshal.Array{marshal.Str(op), gemVersion(v)})
	}
	return marshal.UserMarshal{Class: "Gem::Requirement", Data: marshal.Array{pairs}}, nil
}

// nilIfEmpty is a string field that RubyGems leaves nil when the gemspec
// does not set it.
func nilIfEmpty(s string) marshal.Value {
	if s == "" {
		return marshal.Nil
	}
	return marshal.Str(s)
}

// sanitized is a field that Gem::Specification#sanitize sets from
// itself: rubygems.org calls it before it dumps a spec, and it turns an
// absent summary or description into nil.to_s, an empty US-ASCII string.
func sanitized(s string) marshal.Value {
	if s == "" {
		return marshal.String{S: "", Enc: marshal.USASCII}
	}
	return marshal.Str(s)
}

func strs(list []string) marshal.Array {
	out := make(marshal.Array, 0, len(list))
	for _, s := range list {
		out = append(out, marshal.Str(s))
	}
	return out
}

// defaultDate is what the quick gemspec says of a gem without a date:
// RubyGems' reproducible-build default (Gem::DEFAULT_SOURCE_DATE_EPOCH,
// RubyGems 3.6), so that the file does not change from one day to the
// next.
var defaultDate = time.Date(1980, 1, 2, 0, 0, 0, 0, time.UTC)

// marshalSpec is Marshal.dump of the Gem::Specification the gem's YAML
// loads into: a _dump ('u') object whose bytes are Marshal.dump of the
// array Gem::Specification#_dump builds.
func marshalSpec(s *Spec) ([]byte, error) {
	date := s.Date
	if date.IsZero() {
		date = defaultDate
	}
	dateValue, err := marshal.Time(date.UTC().Truncate(24 * time.Hour))
	if err != nil {
		return nil, err
	}
	ruby, err := gemRequirement(s.RequiredRubyVersion)
	if err != nil {
		return nil, err
	}
	rubygems, err := gemRequirement(s.RequiredRubyGemsVersion)
	if err != nil {
		return nil, err
	}
	deps := make(marshal.Array, 0, len(s.Dependencies))
	for _, d := range s.Dependencies {
		// @requirement and @version_requirements are two objects in a
		// YAML-loaded spec, so Ruby writes both in full.
		req, err := gemRequirement(d.Requirements)
		if err != nil {
			return nil, err
		}
		versionReq, _ := gemRequirement(d.Requirements)
		typ := cmp.Or(d.Type, DependencyRuntime)
		deps = append(deps, marshal.Object{Class: "Gem::Dependency", Ivars: []marshal.Ivar{
			{Name: "@name", Value: marshal.Str(d.Name)},
			{Name: "@requirement", Value: req},
			{Name: "@type", Value: marshal.Symbol(typ)},
			{Name: "@prerelease", Value: marshal.Bool(d.Prerelease)},
			{Name: "@version_requirements", Value: versionReq},
		}})
	}
	var email marshal.Value = marshal.Nil
	switch {
	case s.EmailIsList:
		email = strs(s.Emails)
	case len(s.Emails) > 0:
		email = marshal.Str(s.Emails[0])
	}
	// For a pure-Ruby gem, @original_platform and @new_platform are both
	// the constant Gem::Platform::RUBY once the YAML is loaded
	// (Gem::Specification#platform=), so Ruby links the second to the
	// first. A platform gem keeps its YAML string and a Gem::Platform.
	var original, current marshal.Value
	if s.Platform == "" || s.Platform == PlatformRuby {
		rubyConst := &marshal.Shared{V: marshal.Str(PlatformRuby)}
		original, current = rubyConst, rubyConst
	} else {
		p := parsePlatform(s.Platform)
		opt := func(o optString) marshal.Value {
			if !o.set {
				return marshal.Nil
			}
			return marshal.Str(o.s)
		}
		original = marshal.Str(s.Platform)
		current = marshal.Object{Class: "Gem::Platform", Ivars: []marshal.Ivar{
			{Name: "@cpu", Value: opt(p.cpu)}, {Name: "@os", Value: opt(p.os)}, {Name: "@version", Value: opt(p.version)},
		}}
	}
	metadata := make(marshal.Hash, 0, len(s.Metadata))
	for _, m := range s.Metadata {
		metadata = append(metadata, marshal.Pair{Key: marshal.Str(m.Key), Value: marshal.Str(m.Value)})
	}
	inner, err := marshal.Dump(marshal.Array{
		nilIfEmpty(s.RubyGemsVersion),
		marshal.Int(s.SpecificationVersion),
		marshal.Str(s.Name),
		gemVersion(s.Version),
		dateValue,
		sanitized(s.Summary),
		ruby,
		rubygems,
		original,
		deps,
		marshal.Str(""), // rubyforge_project, gone since RubyGems 3.1
		email,
		strs(s.Authors),
		sanitized(s.Description),
		nilIfEmpty(s.Homepage),
		marshal.Bool(true), // has_rdoc
		current,
		strs(s.Licenses),
		metadata,
	})
	if err != nil {
		return nil, err
	}
	return marshal.Dump(marshal.UserDef{Class: "Gem::Specification", Data: inner})
}

// QuickGemspec is the body of quick/Marshal.4.8/{full name}.gemspec.rz
// (QuickSpecPath): the zlib-deflated (RFC 1950, Gem.deflate) Marshal dump
// of the gem's Gem::Specification, as rubygems.org writes it from the
// pushed gem, runtime and development dependencies included. `gem install`
// reads it to resolve dependencies.
func QuickGemspec(s *Spec) ([]byte, error) {
	raw, err := marshalSpec(s)
	if err != nil {
		return nil, fmt.Errorf("marshal the gemspec of %s: %w", s.FullName(), err)
	}
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
