package goproxy

import (
	"archive/zip"
	"context"
	"io"
	"strings"

	"golang.org/x/mod/module"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	goproxy_module "wharf/modules/packages/go"
	packages_service "wharf/services/packages"
)

// Upload stores a module zip sent to Gitea's upload endpoint as a version
// of the owner's registry. The module path and version come from the
// zip's "<module>@<version>/" prefix; the zip is checked by the module
// zip rules and written again by them, so that what is served is what the
// go command would have made of the same files. A version that exists is
// a conflict: a published version never changes.
func (s *Service) Upload(ctx context.Context, a *packages_service.Access, body io.Reader) (*packages_model.PackageVersion, error) {
	if err := a.RequireWrite(); err != nil {
		return nil, err
	}
	in, err := s.d.Packages.NewUploadBuffer(body, packages_model.TypeGo)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	zr, err := zip.NewReader(in.Reader(), in.Size())
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "the body is not a zip archive: %v", err)
	}
	mod, version, err := zipPrefix(zr)
	if err != nil {
		return nil, err
	}
	if host, rest, _ := strings.Cut(mod, "/"); s.isHost(host) {
		// This instance's module paths are its owners': another owner's
		// is served by that owner's registry (and discovery sends the go
		// command there).
		if owner, _, _ := strings.Cut(rest, "/"); !strings.EqualFold(owner, a.Owner.Name) {
			return nil, apperr.New(apperr.Invalid, "%s is a module path of %s on this instance, not of %s", mod, owner, a.Owner.Name)
		}
	}
	if err := s.sameCase(ctx, a.Owner.ID, mod); err != nil {
		return nil, err
	}
	prefix := mod + "@" + version + "/"
	var files []goproxy_module.ZipFile
	var goMod []byte
	for _, f := range zr.File {
		name := strings.TrimPrefix(f.Name, prefix)
		if strings.HasSuffix(f.Name, "/") {
			continue // a directory entry
		}
		if !f.Mode().IsRegular() {
			return nil, apperr.New(apperr.Invalid, "%s is not a regular file", f.Name)
		}
		// Checked here, not only by zip.Create: it leaves out, without an
		// error, a file in a directory holding a go.mod ("../go.mod" too).
		if err := module.CheckFilePath(name); err != nil {
			return nil, apperr.New(apperr.Invalid, "%v", err)
		}
		zf := f
		files = append(files, goproxy_module.ZipFile{Path: name, Size: int64(f.UncompressedSize64),
			Open: func() (io.ReadCloser, error) { return zf.Open() }})
		if name == "go.mod" {
			if f.UncompressedSize64 > maxGoMod {
				return nil, apperr.New(apperr.Invalid, "go.mod is larger than %d bytes", maxGoMod)
			}
			r, err := f.Open()
			if err != nil {
				return nil, apperr.New(apperr.Invalid, "read go.mod: %v", err)
			}
			goMod, err = io.ReadAll(io.LimitReader(r, maxGoMod+1))
			r.Close()
			if err != nil {
				return nil, apperr.New(apperr.Invalid, "read go.mod: %v", err)
			}
		}
	}
	if goMod == nil {
		if goproxy_module.MajorSuffix(version) != "" && !strings.HasSuffix(version, "+incompatible") {
			return nil, apperr.New(apperr.Invalid, "a %s module needs a go.mod", version)
		}
		goMod = []byte("module " + mod + "\n")
	} else if declared := goproxy_module.ModulePath(goMod); declared != mod {
		return nil, apperr.New(apperr.Invalid, "go.mod declares module %q, the zip is of %q", declared, mod)
	} else if strings.HasSuffix(version, "+incompatible") {
		return nil, apperr.New(apperr.Invalid, "%s: a +incompatible version has no go.mod", version)
	}
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := goproxy_module.WriteZip(pw, mod, version, files)
		pw.CloseWithError(err)
		written <- err
	}()
	out, err := s.d.Packages.NewUploadBuffer(pr, packages_model.TypeGo)
	pr.CloseWithError(errBuildStopped)
	if werr := <-written; werr != nil && !strings.Contains(werr.Error(), errBuildStopped.Error()) {
		if out != nil {
			_ = out.Close()
		}
		if apperr.KindOf(werr) == apperr.Invalid {
			return nil, werr
		}
		// A file of the upload that cannot be read back is the upload's
		// fault (a corrupt deflate stream, a wrong CRC).
		return nil, apperr.Wrap(apperr.Invalid, werr, "the zip cannot be read")
	}
	if err != nil {
		return nil, err
	}
	defer out.Close()
	meta := metadata{GoMod: string(goMod), Time: goproxy_module.NewInfo(version, s.d.Now()).Time}
	added, err := s.d.Packages.CreatePackageAndAddFile(ctx, &packages_service.VersionInfo{
		Owner: a.Owner, Creator: a.Doer, Type: packages_model.TypeGo, Name: mod, Version: version, Metadata: meta,
	}, &packages_service.FileInfo{Name: version + ".zip", IsLead: true, Data: out}, func(_ context.Context, _ db.Engine, added *packages_service.Added) error {
		return exactName(added, mod)
	})
	if err != nil {
		return nil, err
	}
	return added.Version, nil
}

// zipPrefix reads the module path and version every entry of a module
// zip starts with.
func zipPrefix(zr *zip.Reader) (mod, version string, err error) {
	if len(zr.File) == 0 {
		return "", "", apperr.New(apperr.Invalid, "the zip is empty")
	}
	first := zr.File[0].Name
	at := strings.Index(first, "@")
	slash := strings.Index(first[max(at, 0):], "/")
	if at <= 0 || slash < 0 {
		return "", "", apperr.New(apperr.Invalid, "%q does not start with <module>@<version>/", first)
	}
	mod, version = first[:at], first[at+1:at+slash]
	if err := module.Check(mod, version); err != nil {
		return "", "", apperr.New(apperr.Invalid, "%v", err)
	}
	if !goproxy_module.IsCanonical(version) {
		return "", "", apperr.New(apperr.Invalid, "%s is not a canonical version", version)
	}
	prefix := mod + "@" + version + "/"
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, prefix) {
			return "", "", apperr.New(apperr.Invalid, "%q is outside %s", f.Name, prefix)
		}
	}
	return mod, version, nil
}

// sameCase refuses module path mod where the registry holds a module whose
// path differs from it only in case: the registry's package names are
// case-insensitive, but module paths are not, so the version would land
// in the other module.
func (s *Service) sameCase(ctx context.Context, ownerID int64, mod string) error {
	p, err := packages_model.GetPackageByName(ctx, s.d.DB.Engine(), ownerID, packages_model.TypeGo, mod)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil
	} else if err != nil {
		return err
	}
	if p.Name != mod {
		return apperr.New(apperr.Invalid, "module %s differs only in case from module %s of this registry: both cannot be kept", mod, p.Name)
	}
	return nil
}

// exactName refuses, inside the transaction that would add the version,
// a package whose name differs from module path mod in case: package
// names are case-insensitive here, module paths are not, and another
// module's path created meanwhile (sameCase checks before) would get the
// version.
func exactName(added *packages_service.Added, mod string) error {
	if added.Package.Name != mod {
		return apperr.New(apperr.Invalid, "module %s differs only in case from module %s of this registry: both cannot be kept", mod, added.Package.Name)
	}
	return nil
}
