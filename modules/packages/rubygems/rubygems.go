// Package rubygems is the RubyGems format: it reads a pushed .gem (its
// gemspec, with RubyGems' own rules for names, versions and platforms),
// and writes what RubyGems and Bundler fetch from a source, byte for byte
// as rubygems.org writes it: the Marshal indexes (specs.4.8.gz and its
// siblings), the quick gemspecs (quick/Marshal.4.8/*.gemspec.rz) and the
// compact index (names, versions, info/{name}). Everything here is pure:
// no database, no HTTP.
package rubygems

import "time"

// Dependency types, as RubyGems' symbols :runtime and :development.
const (
	DependencyRuntime     = "runtime"
	DependencyDevelopment = "development"
)

// Spec is what the registry keeps of a gem's Gem::Specification: enough to
// index the gem, to write its quick gemspec for clients, and to show it.
// It round-trips through JSON (the field names are stable), so a service
// may store it and write the client files again later.
type Spec struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Platform is "ruby" for a pure-Ruby gem, else the platform the gem was
	// built for, as file names spell it ("x86_64-linux", "java"). Each
	// platform of a version is a gem file of its own.
	Platform string `json:"platform"`

	Summary     string   `json:"summary,omitempty"`
	Description string   `json:"description,omitempty"`
	Authors     []string `json:"authors,omitempty"`
	// Emails is the gemspec's email, which RubyGems takes as one string or
	// a list; EmailIsList keeps which, so that clients get back the form
	// the gem has.
	Emails      []string `json:"emails,omitempty"`
	EmailIsList bool     `json:"email_is_list,omitempty"`
	Homepage    string   `json:"homepage,omitempty"`
	Licenses    []string `json:"licenses,omitempty"`
	// Metadata is the gemspec's metadata hash (source_code_uri,
	// rubygems_mfa_required…), in the gem's order.
	Metadata []MetadataEntry `json:"metadata,omitempty"`

	// RequiredRubyVersion and RequiredRubyGemsVersion are requirement
	// lists as RubyGems writes them (Gem::Requirement#as_list):
	// [">= 2.7.0"], [">= 2.5", "< 4"]. A gem that requires nothing has
	// [">= 0"].
	RequiredRubyVersion     []string `json:"required_ruby_version"`
	RequiredRubyGemsVersion []string `json:"required_rubygems_version"`

	// Dependencies are the runtime and development dependencies, in the
	// gem's order.
	Dependencies []Dependency `json:"dependencies,omitempty"`

	// Date is the gem's date (midnight UTC, as Gem::Specification#date=
	// keeps it); zero when the gem has none.
	Date time.Time `json:"date"`
	// RubyGemsVersion is the version of RubyGems that built the gem, and
	// SpecificationVersion the gemspec format (4 since RubyGems 1.3.3).
	RubyGemsVersion      string `json:"rubygems_version,omitempty"`
	SpecificationVersion int    `json:"specification_version"`
}

// MetadataEntry is one key of a gemspec's metadata.
type MetadataEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Dependency is a Gem::Dependency.
type Dependency struct {
	Name string `json:"name"`
	// Requirements is the requirement list as RubyGems writes it
	// (Gem::Dependency#requirements_list): ["~> 1.0", ">= 1.0.2"].
	Requirements []string `json:"requirements"`
	// Type is DependencyRuntime or DependencyDevelopment.
	Type string `json:"type"`
	// Prerelease is the dependency's own @prerelease flag (whether it
	// accepts pre-releases even if its requirement names none); `gem build`
	// writes false.
	Prerelease bool `json:"prerelease,omitempty"`
}

// RuntimeDependencies are the dependencies a client installs with the gem,
// the only ones the compact index lists.
func (s *Spec) RuntimeDependencies() []Dependency {
	var out []Dependency
	for _, d := range s.Dependencies {
		if d.Type == DependencyRuntime {
			out = append(out, d)
		}
	}
	return out
}

// IsPrerelease reports whether the spec's version is a pre-release.
func (s *Spec) IsPrerelease() bool { return IsPrerelease(s.Version) }
