package goproxy

import (
	"context"
	"encoding/json"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/git"
	goproxy_module "wharf/modules/packages/go"
	packages_service "wharf/services/packages"
)

// DescribeVersion reads the version's go.mod (the go version, the
// requirements) and, for a version from a repository, its source.
func (Format) DescribeVersion(_ context.Context, _ db.Engine, _ *packages_model.Package, pv *packages_model.PackageVersion) (*packages_service.VersionDetails, error) {
	var m metadata
	// Metadata the page cannot read shows no details, not an error.
	_ = json.Unmarshal([]byte(pv.MetadataJSON), &m)
	d := &packages_service.VersionDetails{}
	gm := goproxy_module.ReadGoMod([]byte(m.GoMod))
	for _, r := range gm.Requires {
		kind := ""
		if r.Indirect {
			kind = "indirect"
		}
		d.Dependencies = append(d.Dependencies, packages_service.Dependency{Name: r.Path, Requirement: r.Version, Kind: kind})
	}
	if gm.Go != "" {
		d.Facts = append(d.Facts, packages_service.Fact{Name: "Go", Value: gm.Go})
	}
	if m.Dir != "" {
		d.Facts = append(d.Facts, packages_service.Fact{Name: "Directory", Value: m.Dir})
	}
	if m.RepoID != 0 {
		ref := ""
		if m.Tag != "" {
			ref = git.TagPrefix + m.Tag
		}
		d.Source = &packages_service.VersionSource{RepoID: m.RepoID, Ref: ref, Commit: m.Commit}
	}
	return d, nil
}

// FilePath is where the go command downloads a version's zip, under the
// proxy's base: the case-encoded module path and version.
func (Format) FilePath(p *packages_model.Package, pv *packages_model.PackageVersion, _ string) string {
	return goproxy_module.ZipPath(p.Name, pv.Version)
}
