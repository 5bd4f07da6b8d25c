package npm

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	packages_service "wharf/services/packages"
)

// describedManifest is what a page shows of a stored package.json.
type describedManifest struct {
	Description          string            `json:"description"`
	License              json.RawMessage   `json:"license"`
	Homepage             string            `json:"homepage"`
	Deprecated           string            `json:"deprecated"`
	Author               json.RawMessage   `json:"author"`
	Engines              map[string]string `json:"engines"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
}

// person reads npm's author: a string or {name, email, url}.
func person(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var p struct{ Name string }
	if json.Unmarshal(raw, &p) == nil {
		return p.Name
	}
	return ""
}

// license reads a license: an SPDX string, or the older {type} object.
func license(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct{ Type string }
	if json.Unmarshal(raw, &o) == nil {
		return o.Type
	}
	return ""
}

// DescribeVersion reads the version's stored package.json.
func (*Format) DescribeVersion(_ context.Context, _ db.Engine, _ *packages_model.Package, pv *packages_model.PackageVersion) (*packages_service.VersionDetails, error) {
	var m describedManifest
	// A manifest the page cannot read shows no details, not an error:
	// the version and its files are still there.
	_ = json.Unmarshal([]byte(pv.MetadataJSON), &m)
	d := &packages_service.VersionDetails{Description: m.Description, License: license(m.License), Homepage: m.Homepage, Deprecated: m.Deprecated}
	for _, group := range []struct {
		kind string
		deps map[string]string
	}{{"runtime", m.Dependencies}, {"peer", m.PeerDependencies}, {"optional", m.OptionalDependencies}, {"dev", m.DevDependencies}} {
		names := make([]string, 0, len(group.deps))
		for n := range group.deps {
			// npm writes an optional dependency into dependencies too:
			// it is listed once, as optional.
			if _, opt := m.OptionalDependencies[n]; opt && group.kind == "runtime" {
				continue
			}
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			d.Dependencies = append(d.Dependencies, packages_service.Dependency{Name: n, Requirement: group.deps[n], Kind: group.kind})
		}
	}
	if a := person(m.Author); a != "" {
		d.Facts = append(d.Facts, packages_service.Fact{Name: "Author", Value: a})
	}
	if n := m.Engines["node"]; n != "" {
		d.Facts = append(d.Facts, packages_service.Fact{Name: "Node.js", Value: n})
	}
	return d, nil
}

// MarkVersions marks the deprecated versions with their message.
func (*Format) MarkVersions(_ context.Context, _ db.Engine, _ *packages_model.Package, vs []*packages_model.PackageVersion) (map[int64]string, error) {
	out := map[int64]string{}
	for _, v := range vs {
		var m struct {
			Deprecated string `json:"deprecated"`
		}
		if json.Unmarshal([]byte(v.MetadataJSON), &m) == nil && m.Deprecated != "" {
			out[v.ID] = "deprecated: " + m.Deprecated
		}
	}
	return out, nil
}

// FilePath is the tarball's path as the packument gives it,
// {name}/-/{file}, a scoped name with its slash (@scope/name).
func (*Format) FilePath(p *packages_model.Package, _ *packages_model.PackageVersion, fileName string) string {
	parts := strings.Split(p.Name, "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	return strings.Join(parts, "/") + "/-/" + url.PathEscape(fileName)
}
