package generic

import (
	"context"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	packages_service "wharf/services/packages"
)

// DescribeVersion: a generic version is its files; there is no metadata
// to tell.
func (Format) DescribeVersion(context.Context, db.Engine, *packages_model.Package, *packages_model.PackageVersion) (*packages_service.VersionDetails, error) {
	return &packages_service.VersionDetails{}, nil
}

// FilePath is the download path of the generic protocol,
// {name}/{version}/{file}.
func (Format) FilePath(p *packages_model.Package, pv *packages_model.PackageVersion, fileName string) string {
	return packages_service.GenericFilePath(p.Name, pv.Version, fileName)
}
