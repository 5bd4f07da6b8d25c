package goproxy

import (
	packages_model "wharf/models/packages"
	goproxy_module "wharf/modules/packages/go"
)

// Format is Go as the registry core knows it: versions ordered by
// semantic versioning. The proxy's documents are read from the rows as
// they are, so no derived state needs hooks.
type Format struct{}

// Type is Go.
func (Format) Type() packages_model.Type { return packages_model.TypeGo }

// CompareVersions orders by semantic versioning, as the go command does.
func (Format) CompareVersions(a, b string) int { return goproxy_module.Compare(a, b) }
