// Package generic holds the generic registry's rules: files of any kind
// under a name and a version, with nothing derived from them.
package generic

import (
	packages_model "wharf/models/packages"
	packages_module "wharf/modules/packages"
)

// Format is the generic registry as the core knows it: natural version
// order, no hooks (nothing is derived from its files).
type Format struct{}

// Type is generic.
func (Format) Type() packages_model.Type { return packages_model.TypeGeneric }

// CompareVersions orders naturally: digit runs as numbers.
func (Format) CompareVersions(a, b string) int { return packages_module.CompareNatural(a, b) }
