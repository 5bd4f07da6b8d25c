package npm

import (
	"context"
	"errors"
	"slices"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
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
		return packages_model.DeleteVersionPropertiesOfPackage(ctx, tx, p.ID, propTag, tag)
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

// ErrUnpublishDisabled is the answer when [packages.npm] ALLOW_UNPUBLISH
// is off.
var ErrUnpublishDisabled = apperr.New(apperr.Forbidden, "unpublishing is disabled on this registry; deprecate the version instead")

// checkUnpublish applies ALLOW_UNPUBLISH and the unpublish window.
func (s *Service) checkUnpublish(a *packages_service.Access, pv *packages_model.PackageVersion) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	if !s.d.AllowUnpublish {
		return ErrUnpublishDisabled
	}
	if s.d.UnpublishWindow > 0 && !a.Doer.IsAdmin {
		age := s.d.Now().Sub(time.Unix(pv.CreatedUnix, 0))
		if age > s.d.UnpublishWindow {
			return apperr.New(apperr.Forbidden, "%s was published more than %s ago and can no longer be unpublished; deprecate it instead", pv.Version, s.d.UnpublishWindow)
		}
	}
	return nil
}

// UnpublishVersions handles PUT /{name}/-rev/{rev}: the document lists the
// versions that stay; every other one is removed, and "latest" re-pointed
// to the highest remaining release.
func (s *Service) UnpublishVersions(ctx context.Context, a *packages_service.Access, name string, keep map[string]bool) error {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if err != nil {
		return err
	}
	vs, err := s.d.Packages.ListVersions(ctx, p)
	if err != nil {
		return err
	}
	var remove []*packages_model.PackageVersion
	for _, v := range vs {
		if !keep[v.Version] {
			if err := s.checkUnpublish(a, v); err != nil {
				return err
			}
			remove = append(remove, v)
		}
	}
	for _, v := range remove {
		if err := s.d.Packages.RemoveVersion(ctx, a, v); err != nil {
			return err
		}
	}
	return s.repointLatest(ctx, a, name)
}

// UnpublishVersion removes one version, named by its tarball file.
func (s *Service) UnpublishVersion(ctx context.Context, a *packages_service.Access, name, filename string) error {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if errors.Is(err, packages_model.ErrPackageNotExist) {
		return nil // already gone with its last version
	}
	if err != nil {
		return err
	}
	vs, err := s.d.Packages.ListVersions(ctx, p)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if npm_module.TarballName(name, v.Version) == filename {
			if err := s.checkUnpublish(a, v); err != nil {
				return err
			}
			if err := s.d.Packages.RemoveVersion(ctx, a, v); err != nil {
				return err
			}
			return s.repointLatest(ctx, a, name)
		}
	}
	return nil // npm treats an already removed tarball as done
}

// UnpublishPackage removes a package with every version.
func (s *Service) UnpublishPackage(ctx context.Context, a *packages_service.Access, name string) error {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if err != nil {
		return err
	}
	vs, err := s.d.Packages.ListVersions(ctx, p)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if err := s.checkUnpublish(a, v); err != nil {
			return err
		}
	}
	return s.d.Packages.RemovePackage(ctx, a, p)
}

// repointLatest makes "latest" name the highest remaining release when the
// version it named is gone.
func (s *Service) repointLatest(ctx context.Context, a *packages_service.Access, name string) error {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if errors.Is(err, packages_model.ErrPackageNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	vs, err := s.d.Packages.ListVersions(ctx, p)
	if err != nil || len(vs) == 0 {
		return err
	}
	tags, err := s.tagsOf(ctx, vs)
	if err != nil {
		return err
	}
	if _, ok := tags["latest"]; ok {
		return nil
	}
	slices.Reverse(vs)
	return s.setTag(ctx, p, "latest", highestStable(vs))
}
