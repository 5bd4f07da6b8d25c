package rubygems

import (
	"crypto/md5"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// The compact index (names, versions, info/{name}) is what Bundler and
// RubyGems ≥ 3.x resolve from. These functions write its bodies as the
// compact_index gem does for rubygems.org (CompactIndex.names,
// CompactIndex::VersionsFile, CompactIndex::InfoFile), and are tested
// against that gem's conformance fixtures.

// InfoVersion is one line of info/{name}: one version of a gem on one
// platform.
type InfoVersion struct {
	Version  string
	Platform string // "ruby" or "" for a pure-Ruby gem
	// Dependencies are the runtime dependencies only: Bundler installs
	// whatever this lists, and refuses a gem whose own dependencies differ
	// from it ("revealed dependencies not in the API").
	Dependencies []Dependency
	// Checksum is the SHA-256 of the .gem file, lower-case hex; Bundler
	// checks the download against it.
	Checksum string
	// RequiredRuby and RequiredRubyGems are requirement lists as in Spec.
	RequiredRuby, RequiredRubyGems []string
}

// InfoVersion is the spec's line of info/{name}, given the SHA-256 (hex)
// of its .gem file.
func (s *Spec) InfoVersion(checksum string) InfoVersion {
	return InfoVersion{
		Version: s.Version, Platform: s.Platform, Dependencies: s.RuntimeDependencies(),
		Checksum: checksum, RequiredRuby: s.RequiredRubyVersion, RequiredRubyGems: s.RequiredRubyGemsVersion,
	}
}

// InfoLine is the line of info/{name} for v, without its newline:
//
//	VERSION[-PLATFORM] SP [DEP:REQ[&REQ…][,DEP:…]] "|" checksum:SHA256[,ruby:REQ[&REQ…]][,rubygems:REQ[&REQ…]]
//
// Dependencies are ordered by name (rubygems.org's query orders them so),
// each one's requirements sorted as strings and joined by "&"; the space
// after the version is there even without dependencies; ruby: and
// rubygems: are left out when they are just ">= 0".
func InfoLine(v InfoVersion) string {
	var b strings.Builder
	b.WriteString(versionPlatform(v.Version, v.Platform))
	b.WriteByte(' ')
	deps := slices.Clone(v.Dependencies)
	slices.SortStableFunc(deps, func(a, b Dependency) int { return strings.Compare(a.Name, b.Name) })
	for i, d := range deps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.Name)
		b.WriteByte(':')
		b.WriteString(joinRequirements(d.Requirements))
	}
	b.WriteString("|checksum:")
	b.WriteString(v.Checksum)
	if !isDefaultRequirement(v.RequiredRuby) {
		b.WriteString(",ruby:")
		b.WriteString(joinRequirements(v.RequiredRuby))
	}
	if !isDefaultRequirement(v.RequiredRubyGems) {
		b.WriteString(",rubygems:")
		b.WriteString(joinRequirements(v.RequiredRubyGems))
	}
	return b.String()
}

// joinRequirements is CompactIndex's format_requirement: the list sorted
// as strings, joined by "&" (a "," would start the next dependency).
func joinRequirements(list []string) string {
	if len(list) == 0 {
		list = defaultRequirement
	}
	sorted := slices.Clone(list)
	slices.Sort(sorted)
	return strings.Join(sorted, "&")
}

// isDefaultRequirement is what compact_index compares with ">= 0":
// Gem::Requirement#to_s, which an empty list also leaves out.
func isDefaultRequirement(list []string) bool {
	return len(list) == 0 || len(list) == 1 && list[0] == ">= 0"
}

// Info is the body of info/{name}: "---" and one line per version that is
// not yanked, in the order given (rubygems.org: the order they were
// pushed in).
func Info(versions []InfoVersion) []byte {
	var b strings.Builder
	b.WriteString("---\n")
	for _, v := range versions {
		b.WriteString(InfoLine(v))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// InfoChecksum is the MD5 of an info/{name} body, lower-case hex, as the
// versions file lists it; Bundler fetches info/{name} again only when it
// differs from the MD5 of its own copy.
func InfoChecksum(info []byte) string {
	sum := md5.Sum(info)
	return hex.EncodeToString(sum[:])
}

// VersionsHeader starts the versions file: when it was (re)built, and the
// line "---" after which each line is a gem. Clients ignore everything
// before "---".
func VersionsHeader(createdAt time.Time) string {
	return "created_at: " + createdAt.UTC().Format(time.RFC3339) + "\n---\n"
}

// VersionsLine is one line of the versions file, with its newline:
//
//	NAME SP VERSION[-PLATFORM][,…] SP MD5-OF-INFO
//
// versions are in the order given (pushed order); a yanked version is
// listed as "-VERSION[-PLATFORM]" on the line written when it was yanked.
// A gem may have several lines (the file is appended to between rebuilds,
// so that clients can fetch only its new end with Range); the last MD5
// is the one that counts.
func VersionsLine(name string, versions []string, infoChecksum string) string {
	return name + " " + strings.Join(versions, ",") + " " + infoChecksum + "\n"
}

// VersionsEntry is one version in the versions file: VERSION[-PLATFORM],
// with a leading "-" when the line records its yank.
func VersionsEntry(version, platform string, yanked bool) string {
	v := versionPlatform(version, platform)
	if yanked {
		return "-" + v
	}
	return v
}

// versionPlatform is how the compact index names a version on a
// platform: VERSION for "ruby", VERSION-PLATFORM otherwise.
func versionPlatform(version, platform string) string {
	if platform == "" || platform == PlatformRuby {
		return version
	}
	return version + "-" + platform
}

// Names is the body of names: "---" and the gem names, one per line, in
// the order given (rubygems.org sorts them by name). As CompactIndex.names
// joins the names and ends with a newline, no names at all is "---\n\n".
func Names(names []string) []byte {
	return []byte("---\n" + strings.Join(names, "\n") + "\n")
}
