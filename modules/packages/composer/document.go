package composer

import (
	"encoding/json"

	"wharf/modules/packages/jsonobject"
)

// The documents composer reads. Each type's fields are the protocol's keys
// in the order packagist.org writes them.

// ServiceIndex is packages.json: where the rest is (v2 protocol, metadata
// by name) and which names this repository has, so composer asks for no
// other.
type ServiceIndex struct {
	// Packages is always empty: versions come from MetadataURL.
	Packages          []json.RawMessage `json:"packages"`
	MetadataURL       string            `json:"metadata-url"`
	AvailablePackages []string          `json:"available-packages"`
	Search            string            `json:"search"`
	List              string            `json:"list"`
	NotifyBatch       string            `json:"notify-batch"`
}

// Metadata is a p2 file (p2/{name}.json, or ~dev.json for branches):
// {"packages": {name: [version objects, highest first]}}.
type Metadata struct {
	Packages PackageVersions `json:"packages"`
}

// PackageVersions is the one package of a p2 file with its version
// objects, already merged (Version.AppendMerged), in the order given.
type PackageVersions struct {
	Name     string
	Versions []json.RawMessage
}

// MarshalJSON writes {name: [versions]}.
func (p PackageVersions) MarshalJSON() ([]byte, error) { return p.AppendJSON(nil), nil }

// AppendJSON appends {name: [versions]}.
func (p PackageVersions) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	dst = jsonobject.AppendString(dst, p.Name)
	dst = append(dst, ':', '[')
	for i, v := range p.Versions {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, v...)
	}
	return append(dst, ']', '}')
}

// AppendJSON appends the p2 file as json.Marshal writes it, without
// encoding/json's second pass over the version objects (valid JSON with
// each key once already).
func (m *Metadata) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"packages":`...)
	dst = m.Packages.AppendJSON(dst)
	return append(dst, '}')
}

// Version is the registry's part of a version object; the package's
// composer.json supplies the rest (autoload, require, bin…).
type Version struct {
	Name              string `json:"name"`
	Version           string `json:"version"`
	VersionNormalized string `json:"version_normalized"`
	Time              string `json:"time"`
	Dist              Dist   `json:"dist"`
	// Source is shown for a version registered from git, to a caller who
	// may read its repository.
	Source *Source `json:"source,omitempty"`
}

// Dist is the archive composer downloads and checks.
type Dist struct {
	Type      string `json:"type"`
	URL       string `json:"url"`
	Reference string `json:"reference"`
	Shasum    string `json:"shasum"`
}

// Source is the repository a version can be cloned from.
type Source struct {
	Type      string `json:"type"`
	URL       string `json:"url"`
	Reference string `json:"reference"`
}

// AppendMerged appends the version object: v's fields, then the other
// fields of the stored composer.json in their stored order, each key once
// at every depth (a field both set is written once, with v's value).
func (v *Version) AppendMerged(m *jsonobject.Merger, dst, composerJSON []byte) ([]byte, error) {
	var fields [6]jsonobject.Field
	vals := make([]byte, 0, 128+len(v.Name)+len(v.Version)+len(v.VersionNormalized)+len(v.Dist.URL)+len(v.Dist.Reference)+len(v.Dist.Shasum))
	n := 0
	add := func(key string, start int) {
		fields[n] = jsonobject.Field{Key: key, Value: vals[start:len(vals):len(vals)]}
		n++
	}
	for _, f := range []struct{ key, value string }{{"name", v.Name}, {"version", v.Version}, {"version_normalized", v.VersionNormalized}, {"time", v.Time}} {
		start := len(vals)
		vals = jsonobject.AppendString(vals, f.value)
		add(f.key, start)
	}
	start := len(vals)
	vals = v.Dist.appendJSON(vals)
	add("dist", start)
	if v.Source != nil {
		start := len(vals)
		vals = v.Source.appendJSON(vals)
		add("source", start)
	} else {
		// The registry's even when it leaves it out: a composer.json's own
		// "source" is not shown either.
		fields[n] = jsonobject.Field{Key: "source"}
		n++
	}
	return m.Merge(dst, fields[:n], composerJSON, nil)
}

func (d *Dist) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = jsonobject.AppendString(dst, d.Type)
	dst = append(dst, `,"url":`...)
	dst = jsonobject.AppendString(dst, d.URL)
	dst = append(dst, `,"reference":`...)
	dst = jsonobject.AppendString(dst, d.Reference)
	dst = append(dst, `,"shasum":`...)
	dst = jsonobject.AppendString(dst, d.Shasum)
	return append(dst, '}')
}

func (s *Source) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = jsonobject.AppendString(dst, s.Type)
	dst = append(dst, `,"url":`...)
	dst = jsonobject.AppendString(dst, s.URL)
	dst = append(dst, `,"reference":`...)
	dst = jsonobject.AppendString(dst, s.Reference)
	return append(dst, '}')
}

// SearchResult is search.json, in the shape packagist.org answers
// (composer reads name, description and url; downloads and favers are
// shown by some tools).
type SearchResult struct {
	Results []SearchHit `json:"results"`
	Total   int64       `json:"total"`
	Next    string      `json:"next,omitempty"`
}

// SearchHit is one package found.
type SearchHit struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// URL is the package's web page: its highest version's, the page the
	// packages API's html_url names.
	URL       string `json:"url,omitempty"`
	Downloads int64  `json:"downloads"`
	Favers    int    `json:"favers"`
}

// List is list.json: the names matching the request's filter.
type List struct {
	PackageNames []string `json:"packageNames"`
}
