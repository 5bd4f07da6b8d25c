package npm

import (
	"encoding/json"
	"slices"

	"wharf/modules/packages/jsonobject"
)

// The documents the registry serves. Each type's fields are the protocol's
// keys in the order npmjs writes them; AppendJSON writes exactly what
// json.Marshal writes for the type (a test holds them to it) without
// encoding/json's second pass over the version objects, which are the
// bulk of a document and are already valid JSON with each key once.

// Packument is the full package document: GET /{name} with Accept:
// application/json.
type Packument struct {
	ID   string `json:"_id"`
	Rev  string `json:"_rev"`
	Name string `json:"name"`
	// The latest version's description … author, as npm view shows them
	// (each a value of the stored manifest).
	Description json.RawMessage   `json:"description,omitempty"`
	Homepage    json.RawMessage   `json:"homepage,omitempty"`
	Keywords    json.RawMessage   `json:"keywords,omitempty"`
	Repository  json.RawMessage   `json:"repository,omitempty"`
	License     json.RawMessage   `json:"license,omitempty"`
	Bugs        json.RawMessage   `json:"bugs,omitempty"`
	Author      json.RawMessage   `json:"author,omitempty"`
	DistTags    map[string]string `json:"dist-tags"`
	Versions    Versions          `json:"versions"`
	Time        Times             `json:"time"`
	Maintainers []Person          `json:"maintainers"`
	Readme      string            `json:"readme,omitempty"`
}

// LatestFields are the keys of a manifest the packument repeats at its
// top, from the version "latest" names.
var LatestFields = []string{"description", "homepage", "keywords", "repository", "license", "bugs", "author"}

// SetLatest copies the latest version's values of LatestFields; a
// field's value is any JSON value with each key once (jsonobject.Clean).
func (p *Packument) SetLatest(key string, value json.RawMessage) {
	switch key {
	case "description":
		p.Description = value
	case "homepage":
		p.Homepage = value
	case "keywords":
		p.Keywords = value
	case "repository":
		p.Repository = value
	case "license":
		p.License = value
	case "bugs":
		p.Bugs = value
	case "author":
		p.Author = value
	}
}

// AppendJSON appends the document as json.Marshal writes it.
func (p *Packument) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"_id":`...)
	dst = jsonobject.AppendString(dst, p.ID)
	dst = append(dst, `,"_rev":`...)
	dst = jsonobject.AppendString(dst, p.Rev)
	dst = append(dst, `,"name":`...)
	dst = jsonobject.AppendString(dst, p.Name)
	for _, f := range []struct {
		key   string
		value json.RawMessage
	}{{"description", p.Description}, {"homepage", p.Homepage}, {"keywords", p.Keywords}, {"repository", p.Repository},
		{"license", p.License}, {"bugs", p.Bugs}, {"author", p.Author}} {
		if len(f.value) > 0 {
			dst = append(dst, ',')
			dst = jsonobject.AppendString(dst, f.key)
			dst = append(dst, ':')
			dst = append(dst, f.value...)
		}
	}
	dst = append(dst, `,"dist-tags":`...)
	dst = appendTags(dst, p.DistTags)
	dst = append(dst, `,"versions":`...)
	dst = p.Versions.AppendJSON(dst)
	dst = append(dst, `,"time":`...)
	dst = p.Time.AppendJSON(dst)
	dst = append(dst, `,"maintainers":`...)
	dst = appendPeople(dst, p.Maintainers)
	if p.Readme != "" {
		dst = append(dst, `,"readme":`...)
		dst = jsonobject.AppendString(dst, p.Readme)
	}
	return append(dst, '}')
}

// Abbreviated is the install document ("corgi"): GET /{name} with Accept:
// application/vnd.npm.install-v1+json.
type Abbreviated struct {
	Name     string            `json:"name"`
	Modified string            `json:"modified"`
	DistTags map[string]string `json:"dist-tags"`
	Versions Versions          `json:"versions"`
}

// AbbreviatedFields are the keys of a stored manifest the install
// document keeps: what an installer reads, and nothing else.
var AbbreviatedFields = map[string]bool{
	"dependencies": true, "optionalDependencies": true, "peerDependencies": true, "peerDependenciesMeta": true,
	"bundleDependencies": true, "bundledDependencies": true, "bin": true, "directories": true, "engines": true,
	"os": true, "cpu": true, "deprecated": true, "_hasShrinkwrap": true, "hasInstallScript": true, "funding": true, "license": true,
}

// AppendJSON appends the document as json.Marshal writes it.
func (a *Abbreviated) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"name":`...)
	dst = jsonobject.AppendString(dst, a.Name)
	dst = append(dst, `,"modified":`...)
	dst = jsonobject.AppendString(dst, a.Modified)
	dst = append(dst, `,"dist-tags":`...)
	dst = appendTags(dst, a.DistTags)
	dst = append(dst, `,"versions":`...)
	dst = a.Versions.AppendJSON(dst)
	return append(dst, '}')
}

// Version is the registry's part of a version object: in the packument,
// the install document and the version document (GET /{name}/{version}).
// The manifest as published supplies the rest (Merge).
type Version struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// ID and NpmUser are in the full documents only.
	ID      string      `json:"_id,omitempty"`
	NpmUser *Person     `json:"_npmUser,omitempty"`
	Dist    VersionDist `json:"dist"`
}

// VersionDist is where a version's tarball is served and what its bytes
// hash to (no digests when the version has no file).
type VersionDist struct {
	Tarball   string `json:"tarball"`
	Shasum    string `json:"shasum,omitempty"`
	Integrity string `json:"integrity,omitempty"`
}

// AppendMerged appends the version object: v's fields, then the stored
// manifest's other fields in their stored order (only those in keep, when
// keep is not nil). A field both set is written once, with v's value.
func (v *Version) AppendMerged(m *jsonobject.Merger, dst, stored []byte, keep map[string]bool) ([]byte, error) {
	var fields [5]jsonobject.Field
	// The values, encoded into one small buffer. Should it grow, the
	// values written before keep the bytes of the buffer they were
	// written to, which nothing writes again.
	vals := make([]byte, 0, 64+len(v.Name)*2+len(v.Version)*2+len(v.Dist.Tarball)+len(v.Dist.Shasum)+len(v.Dist.Integrity))
	n := 0
	add := func(key string, start int) {
		fields[n] = jsonobject.Field{Key: key, Value: vals[start:len(vals):len(vals)]}
		n++
	}
	start := len(vals)
	vals = jsonobject.AppendString(vals, v.Name)
	add("name", start)
	start = len(vals)
	vals = jsonobject.AppendString(vals, v.Version)
	add("version", start)
	// _id and _npmUser are the registry's even where it leaves them out
	// (the install document, a version without a known publisher): a
	// stored one is never shown.
	if v.ID != "" {
		start = len(vals)
		vals = jsonobject.AppendString(vals, v.ID)
		add("_id", start)
	} else {
		fields[n] = jsonobject.Field{Key: "_id"}
		n++
	}
	if v.NpmUser != nil {
		start = len(vals)
		vals = appendPerson(vals, *v.NpmUser)
		add("_npmUser", start)
	} else {
		fields[n] = jsonobject.Field{Key: "_npmUser"}
		n++
	}
	start = len(vals)
	vals = v.Dist.AppendJSON(vals)
	add("dist", start)
	return m.Merge(dst, fields[:n], stored, keep)
}

// AppendJSON appends the dist object as json.Marshal writes it.
func (d *VersionDist) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"tarball":`...)
	dst = jsonobject.AppendString(dst, d.Tarball)
	if d.Shasum != "" {
		dst = append(dst, `,"shasum":`...)
		dst = jsonobject.AppendString(dst, d.Shasum)
	}
	if d.Integrity != "" {
		dst = append(dst, `,"integrity":`...)
		dst = jsonobject.AppendString(dst, d.Integrity)
	}
	return append(dst, '}')
}

// Versions are a document's version objects in semver order, which a Go
// map (sorted as strings) would not keep.
type Versions []VersionObject

// VersionObject is one version's object, already merged.
type VersionObject struct {
	Version string
	Object  json.RawMessage
}

// MarshalJSON writes the versions as one object, in order.
func (vs Versions) MarshalJSON() ([]byte, error) { return vs.AppendJSON(nil), nil }

// AppendJSON appends the versions object.
func (vs Versions) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonobject.AppendString(dst, v.Version)
		dst = append(dst, ':')
		dst = append(dst, v.Object...)
	}
	return append(dst, '}')
}

// Times is the packument's time object: created, modified, then each
// version's publication in semver order (ISO 8601, UTC).
type Times struct {
	Created  string
	Modified string
	Versions []VersionTime
}

// VersionTime is when a version was published.
type VersionTime struct{ Version, Time string }

// MarshalJSON writes the object in order.
func (t Times) MarshalJSON() ([]byte, error) { return t.AppendJSON(nil), nil }

// AppendJSON appends the time object.
func (t Times) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"created":`...)
	dst = jsonobject.AppendString(dst, t.Created)
	dst = append(dst, `,"modified":`...)
	dst = jsonobject.AppendString(dst, t.Modified)
	for _, v := range t.Versions {
		dst = append(dst, ',')
		dst = jsonobject.AppendString(dst, v.Version)
		dst = append(dst, ':')
		dst = jsonobject.AppendString(dst, v.Time)
	}
	return append(dst, '}')
}

// Person is a user as npm documents name one (maintainers, _npmUser).
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

func appendPerson(dst []byte, p Person) []byte {
	dst = append(dst, `{"name":`...)
	dst = jsonobject.AppendString(dst, p.Name)
	dst = append(dst, `,"email":`...)
	dst = jsonobject.AppendString(dst, p.Email)
	return append(dst, '}')
}

// appendPeople writes a list as json.Marshal does: null when nil.
func appendPeople(dst []byte, ps []Person) []byte {
	if ps == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendPerson(dst, p)
	}
	return append(dst, ']')
}

// appendTags writes dist-tags as json.Marshal writes a map: sorted keys,
// null when nil.
func appendTags(dst []byte, tags map[string]string) []byte {
	if tags == nil {
		return append(dst, "null"...)
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonobject.AppendString(dst, k)
		dst = append(dst, ':')
		dst = jsonobject.AppendString(dst, tags[k])
	}
	return append(dst, '}')
}

// SearchResult is the answer to npm search (GET /-/v1/search).
type SearchResult struct {
	Objects []SearchObject `json:"objects"`
	Total   int64          `json:"total"`
	Time    string         `json:"time"`
}

// SearchObject is one package found, with the scores npm's formatter
// reads (every package scores 1: there is no ranking).
type SearchObject struct {
	Package     SearchPackage `json:"package"`
	Score       SearchScore   `json:"score"`
	SearchScore float64       `json:"searchScore"`
}

// SearchPackage describes the package by its latest version.
type SearchPackage struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Description string            `json:"description"`
	Keywords    []string          `json:"keywords"`
	Date        string            `json:"date"`
	Links       map[string]string `json:"links"`
	Publisher   SearchUser        `json:"publisher"`
	// Maintainers must be a list: npm's formatter maps over it.
	Maintainers []SearchUser `json:"maintainers"`
}

// SearchUser is a publisher or maintainer; empty when unknown.
type SearchUser struct {
	Username string `json:"username,omitempty"`
	Email    string `json:"email,omitempty"`
}

// SearchScore is npm's score object.
type SearchScore struct {
	Final  float64           `json:"final"`
	Detail SearchScoreDetail `json:"detail"`
}

// SearchScoreDetail is the score's parts.
type SearchScoreDetail struct {
	Quality     float64 `json:"quality"`
	Popularity  float64 `json:"popularity"`
	Maintenance float64 `json:"maintenance"`
}
