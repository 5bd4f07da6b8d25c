package npm

import (
	"context"
	"errors"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	npm_model "wharf/models/packages/npm"
	"wharf/modules/apperr"
	npm_module "wharf/modules/packages/npm"
	packages_service "wharf/services/packages"
)

// DistTags returns a package's dist-tags.
func (s *Service) DistTags(ctx context.Context, a *packages_service.Access, name string) (map[string]string, error) {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if err != nil {
		return nil, err
	}
	return s.tags(ctx, p)
}

// SetDistTag points a tag at an existing version.
func (s *Service) SetDistTag(ctx context.Context, a *packages_service.Access, name, tag, version string) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	if err := validTag(tag); err != nil {
		return err
	}
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if err != nil {
		return err
	}
	if _, err := packages_model.GetVersion(ctx, s.d.DB.Engine(), p.ID, version); err != nil {
		return apperr.New(apperr.NotFound, "version %s of %s does not exist", version, name)
	}
	return s.setTag(ctx, p, tag, version)
}

// DeleteDistTag removes a tag; "latest" cannot be removed.
func (s *Service) DeleteDistTag(ctx context.Context, a *packages_service.Access, name, tag string) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	if tag == "latest" {
		return apperr.New(apperr.Invalid, "the latest tag cannot be removed")
	}
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if err := packages_model.LockPackage(ctx, tx, p.ID); err != nil {
			return err
		}
		if err := npm_model.DeleteDistTag(ctx, tx, p.ID, tag); err != nil {
			return err
		}
		return changed(ctx, tx, p.ID)
	})
}

func validTag(tag string) error {
	if tag == "" || len(tag) > 255 || npm_module.ValidateVersion(tag) == nil {
		return apperr.New(apperr.Invalid, "invalid tag %q: a tag is a name that is not a version", tag)
	}
	for _, c := range tag {
		if c <= ' ' || c == '/' || c == '%' || c == 0x7f {
			return apperr.New(apperr.Invalid, "invalid tag %q", tag)
		}
	}
	return nil
}

// mayUnpublish applies the rights and ALLOW_UNPUBLISH, which do not depend
// on the package's state, before the revision is compared (the core asks
// the format again for each version: MayRemoveVersion).
func (s *Service) mayUnpublish(a *packages_service.Access) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	if !s.d.Format.d.AllowUnpublish {
		return ErrUnpublishDisabled
	}
	return nil
}

// unpublish runs one unpublish in one transaction: it locks the package,
// compares the client's revision (a conflict when the package changed
// since the client read it) and removes the versions pick chooses through
// the core, whose hooks (Format) drop their dist-tags and re-point
// "latest". Either all of it happens or none of it.
func (s *Service) unpublish(ctx context.Context, a *packages_service.Access, name, rev string, pick func(st *state) []*packages_model.PackageVersion) error {
	if err := s.mayUnpublish(a); err != nil {
		return err
	}
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		st, err := lockedState(ctx, tx, p, rev)
		if err != nil {
			return err
		}
		for _, v := range pick(st) {
			if err := s.d.Packages.RemoveVersionInTx(ctx, tx, a, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// UnpublishVersions handles PUT /{name}/-rev/{rev}: the document, read at
// revision rev, lists the versions that stay; every other one is removed.
func (s *Service) UnpublishVersions(ctx context.Context, a *packages_service.Access, name, rev string, keep map[string]bool) error {
	return s.unpublish(ctx, a, name, rev, func(st *state) []*packages_model.PackageVersion {
		var remove []*packages_model.PackageVersion
		for _, v := range st.versions {
			if !keep[v.Version] {
				remove = append(remove, v)
			}
		}
		return remove
	})
}

// UnpublishVersion handles DELETE {tarball}/-rev/{rev}: it removes the
// version the tarball file belongs to. A package or version that is gone
// already is done (npm's flow deletes the tarball after the document
// update that removed its version).
func (s *Service) UnpublishVersion(ctx context.Context, a *packages_service.Access, name, filename, rev string) error {
	err := s.unpublish(ctx, a, name, rev, func(st *state) []*packages_model.PackageVersion {
		for _, v := range st.versions {
			if npm_module.TarballName(name, v.Version) == filename {
				return []*packages_model.PackageVersion{v}
			}
		}
		return nil
	})
	if errors.Is(err, packages_model.ErrPackageNotExist) {
		return nil // already gone with its last version
	}
	return err
}

// UnpublishPackage handles DELETE /{name}/-rev/{rev}: the package goes
// with every version.
func (s *Service) UnpublishPackage(ctx context.Context, a *packages_service.Access, name, rev string) error {
	return s.unpublish(ctx, a, name, rev, func(st *state) []*packages_model.PackageVersion { return st.versions })
}
