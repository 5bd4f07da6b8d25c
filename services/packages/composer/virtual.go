package composer

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	composer_module "wharf/modules/packages/composer"
	packages_service "wharf/services/packages"
	"wharf/services/packages/virtual"
)

// VendorOf is the owner a Composer name claims: its vendor. A name whose
// vendor is an owner of this instance never comes from an upstream.
func VendorOf(name string) string {
	vendor, _, _ := strings.Cut(name, "/")
	return vendor
}

// VirtualNames merges the package names of a virtual registry's local
// members the caller may read (as, with their members ms, in order),
// each member's patterns applied; filter is list.json's glob ("" all).
// shown is virtual.Service.Shown for one registry: which of the names,
// found in the members owned by from, resolve to those members.
type shown func(ctx context.Context, names []string, from []int64) ([]bool, error)

func (s *Service) VirtualNames(ctx context.Context, as []*packages_service.Access, ms []*virtual.Member, filter string, keep shown) ([]string, error) {
	seen := map[string]bool{}
	var found []string
	var from []int64
	for i, a := range as {
		own, _, err := s.Names(ctx, a, filter)
		if err != nil {
			return nil, err
		}
		for _, n := range own {
			if !seen[n] && ms[i].Matches(n) {
				seen[n] = true
				found, from = append(found, n), append(from, a.Owner.ID)
			}
		}
	}
	ok, err := keep(ctx, found, from)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for i, n := range found {
		if ok[i] {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// VirtualHit is a search hit of a virtual registry, with the member that
// holds it.
type VirtualHit struct {
	SearchResult
	Owner string
}

// maxVirtualSearch bounds the hits read from each member for one search:
// the merged list is paged after merging.
const maxVirtualSearch = 1000

// VirtualSearch searches the local members the caller may read, in order:
// the first member holding a name gives its hit.
func (s *Service) VirtualSearch(ctx context.Context, as []*packages_service.Access, ms []*virtual.Member, q string, keep shown) ([]VirtualHit, error) {
	seen := map[string]bool{}
	var found []VirtualHit
	var names []string
	var from []int64
	for i, a := range as {
		results, _, err := s.Search(ctx, a, q, maxVirtualSearch, 0)
		if err != nil {
			return nil, err
		}
		for _, r := range results {
			if !seen[r.Name] && ms[i].Matches(r.Name) {
				seen[r.Name] = true
				found = append(found, VirtualHit{SearchResult: r, Owner: a.Owner.Name})
				names, from = append(names, r.Name), append(from, a.Owner.ID)
			}
		}
	}
	ok, err := keep(ctx, names, from)
	if err != nil {
		return nil, err
	}
	var hits []VirtualHit
	for i, h := range found {
		if ok[i] {
			hits = append(hits, h)
		}
	}
	slices.SortStableFunc(hits, func(a, b VirtualHit) int { return cmp.Compare(a.Name, b.Name) })
	return hits, nil
}

// UpstreamP2 is a p2 document built from an upstream's.
type UpstreamP2 struct {
	Body []byte
	// Warnings name the upstreams skipped or served from a stale copy.
	Warnings []string
}

// upstreamVersion is one version object of an upstream's p2 document,
// expanded from the minified form.
type upstreamVersion map[string]json.RawMessage

type upstreamDist struct {
	Type      string `json:"type"`
	URL       string `json:"url"`
	Reference string `json:"reference,omitempty"`
	Shasum    string `json:"shasum,omitempty"`
}

func (v upstreamVersion) version() string {
	var s string
	_ = json.Unmarshal(v["version"], &s)
	return s
}

func (v upstreamVersion) dist() (*upstreamDist, bool) {
	raw, ok := v["dist"]
	if !ok {
		return nil, false
	}
	var d upstreamDist
	if json.Unmarshal(raw, &d) != nil || d.URL == "" || d.Type == "" {
		return nil, false
	}
	return &d, true
}

// DistFileName is the name a dist archive of an upstream's version has
// at the virtual registry: upstream URLs need not end in a file name
// (GitHub's zipball URLs do not).
func DistFileName(name, version, distType string) string {
	ext := ".zip"
	switch distType {
	case "tar":
		ext = ".tar"
	case "gzip":
		ext = ".gz"
	case "xz":
		ext = ".xz"
	case "phar":
		ext = ".phar"
	}
	return strings.ReplaceAll(name, "/", "-") + "." + version + ext
}

// metadataURL is the upstream's p2 URL template, read from its
// packages.json (cached like every upstream document).
func (s *Service) metadataURL(ctx context.Context, vs *virtual.Service, reg *virtual.Registry, up *virtual.Upstream) (string, *virtual.Document, error) {
	doc, err := vs.FetchDocument(ctx, reg, up, up.URL+"packages.json", "application/json")
	if err != nil {
		return "", nil, err
	}
	var root struct {
		MetadataURL string `json:"metadata-url"`
	}
	if err := json.Unmarshal(doc.Body, &root); err != nil {
		return "", nil, &virtual.UpstreamError{URL: up.URL + "packages.json", Err: fmt.Errorf("not a Composer repository: %w", err)}
	}
	if !strings.Contains(root.MetadataURL, "%package%") {
		return "", nil, &virtual.UpstreamError{URL: up.URL + "packages.json", Err: errors.New("not a Composer 2 repository: no metadata-url")}
	}
	base, err := url.Parse(up.URL)
	if err != nil {
		return "", nil, &virtual.UpstreamError{URL: up.URL, Err: err}
	}
	// Composer's canonicalizeUrl: a path is joined to the scheme and host.
	ref, err := url.Parse(strings.ReplaceAll(root.MetadataURL, "%package%", "PACKAGE"))
	if err != nil {
		return "", nil, &virtual.UpstreamError{URL: up.URL + "packages.json", Err: fmt.Errorf("bad metadata-url: %w", err)}
	}
	return strings.ReplaceAll(base.ResolveReference(ref).String(), "PACKAGE", "%package%"), doc, nil
}

// upstreamVersions reads an upstream's versions of name (dev: its ~dev
// document): NotFound when the upstream has none, an UpstreamError when
// it fails or answers what cannot be read.
func (s *Service) upstreamVersions(ctx context.Context, vs *virtual.Service, reg *virtual.Registry, up *virtual.Upstream, name string, dev bool) ([]upstreamVersion, []string, error) {
	tmpl, root, err := s.metadataURL(ctx, vs, reg, up)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	if root.Stale {
		warnings = append(warnings, root.Warning)
	}
	file := name
	if dev {
		file += "~dev"
	}
	u := strings.ReplaceAll(tmpl, "%package%", file)
	if _, err := url.Parse(u); err != nil {
		return nil, warnings, &virtual.UpstreamError{URL: u, Err: err}
	}
	// The metadata-url may name another host: FetchDocument sends the
	// credentials only to the upstream's own origin.
	doc, err := vs.FetchDocument(ctx, reg, up, u, "application/json")
	if err != nil {
		return nil, warnings, err
	}
	if doc.Stale {
		warnings = append(warnings, doc.Warning)
	}
	var body struct {
		Minified string                       `json:"minified"`
		Packages map[string][]json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal(doc.Body, &body); err != nil {
		return nil, warnings, &virtual.UpstreamError{URL: u, Err: fmt.Errorf("not a p2 document: %w", err)}
	}
	list, ok := body.Packages[name]
	if !ok || len(list) == 0 {
		return nil, warnings, apperr.New(apperr.NotFound, "package %q does not exist", name)
	}
	out := make([]upstreamVersion, 0, len(list))
	var prev upstreamVersion
	for _, raw := range list {
		var obj upstreamVersion
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, warnings, &virtual.UpstreamError{URL: u, Err: fmt.Errorf("a version object is not an object: %w", err)}
		}
		if body.Minified == "composer/2.0" && prev != nil {
			// composer/metadata-minifier: only what changed since the
			// previous expanded object; "__unset" removes a key.
			expanded := upstreamVersion{}
			for k, v := range prev {
				expanded[k] = v
			}
			for k, v := range obj {
				if string(v) == `"__unset"` {
					delete(expanded, k)
				} else {
					expanded[k] = v
				}
			}
			obj = expanded
		}
		prev = obj
		out = append(out, obj)
	}
	return out, warnings, nil
}

// UpstreamP2 is name's p2 document (dev: ~dev) from the first upstream
// in ups that has it, its dist URLs pointing at filesBase (the virtual
// registry's files/). An upstream that fails is skipped with a warning;
// NotFound when every upstream answered without it, Unavailable when
// none has it and one failed.
func (s *Service) UpstreamP2(ctx context.Context, vs *virtual.Service, reg *virtual.Registry, ups []*virtual.Upstream, name string, dev bool, filesBase string) (*UpstreamP2, error) {
	out := &UpstreamP2{}
	var failed error
	for _, up := range ups {
		versions, warnings, err := s.upstreamVersions(ctx, vs, reg, up, name, dev)
		out.Warnings = append(out.Warnings, warnings...)
		if apperr.KindOf(err) == apperr.NotFound {
			continue
		}
		if virtual.IsUpstreamError(err) {
			s.d.Log.WarnContext(ctx, "composer: upstream skipped", "upstream", up.URL, "package", name, "err", err)
			out.Warnings = append(out.Warnings, err.Error())
			failed = err
			continue
		}
		if err != nil {
			return nil, err
		}
		objects := make([]json.RawMessage, 0, len(versions))
		for _, v := range versions {
			if d, ok := v.dist(); ok {
				d.URL = filesBase + name + "/" + url.PathEscape(v.version()) + "/" + url.PathEscape(DistFileName(name, v.version(), d.Type))
				raw, err := json.Marshal(d)
				if err != nil {
					return nil, err
				}
				v["dist"] = raw
			}
			v["name"], _ = json.Marshal(name)
			raw, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			objects = append(objects, raw)
		}
		doc := composer_module.Metadata{Packages: composer_module.PackageVersions{Name: name, Versions: objects}}
		out.Body = append(doc.AppendJSON(nil), '\n')
		return out, nil
	}
	if failed != nil {
		return out, virtual.Unavailable(failed)
	}
	return out, apperr.New(apperr.NotFound, "package %q does not exist", name)
}

// UpstreamDist opens the dist archive of an upstream's version: the
// copy stored as the cache owner's package when there is one, otherwise
// fetched from the first upstream in ups that has the version, checked
// against its shasum, and stored first (once per version in this
// process, whoever asks at the same time). warnings name the upstreams
// skipped.
func (s *Service) UpstreamDist(ctx context.Context, vs *virtual.Service, reg *virtual.Registry, ups []*virtual.Upstream, name, version, filename string, count bool) (*packages_service.Download, []string, error) {
	// A stored version is served only if it was fetched from an upstream
	// this caller may use: never the virtual owner's own versions (a
	// package published or registered there), never a copy fetched
	// through a nested registry the caller may not see.
	cached := func() (*packages_model.PackageVersion, error) {
		_, pv, err := vs.CachedVersion(ctx, reg, packages_model.TypeComposer, name, version, ups)
		return pv, err
	}
	open := func() (*packages_service.Download, error) {
		pv, err := cached()
		if err != nil {
			return nil, err
		}
		return s.d.Packages.OpenVersionFile(ctx, pv, filename, "", count)
	}
	pv, err := cached()
	if err == nil {
		// Stored: a wrong file name is not found, not a reason to fetch.
		d, err := s.d.Packages.OpenVersionFile(ctx, pv, filename, "", count)
		return d, nil, err
	}
	if errors.Is(err, virtual.ErrNotAvailable) || apperr.KindOf(err) != apperr.NotFound {
		return nil, nil, err
	}
	key := fmt.Sprintf("%d %s %s %s", reg.V.ID, name, version, virtual.UpstreamsKey(ups))
	w, err, _ := s.flight.Do(key, func() (any, error) {
		// Shared by callers that may go away: the fetch runs on.
		return s.cacheUpstreamDist(context.WithoutCancel(ctx), vs, reg, ups, name, version)
	})
	warnings, _ := w.([]string)
	if err != nil {
		return nil, warnings, err
	}
	d, err := open()
	return d, warnings, err
}

// cacheUpstreamDist fetches a version's archive from the first upstream
// that has the version and stores it as a version of the cache owner.
func (s *Service) cacheUpstreamDist(ctx context.Context, vs *virtual.Service, reg *virtual.Registry, ups []*virtual.Upstream, name, version string) ([]string, error) {
	var warnings []string
	var failed error
	for _, up := range ups {
		err := s.cacheFrom(ctx, vs, reg, up, name, version, &warnings)
		if err == nil || apperr.KindOf(err) != apperr.NotFound && !virtual.IsUpstreamError(err) {
			return warnings, err
		}
		if virtual.IsUpstreamError(err) {
			s.d.Log.WarnContext(ctx, "composer: upstream skipped", "upstream", up.URL, "package", name, "version", version, "err", err)
			warnings = append(warnings, err.Error())
			failed = err
		}
	}
	if failed != nil {
		return warnings, virtual.Unavailable(failed)
	}
	return warnings, apperr.New(apperr.NotFound, "version %s of %q does not exist", version, name)
}

func (s *Service) cacheFrom(ctx context.Context, vs *virtual.Service, reg *virtual.Registry, up *virtual.Upstream, name, version string, warnings *[]string) error {
	var found upstreamVersion
	for _, dev := range []bool{false, true} {
		versions, ws, err := s.upstreamVersions(ctx, vs, reg, up, name, dev)
		*warnings = append(*warnings, ws...)
		if apperr.KindOf(err) == apperr.NotFound {
			continue
		}
		if err != nil {
			return err
		}
		for _, v := range versions {
			if v.version() == version {
				found = v
				break
			}
		}
		if found != nil {
			break
		}
	}
	if found == nil {
		return apperr.New(apperr.NotFound, "version %s of %q does not exist", version, name)
	}
	dist, ok := found.dist()
	if !ok {
		return apperr.New(apperr.NotFound, "version %s of %q has no dist archive", version, name)
	}
	// Open sends the credentials only to the upstream's own origin (a
	// Packagist archive on GitHub gets none).
	resp, err := vs.Open(ctx, up, dist.URL)
	if apperr.KindOf(err) == apperr.NotFound {
		return apperr.New(apperr.NotFound, "version %s of %q does not exist", version, name)
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body := &upstreamReader{r: resp.Body}
	sum := sha1.New()
	buf, err := s.d.Packages.NewUploadBuffer(io.TeeReader(body, sum), packages_model.TypeComposer)
	if body.err != nil {
		return &virtual.UpstreamError{URL: dist.URL, Err: body.err}
	}
	if err != nil {
		return err
	}
	defer buf.Close()
	if got := hex.EncodeToString(sum.Sum(nil)); dist.Shasum != "" && !strings.EqualFold(got, dist.Shasum) {
		return &virtual.UpstreamError{URL: dist.URL, Err: fmt.Errorf("the archive's SHA-1 is %s, the metadata says %s", got, dist.Shasum)}
	}
	var normalized string
	if json.Unmarshal(found["version_normalized"], &normalized) != nil || normalized == "" {
		// The upstream's versions are kept as they are: one composer cannot
		// normalise is stored without.
		normalized, _ = composer_module.Normalize(version)
	}
	meta := map[string]json.RawMessage{}
	for k, v := range found {
		switch k {
		case "name", "version", "version_normalized", "dist", "source", "time", "notification-url":
		default:
			meta[k] = v
		}
	}
	_, err = s.d.Packages.CreatePackageAndAddFile(ctx,
		&packages_service.VersionInfo{Owner: vs.CacheAccess(reg, up).Owner, Type: packages_model.TypeComposer, Name: name, Version: version,
			Metadata: storedMetadata{ComposerJSON: meta, VersionNormalized: normalized, DistType: dist.Type}, Properties: virtual.SourceProperties(up)},
		&packages_service.FileInfo{Name: DistFileName(name, version, dist.Type), IsLead: true, Data: buf}, nil)
	if errors.Is(err, packages_model.ErrVersionExists) {
		return nil // stored by another process meanwhile
	}
	return err
}

// upstreamReader keeps the upstream's read error, which the upload
// buffer would take for a client's.
type upstreamReader struct {
	r   io.Reader
	err error
}

func (u *upstreamReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if err != nil && err != io.EOF {
		u.err = err
	}
	return n, err
}
