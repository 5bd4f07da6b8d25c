package composer

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

// DescribeVersion reads the version's stored composer.json, and for a
// version registered from git its source (repository, ref, commit).
func (f *Format) DescribeVersion(_ context.Context, _ db.Engine, p *packages_model.Package, pv *packages_model.PackageVersion) (*packages_service.VersionDetails, error) {
	var m storedMetadata
	// Metadata the page cannot read shows no details, not an error.
	_ = json.Unmarshal([]byte(pv.MetadataJSON), &m)
	d := &packages_service.VersionDetails{}
	str := func(key string) string {
		var s string
		_ = json.Unmarshal(m.ComposerJSON[key], &s)
		return s
	}
	d.Description, d.Homepage = str("description"), str("homepage")
	// license: a string or a list of SPDX identifiers.
	if l := str("license"); l != "" {
		d.License = l
	} else {
		var ls []string
		if json.Unmarshal(m.ComposerJSON["license"], &ls) == nil {
			d.License = strings.Join(ls, ", ")
		}
	}
	for _, group := range []struct{ key, kind string }{{"require", ""}, {"require-dev", "dev"}} {
		var deps map[string]string
		if json.Unmarshal(m.ComposerJSON[group.key], &deps) != nil {
			continue
		}
		names := make([]string, 0, len(deps))
		for n := range deps {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			d.Dependencies = append(d.Dependencies, packages_service.Dependency{Name: n, Requirement: deps[n], Kind: group.kind})
		}
	}
	if t := str("type"); t != "" {
		d.Facts = append(d.Facts, packages_service.Fact{Name: "Type", Value: t})
	}
	var authors []struct{ Name string }
	if json.Unmarshal(m.ComposerJSON["authors"], &authors) == nil {
		var names []string
		for _, a := range authors {
			if a.Name != "" {
				names = append(names, a.Name)
			}
		}
		if len(names) > 0 {
			d.Facts = append(d.Facts, packages_service.Fact{Name: "Authors", Value: strings.Join(names, ", ")})
		}
	}
	if m.Source != nil {
		d.Source = &packages_service.VersionSource{RepoID: m.Source.RepoID, Ref: m.Source.Ref, Commit: m.Source.Commit}
		// The archive of the commit downloads (and is built on demand)
		// before the background job has stored it.
		if len(m.Source.Commit) >= 12 {
			archive := archiveName(p.LowerName, pv.Version, m.Source.Commit)
			d.Pending = append(d.Pending, packages_service.PendingFile{Name: archive, Path: f.FilePath(p, pv, archive)})
		}
	}
	return d, nil
}

// FilePath is the dist path of the p2 document,
// files/{vendor}/{name}/{version}/{file}.
func (*Format) FilePath(p *packages_model.Package, pv *packages_model.PackageVersion, fileName string) string {
	vendor, name, _ := strings.Cut(p.LowerName, "/")
	return "files/" + url.PathEscape(vendor) + "/" + url.PathEscape(name) + "/" + url.PathEscape(pv.Version) + "/" + url.PathEscape(fileName)
}
