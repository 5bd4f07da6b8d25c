package cargo

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	cargo_module "wharf/modules/packages/cargo"
	packages_service "wharf/services/packages"
)

// DescribeVersion reads the version's index line (dependencies, features,
// rust-version, links) and its Cargo.toml description.
func (*Format) DescribeVersion(ctx context.Context, e db.Engine, _ *packages_model.Package, pv *packages_model.PackageVersion) (*packages_service.VersionDetails, error) {
	d := &packages_service.VersionDetails{}
	desc, err := packages_model.GetProperty(ctx, e, packages_model.PropertyTypeVersion, pv.ID, propDescription)
	if err != nil {
		return nil, err
	}
	d.Description = desc
	var line cargo_module.IndexLine
	// A line the page cannot read shows no details, not an error.
	if json.Unmarshal([]byte(pv.MetadataJSON), &line) != nil {
		return d, nil
	}
	for _, dep := range line.Deps {
		kind := dep.Kind
		if kind == "normal" {
			kind = ""
		}
		if dep.Optional {
			kind = joinKind(kind, "optional")
		}
		if dep.Target != nil && *dep.Target != "" {
			kind = joinKind(kind, "target "+*dep.Target)
		}
		name := dep.Name
		if dep.Package != "" {
			name = dep.Package + " (as " + dep.Name + ")"
		}
		d.Dependencies = append(d.Dependencies, packages_service.Dependency{Name: name, Requirement: dep.Req, Kind: kind})
	}
	if line.RustVersion != "" {
		d.Facts = append(d.Facts, packages_service.Fact{Name: "Rust version", Value: line.RustVersion})
	}
	if line.Links != "" {
		d.Facts = append(d.Facts, packages_service.Fact{Name: "Links", Value: line.Links})
	}
	var features []string
	for _, fs := range []map[string][]string{line.Features, line.Features2} {
		for f := range fs {
			features = append(features, f)
		}
	}
	if len(features) > 0 {
		slices.Sort(features)
		d.Facts = append(d.Facts, packages_service.Fact{Name: "Features", Value: strings.Join(features, ", ")})
	}
	return d, nil
}

func joinKind(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}

// FilePath is cargo's download path, api/v1/crates/{name}/{version}/download
// (config.json's dl); a crate has one file.
func (*Format) FilePath(p *packages_model.Package, pv *packages_model.PackageVersion, _ string) string {
	return "api/v1/crates/" + url.PathEscape(p.Name) + "/" + url.PathEscape(pv.Version) + "/download"
}
