package rubygems

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"wharf/modules/apperr"
)

// MaxMetadataSize bounds the gemspec YAML (metadata.gz once unpacked). The
// YAML of a large real gem is far smaller: a file list of 24,000 typical
// paths is 1 MiB, and `gem build` lists each file once. The bound also caps
// what one push can cost the YAML parser, which keeps a node per value:
// about 10 MB for such a file list, about 120 MB for the worst 1 MiB of
// YAML (a flow list of one-character values).
const MaxMetadataSize = 1 << 20

// MaxYAMLDepth bounds how deep the gemspec's YAML nests. A Gem::Specification
// nests 8 levels deep (spec, dependencies, dependency, requirement,
// requirements, pair, version, its string).
const MaxYAMLDepth = 64

// Limits of RubyGems' Gem::SpecificationPolicy#validate_metadata.
const (
	maxMetadataKey   = 128
	maxMetadataValue = 1024
)

// yamlTags are the tags RubyGems' Gem::SafeYAML loads (RubyGems 3.3
// PERMITTED_CLASSES, and YAML's own types); any other makes
// `gem install` fail with "Tried to load unspecified class", so such a gem
// is refused at push.
var yamlTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!timestamp": true, "!!seq": true, "!!map": true, "!!binary": true, "!binary": true,
	"!ruby/object:Gem::Specification": true, "!ruby/object:Gem::Version": true,
	"!ruby/object:Gem::Requirement": true, "!ruby/object:Gem::Version::Requirement": true,
	"!ruby/object:Gem::Dependency": true, "!ruby/object:Gem::Platform": true,
	"!ruby/sym": true, "!ruby/symbol": true,
}

// yamlSymbols are the only symbols Gem::SafeYAML loads.
var yamlSymbols = map[string]bool{"runtime": true, "development": true}

func invalidf(format string, args ...any) error {
	return apperr.New(apperr.Invalid, "the gem's metadata "+format, args...)
}

// ParseMetadata reads a gemspec as `gem build` writes it into metadata.gz
// (YAML with Ruby's tags) and keeps what `gem install` would load from it,
// with RubyGems' rules (Gem::SafeYAML's allowed tags and symbols,
// Gem::Specification's defaults, the checks of
// Gem::SpecificationPolicy#validate that rubygems.org runs on a push).
// Every fault is apperr.Invalid (apperr.TooLarge past MaxMetadataSize).
func ParseMetadata(data []byte) (*Spec, error) {
	if len(data) > MaxMetadataSize {
		return nil, apperr.New(apperr.TooLarge, "the gem's metadata is larger than %d bytes", MaxMetadataSize)
	}
	if !utf8.Valid(data) {
		return nil, invalidf("is not UTF-8 text")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(normalizeYAML(data), &doc); err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the gem's metadata is not valid YAML")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, invalidf("is empty")
	}
	root := doc.Content[0]
	if err := checkYAML(root, 0); err != nil {
		return nil, err
	}
	return readSpec(root)
}

// normalizeYAML is Gem::Specification.normalize_yaml_input: a document
// marker where the YAML has none, and no explicit "!!null" tags.
func normalizeYAML(data []byte) []byte {
	if !bytes.HasPrefix(data, []byte("--- ")) {
		data = append([]byte("--- "), data...)
	}
	return bytes.ReplaceAll(data, []byte(" !!null \n"), []byte(" \n"))
}

// errAliases refuses YAML aliases, as rubygems.org's Pusher does ("Pushing
// gems where there are aliases in the YAML gemspec is no longer
// supported"): RubyGems stopped writing them (Gem::NoAliasYAMLTree), and an
// alias is how a small YAML expands into a huge one ("billion laughs").
// Refusing them all keeps every value read here a single node of the
// document, so reading costs what the document's size allows.
var errAliases = invalidf("uses YAML aliases, which RubyGems no longer writes and rubygems.org refuses: " +
	"rebuild the gem with a current RubyGems (gem update --system)")

// checkYAML walks the whole document once, nodes that no field reads
// included, for what makes RubyGems refuse to load a gemspec (tags and
// symbols it does not allow) and what this registry refuses (aliases,
// merge keys, nesting past MaxYAMLDepth).
func checkYAML(n *yaml.Node, depth int) error {
	if depth > MaxYAMLDepth {
		return invalidf("nests deeper than %d levels", MaxYAMLDepth)
	}
	if n.Kind == yaml.AliasNode {
		return errAliases
	}
	if !yamlTags[n.Tag] {
		return invalidf("has the YAML tag %q, which RubyGems refuses to load", n.Tag)
	}
	if n.Kind == yaml.ScalarNode {
		if name, ok := symbolName(n); ok && !yamlSymbols[name] {
			return invalidf("has the symbol :%s, which RubyGems refuses to load", name)
		}
	}
	for i, child := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 && child.Tag == "!!merge" {
			return invalidf("uses a YAML merge key (<<), which `gem build` never writes")
		}
		if err := checkYAML(child, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// symbolName says whether Psych reads a scalar as a Symbol (a plain
// ":name", or one tagged !ruby/sym), and which.
func symbolName(n *yaml.Node) (string, bool) {
	switch {
	case n.Tag == "!ruby/sym" || n.Tag == "!ruby/symbol":
		return strings.TrimPrefix(n.Value, ":"), true
	case n.Tag == "!!str" && n.Style == 0 && len(n.Value) > 1 && n.Value[0] == ':':
		name := n.Value[1:]
		if len(name) >= 2 && (name[0] == '"' || name[0] == '\'') && name[len(name)-1] == name[0] {
			name = name[1 : len(name)-1]
		}
		return name, true
	}
	return "", false
}

// isNull reports an absent field or a YAML null. (No node read here is an
// alias: checkYAML refuses them before anything is read.)
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// object returns the keys and values of a mapping tagged with one of tags
// (none: an untagged mapping), in order. Duplicate keys are refused: Psych
// would keep the last, a reader that keeps the first would disagree.
func object(n *yaml.Node, what string, tags ...string) (map[string]*yaml.Node, []string, error) {
	if len(tags) > 0 && (n.Kind != yaml.MappingNode || !contains(tags, n.Tag)) {
		return nil, nil, invalidf("has %s that is not a %s", what, strings.TrimPrefix(tags[0], "!ruby/object:"))
	}
	if n.Kind != yaml.MappingNode || len(tags) == 0 && n.Tag != "!!map" {
		return nil, nil, invalidf("has %s that is not a mapping", what)
	}
	fields := map[string]*yaml.Node{}
	var keys []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := str(n.Content[i], "a key of "+what)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := fields[k]; dup {
			return nil, nil, invalidf("has the key %q twice in %s", k, what)
		}
		fields[k] = n.Content[i+1]
		keys = append(keys, k)
	}
	return fields, keys, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str reads a string: a YAML string, or a base64 !binary one (which
// RubyGems 1.x wrote for non-ASCII text) holding UTF-8.
func str(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", invalidf("has %s that is not a string", what)
	}
	switch n.Tag {
	case "!!str":
		return n.Value, nil
	case "!binary", "!!binary":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
		if err != nil || !utf8.Valid(b) {
			return "", invalidf("has %s that is not UTF-8 text", what)
		}
		return string(b), nil
	}
	return "", invalidf("has %s that is not a string (%s)", what, strings.TrimPrefix(n.Tag, "!!"))
}

// text reads a display field, which RubyGems keeps whatever YAML type it
// has: null is "", numbers are their text.
func text(n *yaml.Node, what string) (string, error) {
	if isNull(n) {
		return "", nil
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		return n.Value, nil
	}
	return str(n, what)
}

// texts reads a list of display strings; one string is a list of one, as
// Gem::Specification#authors= and #licenses= make it.
func texts(n *yaml.Node, what string) ([]string, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind == yaml.ScalarNode {
		s, err := text(n, what)
		return []string{s}, err
	}
	if n.Kind != yaml.SequenceNode {
		return nil, invalidf("has %s that is not a list", what)
	}
	var out []string
	for _, item := range n.Content {
		s, err := text(item, what)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// intDigits is how an Integer looks as YAML text when it means the same to
// Psych and here (no octal, hex or underscores).
var intDigits = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,8})$`)

// readSpec reads the Gem::Specification mapping.
func readSpec(root *yaml.Node) (*Spec, error) {
	if isNull(root) || root.Kind != yaml.MappingNode || root.Tag != "!ruby/object:Gem::Specification" {
		return nil, invalidf("is not a Gem::Specification")
	}
	f, _, err := object(root, "the specification", "!ruby/object:Gem::Specification")
	if err != nil {
		return nil, err
	}
	s := &Spec{SpecificationVersion: -1} // Gem::Specification::NONEXISTENT_SPECIFICATION_VERSION
	if s.Name, err = requiredStr(f["name"], "name"); err != nil {
		return nil, err
	}
	if err := ValidateName(s.Name); err != nil {
		return nil, err
	}
	if s.Version, err = versionOf(f["version"], "the gem's version"); err != nil {
		return nil, err
	}
	if err := ValidateVersion(s.Version); err != nil {
		return nil, err
	}
	if s.Platform, err = platformOf(f["platform"]); err != nil {
		return nil, err
	}
	for _, field := range []struct {
		key string
		to  *string
	}{{"summary", &s.Summary}, {"description", &s.Description}, {"homepage", &s.Homepage}} {
		if *field.to, err = text(f[field.key], field.key); err != nil {
			return nil, err
		}
	}
	if s.Authors, err = texts(f["authors"], "an author"); err != nil {
		return nil, err
	}
	if s.Licenses, err = texts(f["licenses"], "a license"); err != nil {
		return nil, err
	}
	if !isNull(f["email"]) {
		s.EmailIsList = f["email"].Kind == yaml.SequenceNode
		if s.Emails, err = texts(f["email"], "an email"); err != nil {
			return nil, err
		}
	}
	if s.Metadata, err = metadataOf(f["metadata"]); err != nil {
		return nil, err
	}
	if s.RequiredRubyVersion, err = requirementOf(f["required_ruby_version"], "required_ruby_version"); err != nil {
		return nil, err
	}
	if s.RequiredRubyGemsVersion, err = requirementOf(f["required_rubygems_version"], "required_rubygems_version"); err != nil {
		return nil, err
	}
	if s.Dependencies, err = dependenciesOf(f["dependencies"]); err != nil {
		return nil, err
	}
	if s.Date, err = dateOf(f["date"]); err != nil {
		return nil, err
	}
	if s.RubyGemsVersion, err = text(f["rubygems_version"], "rubygems_version"); err != nil {
		return nil, err
	}
	if m := f["specification_version"]; !isNull(m) {
		if m.Kind != yaml.ScalarNode || m.Tag != "!!int" || !intDigits.MatchString(m.Value) {
			return nil, invalidf("has a specification_version that is not a small integer")
		}
		s.SpecificationVersion, _ = strconv.Atoi(m.Value)
	}
	if n := f["require_paths"]; !isNull(n) {
		paths, err := texts(n, "a require path")
		if err != nil {
			return nil, err
		}
		if len(paths) == 0 {
			return nil, invalidf("has no require_paths; a gem must have at least one (usually lib)")
		}
	}
	s.Summary = sanitizeSummary(s.Summary)
	if err := validateSpec(s); err != nil {
		return nil, err
	}
	return s, nil
}

// sanitizeSummary is what Gem::Specification#summary= makes of a summary,
// which rubygems.org applies before it stores and serves a gem
// (Gem::Specification#sanitize): Ruby's strip, a word broken by "-" and a
// newline joined again, and the other line breaks made spaces.
func sanitizeSummary(s string) string {
	s = strings.Trim(s, "\x00\t\n\v\f\r ")
	s = summaryHyphenBreak.ReplaceAllString(s, "$1$2")
	return summaryBreak.ReplaceAllString(s, " ")
}

var (
	summaryHyphenBreak = regexp.MustCompile(`(\w-)\n[ \t]*(\w)`)
	summaryBreak       = regexp.MustCompile(`\n[ \t]*`)
)

// metadataLinkKeys are the metadata keys RubyGems wants to be links
// (Gem::SpecificationPolicy::METADATA_LINK_KEYS), and validURI its
// VALID_URI_PATTERN for them.
var (
	metadataLinkKeys = map[string]bool{
		"bug_tracker_uri": true, "changelog_uri": true, "documentation_uri": true, "homepage_uri": true,
		"mailing_list_uri": true, "source_code_uri": true, "wiki_uri": true, "funding_uri": true,
	}
	validURI = regexp.MustCompile(`^https?://([^\s:@]+:[^\s:@]*@)?[A-Za-z\d\-]+(\.[A-Za-z\d\-]+)+\.?(:\d{1,5})?([/?]\S*)?$`)
	// lazyValue is Gem::SpecificationPolicy::LAZY_PATTERN.
	lazyValue = regexp.MustCompile(`^(FIXME|TODO)`)
)

// validateSpec applies the checks of Gem::SpecificationPolicy#validate
// that rubygems.org runs on a pushed gem and that a gemspec's YAML can
// break (`gem build` runs them too, so a gem it built passes).
func validateSpec(s *Spec) error {
	if len(s.Authors) == 0 {
		return invalidf("has no authors; RubyGems requires at least one")
	}
	for _, l := range s.Licenses {
		if len(l) > 64 {
			return invalidf("has the license %q; each license must be 64 characters or less", l)
		}
	}
	for _, m := range s.Metadata {
		if metadataLinkKeys[m.Key] && !validURI.MatchString(m.Value) {
			return invalidf("has metadata['%s'] with an invalid link: %q", m.Key, m.Value)
		}
	}
	lazy := func(what string, values ...string) error {
		for _, v := range values {
			if lazyValue.MatchString(v) {
				return invalidf("says %q; \"FIXME\" or \"TODO\" is not %s", v, what)
			}
		}
		return nil
	}
	for _, err := range []error{lazy("an author", s.Authors...), lazy("an email", s.Emails...),
		lazy("a description", s.Description), lazy("a summary", s.Summary)} {
		if err != nil {
			return err
		}
	}
	if s.Homepage != "" {
		u, err := url.Parse(s.Homepage)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" {
			return invalidf("has the homepage %q, which is not a valid HTTP URI", s.Homepage)
		}
	}
	seen := map[[2]string]bool{}
	for _, d := range s.Dependencies {
		k := [2]string{d.Type, d.Name}
		if seen[k] {
			return invalidf("lists the %s dependency on %q twice; give all its requirements in one", d.Type, d.Name)
		}
		seen[k] = true
	}
	return nil
}

func requiredStr(n *yaml.Node, what string) (string, error) {
	if isNull(n) {
		return "", invalidf("has no %s", what)
	}
	return str(n, "a "+what)
}

// versionOf reads a Gem::Version mapping's version. Psych keeps the YAML
// value as it is, so a number must be one that reads the same everywhere.
func versionOf(n *yaml.Node, what string) (string, error) {
	if isNull(n) {
		return "", invalidf("has no %s", strings.TrimPrefix(what, "the gem's "))
	}
	f, _, err := object(n, what, "!ruby/object:Gem::Version")
	if err != nil {
		return "", err
	}
	v := f["version"]
	if v == nil || v.Kind != yaml.ScalarNode {
		return "", invalidf("has %s without a version string", what)
	}
	if v.Tag == "!!int" && intDigits.MatchString(v.Value) {
		return v.Value, nil
	}
	return str(v, what)
}

// platformOf reads the platform: "ruby" when absent (as
// Gem::Platform.new(nil) is), a platform string, or, in gems of RubyGems
// 0.9, a Gem::Platform mapping of cpu, os and version.
func platformOf(n *yaml.Node) (string, error) {
	if isNull(n) {
		return PlatformRuby, nil
	}
	var p string
	if n.Kind == yaml.MappingNode {
		f, _, err := object(n, "the platform", "!ruby/object:Gem::Platform")
		if err != nil {
			return "", err
		}
		var parts []string
		for _, k := range []string{"cpu", "os", "version"} {
			if isNull(f[k]) {
				continue
			}
			s, err := str(f[k], "a platform "+k)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		p = strings.Join(parts, "-")
	} else {
		var err error
		if p, err = str(n, "a platform"); err != nil {
			return "", err
		}
	}
	if p == "" {
		return PlatformRuby, nil
	}
	if err := ValidatePlatform(p); err != nil {
		return "", err
	}
	return p, nil
}

func metadataOf(n *yaml.Node) ([]MetadataEntry, error) {
	if isNull(n) {
		return nil, nil
	}
	f, keys, err := object(n, "metadata")
	if err != nil {
		return nil, err
	}
	var out []MetadataEntry
	for _, k := range keys {
		if len(k) > maxMetadataKey {
			return nil, invalidf("key %q is too large (%d > %d)", k, len(k), maxMetadataKey)
		}
		v, err := str(f[k], fmt.Sprintf("a metadata value (%s)", k))
		if err != nil {
			return nil, err
		}
		if len(v) > maxMetadataValue {
			return nil, invalidf("value of %q is too large (%d > %d)", k, len(v), maxMetadataValue)
		}
		out = append(out, MetadataEntry{Key: k, Value: v})
	}
	return out, nil
}

// requirementOps are Gem::Requirement's operators.
var requirementOps = map[string]bool{"=": true, "!=": true, ">": true, "<": true, ">=": true, "<=": true, "~>": true}

// defaultRequirement is Gem::Requirement.default, what RubyGems gives a
// gem that requires nothing.
var defaultRequirement = []string{">= 0"}

// requirementOf reads a Gem::Requirement as its requirement list. An
// absent or empty requirement is Gem::Requirement.default (">= 0").
func requirementOf(n *yaml.Node, what string) ([]string, error) {
	if isNull(n) {
		return append([]string{}, defaultRequirement...), nil
	}
	f, _, err := object(n, "a requirement ("+what+")", "!ruby/object:Gem::Requirement", "!ruby/object:Gem::Version::Requirement")
	if err != nil {
		return nil, err
	}
	reqs := f["requirements"]
	if isNull(reqs) || reqs.Kind == yaml.SequenceNode && len(reqs.Content) == 0 {
		return append([]string{}, defaultRequirement...), nil
	}
	if reqs.Kind != yaml.SequenceNode {
		return nil, invalidf("has a requirement (%s) whose requirements are not a list", what)
	}
	out := make([]string, 0, len(reqs.Content))
	for _, pair := range reqs.Content {
		p := pair
		if p.Kind != yaml.SequenceNode || len(p.Content) != 2 {
			return nil, invalidf("has a requirement (%s) that is not an operator and a version", what)
		}
		op, err := str(p.Content[0], "a requirement operator ("+what+")")
		if err != nil {
			return nil, err
		}
		if !requirementOps[op] {
			return nil, invalidf("has the unknown requirement operator %q (%s)", op, what)
		}
		var v string
		if p.Content[1].Kind == yaml.MappingNode {
			v, err = versionOf(p.Content[1], "a requirement version ("+what+")")
		} else {
			v, err = str(p.Content[1], "a requirement version ("+what+")")
		}
		if err != nil {
			return nil, err
		}
		if len(v) > MaxFieldLength || !requirementVersionPattern.MatchString(v) {
			return nil, invalidf("has %q in a requirement (%s), which is not a RubyGems version", v, what)
		}
		out = append(out, op+" "+v)
	}
	return out, nil
}

func dependenciesOf(n *yaml.Node) ([]Dependency, error) {
	if isNull(n) {
		return nil, nil
	}
	list := n
	if list.Kind != yaml.SequenceNode {
		return nil, invalidf("has dependencies that are not a list")
	}
	var out []Dependency
	for _, item := range list.Content {
		f, _, err := object(item, "a dependency", "!ruby/object:Gem::Dependency")
		if err != nil {
			return nil, err
		}
		var d Dependency
		if d.Name, err = requiredStr(f["name"], "dependency name"); err != nil {
			return nil, err
		}
		if err := ValidateName(d.Name); err != nil {
			return nil, apperr.Wrap(apperr.Invalid, err, "the gem's metadata has a dependency with a bad name")
		}
		// Gem::Dependency#requirement: @requirement, else the
		// @version_requirements of gems from RubyGems before 1.3.
		req := f["requirement"]
		if isNull(req) {
			req = f["version_requirements"]
		}
		if isNull(req) && !isNull(f["version_requirement"]) {
			return nil, invalidf("has the dependency %q in the format of RubyGems 0.9; rebuild the gem with a current RubyGems", d.Name)
		}
		if d.Requirements, err = requirementOf(req, "dependency "+d.Name); err != nil {
			return nil, err
		}
		switch t := f["type"]; {
		case isNull(t):
			d.Type = DependencyRuntime // Gem::Dependency#type's default
		default:
			name, ok := symbolName(t)
			if !ok && t.Kind == yaml.ScalarNode {
				name = t.Value
			}
			if name != DependencyRuntime && name != DependencyDevelopment {
				return nil, invalidf("has the dependency %q of type %q; RubyGems knows :runtime and :development", d.Name, t.Value)
			}
			d.Type = name
		}
		if p := f["prerelease"]; !isNull(p) {
			if p.Kind != yaml.ScalarNode || p.Tag != "!!bool" {
				return nil, invalidf("has the dependency %q whose prerelease flag is not true or false", d.Name)
			}
			d.Prerelease = p.Value == "true"
		}
		out = append(out, d)
	}
	return out, nil
}

// dateFormat is the date at the start of every form RubyGems reads a
// date from (Gem::Specification::DateTimeFormat, or a YAML timestamp that
// Psych loads as a Time or a Date).
var dateFormat = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})([Tt ]|$)`)

// dateOf reads the date as Gem::Specification#date= keeps it: the day, at
// midnight UTC.
func dateOf(n *yaml.Node) (time.Time, error) {
	if isNull(n) {
		return time.Time{}, nil
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!timestamp") {
		return time.Time{}, invalidf("has a date that is not a date")
	}
	g := dateFormat.FindStringSubmatch(n.Value)
	if g == nil {
		return time.Time{}, invalidf("has the date %q, which is not a date", n.Value)
	}
	y, _ := strconv.Atoi(g[1])
	mo, _ := strconv.Atoi(g[2])
	d, _ := strconv.Atoi(g[3])
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != mo || t.Day() != d || y < 1900 {
		return time.Time{}, invalidf("has the date %q, which is not a valid day", n.Value)
	}
	return t, nil
}
