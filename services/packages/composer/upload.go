package composer

import (
	"context"
	"errors"
	"io"
	"strings"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	composer_module "wharf/modules/packages/composer"
	packages_service "wharf/services/packages"
)

// Upload stores an archive as a version: the name comes from its
// composer.json, the version from the caller (?version=). An existing
// version is a conflict.
func (s *Service) Upload(ctx context.Context, a *packages_service.Access, version string, body io.Reader) (string, error) {
	return s.UploadChecked(ctx, a, version, body, nil)
}

// UploadChecked is Upload with check, when given, asked about the
// package's name once the upload has said it (a virtual registry refuses
// a name it would not serve from the member the upload goes to).
func (s *Service) UploadChecked(ctx context.Context, a *packages_service.Access, version string, body io.Reader, check func(name string) error) (string, error) {
	if err := a.RequireWrite(); err != nil {
		return "", err
	}
	if version == "" {
		return "", apperr.New(apperr.Invalid, "the version is missing: PUT …/composer?version=1.0.0")
	}
	normalized, err := composer_module.Normalize(version)
	if err != nil {
		return "", err
	}
	buf, err := s.d.Packages.NewUploadBuffer(body, packages_model.TypeComposer)
	if err != nil {
		return "", err
	}
	defer buf.Close()
	if buf.Size() == 0 {
		return "", apperr.New(apperr.Invalid, "the upload is empty")
	}
	p, err := composer_module.ParsePackage(buf.Reader(), buf.Size())
	if err != nil {
		return "", err
	}
	if check != nil {
		if err := check(p.Name); err != nil {
			return "", err
		}
	}
	ext := ".zip"
	if p.DistType == "tar" {
		ext = ".tar"
	}

	_, err = s.d.Packages.CreatePackageAndAddFile(ctx,
		&packages_service.VersionInfo{Owner: a.Owner, Creator: a.Doer, Type: packages_model.TypeComposer, Name: p.Name, Version: version,
			Metadata: storedMetadata{ComposerJSON: p.Metadata, VersionNormalized: normalized, DistType: p.DistType}},
		&packages_service.FileInfo{Name: strings.ReplaceAll(p.Name, "/", "-") + "." + version + ext, IsLead: true, Data: buf}, nil)
	if errors.Is(err, packages_model.ErrVersionExists) {
		return "", apperr.New(apperr.Conflict, "version %s of %s already exists", version, p.Name)
	}

	return p.Name, err
}
