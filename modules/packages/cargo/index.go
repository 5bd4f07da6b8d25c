package cargo

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"wharf/modules/apperr"
)

// IndexLine is one version's line in a crate's index file. Its fields, in
// this order and with these omissions, are what crates.io writes
// (crates_io_index::Crate, serialized by serde in declaration order):
// features2 only when a feature uses the dep: or ?/ syntax, links,
// rust_version and pubtime only when set, v only with features2.
type IndexLine struct {
	Name     string              `json:"name"`
	Vers     string              `json:"vers"`
	Deps     []IndexDependency   `json:"deps"`
	Cksum    string              `json:"cksum"`
	Features map[string][]string `json:"features"`
	// Features2 holds the features that cargo older than 1.19 cannot parse
	// (and those enabling them), so that such cargos can still read the
	// line; cargo merges it into Features.
	Features2   map[string][]string `json:"features2,omitempty"`
	Yanked      bool                `json:"yanked"`
	Links       string              `json:"links,omitempty"`
	RustVersion string              `json:"rust_version,omitempty"`
	Pubtime     string              `json:"pubtime,omitempty"`
	// V is the line's schema version: 2 when Features2 is present, else
	// omitted (version 1). Cargo 1.51 and later skip lines whose version
	// they do not know.
	V int `json:"v,omitempty"`
}

// IndexDependency is one dependency in an index line. Every key cargo
// reads is written, null or not (cargo before 1.84 needs them all), except
// package and registry, which crates.io and cargo's own registries write
// only when they say something.
type IndexDependency struct {
	// Name is the name the dependent uses: the rename when renamed.
	Name            string   `json:"name"`
	Req             string   `json:"req"`
	Features        []string `json:"features"`
	Optional        bool     `json:"optional"`
	DefaultFeatures bool     `json:"default_features"`
	Target          *string  `json:"target"`
	Kind            string   `json:"kind"`
	// Registry is the index URL of the registry the dependency lives in,
	// omitted for this registry. Nulling it for a crates.io dependency
	// would send cargo looking for that crate here.
	Registry string `json:"registry,omitempty"`
	// Package is the real crate name of a renamed dependency.
	Package      string   `json:"package,omitempty"`
	Artifact     []string `json:"artifact,omitempty"`
	BindepTarget string   `json:"bindep_target,omitempty"`
	Lib          bool     `json:"lib,omitempty"`
}

// PubtimeFormat is how an index line writes pubtime: UTC, whole seconds.
const PubtimeFormat = "2006-01-02T15:04:05Z"

// NewIndexLine maps publish metadata to its index line: the registry's
// job, since cargo's publish JSON is not an index line (version_req is req,
// explicit_name_in_toml turns into name + package). cksum is the lower-case
// hex SHA-256 of the .crate; pubtime is written in UTC to the second.
func NewIndexLine(meta *PublishMetadata, cksum string, pubtime time.Time) IndexLine {
	deps := make([]IndexDependency, 0, len(meta.Deps))
	for _, d := range meta.Deps {
		dep := IndexDependency{
			Name:            d.Name,
			Req:             d.VersionReq,
			Features:        nonNil(d.Features),
			Optional:        d.Optional,
			DefaultFeatures: d.DefaultFeatures,
			Target:          d.Target,
			Kind:            cmp.Or(d.Kind, "normal"),
			Registry:        deref(d.Registry),
			Artifact:        d.Artifact,
			BindepTarget:    deref(d.BindepTarget),
			Lib:             d.Lib,
		}
		if d.ExplicitNameInToml != nil {
			dep.Name, dep.Package = *d.ExplicitNameInToml, d.Name
		}
		deps = append(deps, dep)
	}
	sortDeps(deps)
	features, features2 := SplitFeatures(meta.Features)
	line := IndexLine{
		Name:        meta.Name,
		Vers:        meta.Vers,
		Deps:        deps,
		Cksum:       cksum,
		Features:    features,
		Links:       deref(meta.Links),
		RustVersion: deref(meta.RustVersion),
		Pubtime:     pubtime.UTC().Format(PubtimeFormat),
	}
	if len(features2) > 0 {
		line.Features2, line.V = features2, 2
	}
	return line
}

// kindOrder sorts normal dependencies before build and dev ones of the same
// name, as crates.io does: old cargos misread a line where a dev
// dependency comes first.
var kindOrder = map[string]int{"normal": 0, "build": 1, "dev": 2}

// sortDeps orders dependencies as crates.io does (its Dependency's Ord: name,
// kind, req, optional, default_features, target, package, features), with
// the registry last so the order is total.
func sortDeps(deps []IndexDependency) {
	slices.SortStableFunc(deps, func(a, b IndexDependency) int {
		return cmp.Or(
			strings.Compare(a.Name, b.Name),
			cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]),
			strings.Compare(a.Req, b.Req),
			compareBool(a.Optional, b.Optional),
			compareBool(a.DefaultFeatures, b.DefaultFeatures),
			compareOptional(a.Target, b.Target),
			compareOptional(optional(a.Package), optional(b.Package)),
			slices.Compare(a.Features, b.Features),
			strings.Compare(a.Registry, b.Registry),
		)
	})
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// compareOptional orders like Rust's Option: None before Some.
func compareOptional(a, b *string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return strings.Compare(*a, *b)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// SplitFeatures splits a crate's features the way crates.io does: a
// feature whose values use the dep: or ?/ syntax goes to the second map,
// and so, repeatedly, does any feature enabling one in the second map, so
// that cargo older than 1.19 finds nothing it cannot parse or resolve in
// the first. Neither map nor any value list is nil.
func SplitFeatures(all map[string][]string) (features, features2 map[string][]string) {
	features, features2 = map[string][]string{}, map[string][]string{}
	for name, values := range all {
		if slices.ContainsFunc(values, hasFeatures2Syntax) {
			features2[name] = nonNil(values)
		} else {
			features[name] = nonNil(values)
		}
	}
	// Each pass moves at least one feature or stops, so it ends within
	// len(all) passes (crates.io bounds it at 100; this needs no bound).
	for moved := true; moved; {
		moved = false
		for name, values := range features {
			if slices.ContainsFunc(values, func(v string) bool { _, ok := features2[v]; return ok }) {
				features2[name] = values
				delete(features, name)
				moved = true
			}
		}
	}
	return features, features2
}

func hasFeatures2Syntax(v string) bool {
	return strings.HasPrefix(v, "dep:") || strings.Contains(v, "?/")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// nonNilFeatures copies a feature map with every nil list as [].
func nonNilFeatures(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for name, values := range m {
		out[name] = nonNil(values)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Marshal encodes the line as one line of compact JSON, without the
// trailing "\n" (the index file's writer adds it). Like crates.io's serde
// output it does not escape <, > and &; nil maps and lists are written as
// {} and [], which cargo requires.
func (l IndexLine) Marshal() ([]byte, error) {
	l.Features = nonNilFeatures(l.Features)
	if l.Features2 != nil {
		l.Features2 = nonNilFeatures(l.Features2)
	}
	deps := make([]IndexDependency, len(l.Deps))
	for i, d := range l.Deps {
		d.Features = nonNil(d.Features)
		d.Kind = cmp.Or(d.Kind, "normal") // a null kind means normal to cargo
		deps[i] = d
	}
	l.Deps = deps
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseIndexLine decodes one line of an index file, as stored by the
// registry or written by cargo's own registries (null for the optional
// keys is read as absent).
func ParseIndexLine(b []byte) (*IndexLine, error) {
	var l IndexLine
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "invalid index line")
	}
	return &l, nil
}
