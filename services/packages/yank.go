package packages

import (
	"context"
	"errors"

	"wharf/models/db"
	packages_model "wharf/models/packages"
)

// PropYanked is the version property that marks a yanked version: kept,
// downloadable by whoever pinned it, but no longer chosen by resolution.
const PropYanked = "yanked"

// VersionYankedHook hears that a version was yanked (yanked true) or
// unyanked, inside the change's transaction.
type VersionYankedHook interface {
	VersionYanked(ctx context.Context, tx db.Engine, c Change, yanked bool) error
}

// SetYanked yanks or unyanks a version on the caller's behalf; one
// transaction with the format's hook. Setting the state it has already
// changes nothing (a retried yank is no error and no second change).
func (s *Service) SetYanked(ctx context.Context, a *Access, pv *packages_model.PackageVersion, yanked bool) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		p, err := lockPackage(ctx, tx, pv.PackageID)
		if errors.Is(err, packages_model.ErrPackageNotExist) {
			return packages_model.ErrVersionNotExist
		} else if err != nil {
			return err
		}
		pv, err := packages_model.GetVersionByID(ctx, tx, pv.ID)
		if err != nil {
			return err
		}
		cur, err := packages_model.GetProperty(ctx, tx, packages_model.PropertyTypeVersion, pv.ID, PropYanked)
		if err != nil {
			return err
		}
		if (cur != "") == yanked {
			return nil
		}
		if yanked {
			err = packages_model.SetProperty(ctx, tx, packages_model.PropertyTypeVersion, pv.ID, PropYanked, "true")
		} else {
			err = packages_model.DeleteProperty(ctx, tx, packages_model.PropertyTypeVersion, pv.ID, PropYanked)
		}
		if err != nil {
			return err
		}
		if h, ok := s.formats.of(p.Type).(VersionYankedHook); ok {
			if err := h.VersionYanked(ctx, tx, Change{Package: p, Version: pv, Doer: a.Doer}, yanked); err != nil {
				return err
			}
		}
		return s.fault(ctx, FaultBeforeCommit)
	})
}

// YankedVersionsOfPackages returns which versions of the packages are
// yanked: one query bound by the packages, however many versions they
// have (see packages_model.VersionPropertiesOfPackages).
func (s *Service) YankedVersionsOfPackages(ctx context.Context, e db.Engine, packageIDs []int64) (map[int64]bool, error) {
	props, err := packages_model.VersionPropertiesOfPackages(ctx, e, packageIDs, PropYanked)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(props))
	for _, p := range props {
		out[p.RefID] = true
	}
	return out, nil
}

// YankedVersions returns which of the versions are yanked (one query;
// versionIDs must be few, a page's: each is a bind variable, use
// YankedVersionsOfPackages for all versions of packages).
func (s *Service) YankedVersions(ctx context.Context, e db.Engine, versionIDs []int64) (map[int64]bool, error) {
	props, err := packages_model.GetPropertiesOf(ctx, e, packages_model.PropertyTypeVersion, versionIDs, PropYanked)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(props))
	for _, p := range props {
		out[p.RefID] = true
	}
	return out, nil
}
