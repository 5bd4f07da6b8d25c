package rubygems

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	rubygems_module "wharf/modules/packages/rubygems"
	packages_service "wharf/services/packages"
)

// DescribeVersion reads the version's stored gemspec: summary (else
// description), licenses, homepage, dependencies, authors and the Ruby
// and RubyGems versions it requires.
func (*Format) DescribeVersion(_ context.Context, _ db.Engine, _ *packages_model.Package, pv *packages_model.PackageVersion) (*packages_service.VersionDetails, error) {
	var spec rubygems_module.Spec
	d := &packages_service.VersionDetails{}
	// A spec the page cannot read shows no details, not an error.
	if json.Unmarshal([]byte(pv.MetadataJSON), &spec) != nil {
		return d, nil
	}
	d.Description = spec.Summary
	if d.Description == "" {
		d.Description = spec.Description
	}
	d.License, d.Homepage = strings.Join(spec.Licenses, ", "), spec.Homepage
	for _, dep := range spec.Dependencies {
		kind := dep.Type
		if kind == rubygems_module.DependencyRuntime {
			kind = ""
		}
		d.Dependencies = append(d.Dependencies, packages_service.Dependency{Name: dep.Name, Requirement: strings.Join(dep.Requirements, ", "), Kind: kind})
	}
	if len(spec.Authors) > 0 {
		d.Facts = append(d.Facts, packages_service.Fact{Name: "Authors", Value: strings.Join(spec.Authors, ", ")})
	}
	if spec.Platform != "" && spec.Platform != "ruby" {
		d.Facts = append(d.Facts, packages_service.Fact{Name: "Platform", Value: spec.Platform})
	}
	for _, r := range []struct {
		name string
		req  []string
	}{{"Ruby version", spec.RequiredRubyVersion}, {"RubyGems version", spec.RequiredRubyGemsVersion}} {
		if v := strings.Join(r.req, ", "); v != "" && v != ">= 0" {
			d.Facts = append(d.Facts, packages_service.Fact{Name: r.name, Value: v})
		}
	}
	return d, nil
}

// FilePath is the gem's download path, gems/{file}.
func (*Format) FilePath(_ *packages_model.Package, _ *packages_model.PackageVersion, fileName string) string {
	return "gems/" + url.PathEscape(fileName)
}
