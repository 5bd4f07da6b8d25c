package cargo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	packages_model "wharf/models/packages"
	cargo_model "wharf/models/packages/cargo"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	cargo_module "wharf/modules/packages/cargo"
	packages_service "wharf/services/packages"
	"wharf/services/packages/virtual"
)

// VirtualIndex is a crate's index file as a virtual registry serves it:
// the index file of the first local member holding the crate, or an
// upstream's file (or, with every upstream failing and no stored copy,
// the versions the cache owner holds), with the warnings to send.
type VirtualIndex struct {
	*IndexFile
	// Warnings name the upstreams that failed and were skipped, or the
	// stale copy served instead.
	Warnings []string
}

// VirtualIndexFile answers a crate's index file through the virtual
// registry reg for doer: a local member's file is the member's, with its
// validators; an upstream's file is passed on as it is (its dl is this
// registry's, config.json's), with an ETag of its bytes. On an error the
// answer may still carry the warnings (IndexFile nil).
func (s *Service) VirtualIndexFile(ctx context.Context, v *virtual.Service, reg *virtual.Registry, doer *user_model.User, name string, current func(etag string, modified time.Time) bool) (*VirtualIndex, error) {
	if !validCrateName(name) {
		return nil, errNoSuchCrate(name)
	}
	res, err := s.ResolveCrate(ctx, v, reg, doer, name)
	if err != nil {
		return nil, err
	}
	if res.Local != nil {
		f, err := s.Index(ctx, res.Local, name, current)
		if err != nil {
			return nil, err
		}
		return &VirtualIndex{IndexFile: f}, nil
	}
	up, err := s.upstreamIndex(ctx, v, reg, res.Upstreams, name)
	if err != nil && virtual.IsUpstreamError(err) {
		// No upstream answered and no stored copy of its index file was
		// there to serve (FetchDocument serves one when there is): the
		// cached crates are not listed from the cache owner's own index,
		// which mixes what every upstream served, also those the caller
		// may not use.
		return &VirtualIndex{Warnings: up.warnings}, virtual.Unavailable(err)
	}
	if err != nil {
		return &VirtualIndex{Warnings: up.warnings}, err
	}
	sum := sha256.Sum256(up.body)
	f := &IndexFile{ETag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	if current(f.ETag, time.Time{}) {
		f.NotModified = true
	} else {
		f.Body = up.body
	}
	return &VirtualIndex{IndexFile: f, Warnings: up.warnings}, nil
}

// ResolveCrate is virtual.Resolve with Cargo's rule for names: '-' and '_'
// are one and case does not count, so a crate that a local member holds
// under another spelling of the name (foo_bar for foo-bar) keeps the
// name from every upstream too, whoever asks — the member's own index
// would not serve the other spelling either, so the name is not found.
func (s *Service) ResolveCrate(ctx context.Context, v *virtual.Service, reg *virtual.Registry, doer *user_model.User, name string) (*virtual.Resolution, error) {
	res, err := v.Resolve(ctx, reg, doer, name, nil)
	if err != nil {
		return res, err
	}
	canonical := cargo_module.CanonicalName(name)
	if res.Local != nil {
		// A member before the one that holds this spelling may hold
		// another (nut_tree before nut-tree): it comes first, and its
		// index does not serve this spelling, so the name is not found.
		for _, m := range reg.Members {
			if m.Owner == nil {
				continue
			}
			if m.Owner.ID == res.Local.Owner.ID {
				break
			}
			if _, err := cargo_model.GetPackageByCanonicalName(ctx, s.d.DB.Engine(), m.Owner.ID, canonical, 0); err == nil {
				return nil, errNoSuchCrate(name)
			} else if !errors.Is(err, packages_model.ErrPackageNotExist) {
				return nil, err
			}
		}
		return res, nil
	}
	for _, m := range reg.Members {
		if m.Owner == nil {
			continue
		}
		_, err := cargo_model.GetPackageByCanonicalName(ctx, s.d.DB.Engine(), m.Owner.ID, canonical, 0)
		if err == nil {
			return nil, errNoSuchCrate(name)
		}
		if !errors.Is(err, packages_model.ErrPackageNotExist) {
			return nil, err
		}
	}
	return res, nil
}

func errNoSuchCrate(name string) error {
	return apperr.New(apperr.NotFound, "crate `%s` does not exist", name)
}

// validCrateName: a name cargo could ask for, whose index path exists.
func validCrateName(name string) bool {
	if name == "" {
		return false
	}
	_, err := cargo_module.NameFromIndexPath(strings.Split(cargo_module.IndexPath(name), "/")...)
	return err == nil
}

// upstreamFile is a crate's index file from the first upstream that has
// it.
type upstreamFile struct {
	up   *virtual.Upstream
	body []byte
	// lines are the file's versions by vers, each as the upstream wrote it.
	lines    map[string]upstreamLine
	warnings []string
}

type upstreamLine struct {
	raw  []byte
	line *cargo_module.IndexLine
}

// upstreamIndex asks the upstreams in order for the crate's file: the
// first that has it answers (never a mix of two); one that fails or
// answers what is no index file is skipped with a warning. When every
// one failed, the error is an upstream error (with the warnings so far in
// the returned file); when none has it, not found — also when some
// failed: an upstream that answered decides over those that could not.
func (s *Service) upstreamIndex(ctx context.Context, v *virtual.Service, reg *virtual.Registry, ups []*virtual.Upstream, name string) (*upstreamFile, error) {
	out := &upstreamFile{}
	var failed error
	answered := false
	for _, up := range ups {
		doc, err := v.FetchDocument(ctx, reg, up, up.URL+cargo_module.IndexPath(name), "text/plain")
		if apperr.KindOf(err) == apperr.NotFound && !virtual.IsUpstreamError(err) {
			answered = true
			continue
		}
		if err == nil {
			if doc.Stale {
				out.warnings = append(out.warnings, "stale copy of "+up.URL+": "+doc.Warning)
			}
			var lines map[string]upstreamLine
			if lines, err = parseUpstreamIndex(doc.Body, name); err != nil {
				err = &virtual.UpstreamError{URL: up.URL, Err: err}
			} else {
				out.up, out.body, out.lines = up, doc.Body, lines
				return out, nil
			}
		}
		if !virtual.IsUpstreamError(err) {
			return out, err
		}
		s.d.Log.WarnContext(ctx, "upstream skipped", "upstream", up.URL, "crate", name, "err", err)
		out.warnings = append(out.warnings, "upstream skipped: "+err.Error())
		failed = err
	}
	if failed != nil && !answered {
		return out, failed
	}
	return out, errNoSuchCrate(name)
}

// parseUpstreamIndex reads an upstream's index file of the crate name:
// lines cargo would skip are left out, and a file with no line of the
// crate is garbage.
func parseUpstreamIndex(body []byte, name string) (map[string]upstreamLine, error) {
	lines := map[string]upstreamLine{}
	for raw := range bytes.SplitSeq(body, []byte("\n")) {
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		l, err := cargo_module.ParseIndexLine(raw)
		if err != nil || cargo_module.CanonicalName(l.Name) != cargo_module.CanonicalName(name) || l.Vers == "" {
			continue
		}
		lines[l.Vers] = upstreamLine{raw: raw, line: l}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("the index file of %s has no line of it", name)
	}
	return lines, nil
}

// OpenVirtualCrate opens a crate's .crate through the virtual registry:
// a local member's from the member; an upstream's from the cache owner,
// fetched from the upstream on its first download, checked against the
// index's cksum and stored as a version of the cache owner's crate.
func (s *Service) OpenVirtualCrate(ctx context.Context, v *virtual.Service, reg *virtual.Registry, doer *user_model.User, name, version string, count bool) (*packages_service.Download, []string, error) {
	if !validCrateName(name) {
		return nil, nil, errNoSuchCrate(name)
	}
	res, err := s.ResolveCrate(ctx, v, reg, doer, name)
	if err != nil {
		return nil, nil, err
	}
	if res.Local != nil {
		d, err := s.OpenCrate(ctx, res.Local, name, version, count)
		return d, nil, err
	}
	// A stored crate is served only if it was fetched from an upstream
	// this caller may use (never one fetched through a nested registry
	// the caller may not see, never the virtual owner's own).
	openCached := func() (*packages_service.Download, error) {
		p, pv, err := v.CachedVersion(ctx, reg, packages_model.TypeCargo, name, version, res.Upstreams)
		if err != nil {
			return nil, err
		}
		return s.d.Packages.OpenVersionFile(ctx, pv, crateFileName(p.Name, pv.Version), "", count)
	}
	d, err := openCached()
	if err == nil {
		// The stored copy is served if it is the crate of the index line
		// in force (or no upstream answers for the index): the name may
		// have moved to another upstream since (reordered members, an
		// earlier one that now has it), whose bytes differ.
		f, ierr := s.upstreamIndex(ctx, v, reg, res.Upstreams, name)
		ul, known := upstreamLine{}, false
		if ierr == nil {
			ul, known = f.lines[version]
		}
		if !known || strings.EqualFold(d.Blob.HashSHA256, ul.line.Cksum) {
			return d, nil, nil
		}
		if d.Content != nil {
			_ = d.Content.Close()
		}
		s.d.Log.InfoContext(ctx, "cargo: the cached crate is not the one the index in force describes; fetching it again", "crate", name, "version", version)
		if err := s.d.Packages.RemoveVersionBySystem(ctx, d.Version); err != nil {
			return nil, nil, err
		}
	} else if errors.Is(err, virtual.ErrNotAvailable) || apperr.KindOf(err) != apperr.NotFound {
		return nil, nil, err
	}
	// One fetch per crate version in this process; concurrent downloads
	// wait for it and read the stored copy.
	key := strconv.FormatInt(reg.V.ID, 10) + " " + cargo_module.CanonicalName(name) + " " + version + " " + virtual.UpstreamsKey(res.Upstreams)
	w, err, _ := s.flight.Do(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
		defer cancel()
		return s.fetchCrate(fctx, v, reg, res.Upstreams, name, version)
	})
	warnings, _ := w.([]string)
	if err != nil {
		if virtual.IsUpstreamError(err) {
			return nil, warnings, virtual.Unavailable(err)
		}
		return nil, warnings, err
	}
	d, err = openCached()
	return d, warnings, err
}

// fetchCrate downloads a version from the upstream whose index has the
// crate and stores it with the cache owner; it answers the warnings.
func (s *Service) fetchCrate(ctx context.Context, v *virtual.Service, reg *virtual.Registry, ups []*virtual.Upstream, name, version string) ([]string, error) {
	f, err := s.upstreamIndex(ctx, v, reg, ups, name)
	if err != nil {
		return f.warnings, err
	}
	ul, ok := f.lines[version]
	if !ok {
		return f.warnings, apperr.New(apperr.NotFound, "crate `%s` has no version `%s`", name, version)
	}
	if len(ul.line.Name) > 255 || len(ul.line.Vers) > 255 {
		return f.warnings, &virtual.UpstreamError{URL: f.up.URL, Err: fmt.Errorf("crate %q version %q: longer than this registry stores", ul.line.Name, ul.line.Vers)}
	}
	cksum := strings.ToLower(ul.line.Cksum)
	dl, err := s.upstreamDownloadURL(ctx, v, reg, f.up, ul.line, cksum)
	if err != nil {
		return f.warnings, err
	}
	// Open gives the upstream's credentials only to its own origin.
	resp, err := v.Open(ctx, f.up, dl)
	if apperr.KindOf(err) == apperr.NotFound {
		return f.warnings, apperr.New(apperr.NotFound, "crate `%s` version `%s` is not on the upstream registry", name, version)
	}
	if err != nil {
		return f.warnings, err
	}
	defer resp.Body.Close()
	body := &upstreamReader{r: resp.Body}
	buf, err := s.d.Packages.NewUploadBuffer(body, packages_model.TypeCargo)
	if body.err != nil {
		return f.warnings, &virtual.UpstreamError{URL: dl, Err: body.err}
	}
	if err != nil {
		if apperr.KindOf(err) == apperr.TooLarge {
			return f.warnings, &virtual.UpstreamError{URL: dl, Err: err}
		}
		return f.warnings, err
	}
	defer buf.Close()
	if got := buf.Hashes().SHA256; got != cksum {
		return f.warnings, &virtual.UpstreamError{URL: dl, Err: fmt.Errorf("the crate's SHA-256 is %s, the index says %s", got, cksum)}
	}
	description := ""
	if m, err := cargo_module.ParseCrate(buf.Reader(), ul.line.Name, ul.line.Vers, cargo_module.DefaultMaxUnpacked); err == nil {
		// Only for search and the web page; a crate this registry would
		// not take from a publish is still the upstream's to serve.
		description = m.Description
	}
	props := virtual.SourceProperties(f.up)
	props[propDescription] = description
	_, err = s.d.Packages.CreatePackageAndAddFile(ctx,
		&packages_service.VersionInfo{Owner: v.CacheAccess(reg, f.up).Owner, Type: packages_model.TypeCargo, Name: ul.line.Name, Version: ul.line.Vers,
			RawMetadata: json.RawMessage(ul.raw), Properties: props, SerializeOwner: true},
		&packages_service.FileInfo{Name: crateFileName(ul.line.Name, ul.line.Vers), IsLead: true, Data: buf}, nil)
	if errors.Is(err, packages_model.ErrVersionExists) {
		// Another process stored it first: the same bytes (the cksum).
		err = nil
	}
	return f.warnings, err
}

// upstreamReader remembers the upstream's read error, which the upload
// buffer would report as the client's.
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

// upstreamDownloadURL expands the upstream's dl template (config.json)
// for a version, as cargo does: the markers, or /{crate}/{version}/download
// appended when there are none.
func (s *Service) upstreamDownloadURL(ctx context.Context, v *virtual.Service, reg *virtual.Registry, up *virtual.Upstream, l *cargo_module.IndexLine, cksum string) (string, error) {
	doc, err := v.FetchDocument(ctx, reg, up, up.URL+"config.json", "application/json")
	if apperr.KindOf(err) == apperr.NotFound && !virtual.IsUpstreamError(err) {
		return "", &virtual.UpstreamError{URL: up.URL + "config.json", Err: errors.New("no config.json: not a sparse index")}
	}
	if err != nil {
		return "", err
	}
	var cfg struct {
		DL string `json:"dl"`
	}
	if err := json.Unmarshal(doc.Body, &cfg); err != nil || cfg.DL == "" {
		return "", &virtual.UpstreamError{URL: up.URL + "config.json", Err: errors.New("config.json has no dl")}
	}
	base, err := url.Parse(up.URL)
	if err != nil {
		return "", &virtual.UpstreamError{URL: up.URL, Err: err}
	}
	u, err := base.Parse(expandDL(cfg.DL, l.Name, l.Vers, cksum))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", &virtual.UpstreamError{URL: up.URL + "config.json", Err: fmt.Errorf("dl %q is no http(s) URL", cfg.DL)}
	}
	return u.String(), nil
}

// expandDL is cargo's expansion of config.json's dl (download.rs).
func expandDL(dl, name, version, cksum string) string {
	markers := []string{"{crate}", "{version}", "{prefix}", "{lowerprefix}", "{sha256-checksum}"}
	has := false
	for _, m := range markers {
		has = has || strings.Contains(dl, m)
	}
	if !has {
		return strings.TrimSuffix(dl, "/") + "/" + url.PathEscape(name) + "/" + url.PathEscape(version) + "/download"
	}
	lowerPrefix := strings.ToLower(casedPrefix(name))
	prefix := casedPrefix(name)
	return strings.NewReplacer("{crate}", name, "{version}", version, "{prefix}", prefix,
		"{lowerprefix}", lowerPrefix, "{sha256-checksum}", cksum).Replace(dl)
}

// casedPrefix is cargo's {prefix}: the index path's directories in the
// name's own case.
func casedPrefix(name string) string {
	switch len(name) {
	case 1:
		return "1"
	case 2:
		return "2"
	case 3:
		return "3/" + name[:1]
	}
	return name[:2] + "/" + name[2:4]
}

// VirtualSearch searches the members the caller may read, in order; a
// crate name is shown from the first member that has it, as it resolves:
// only where the member's patterns let it through, and not when a member
// before it that the caller may not read holds the name (the crate's
// file is then not found for the caller).
func (s *Service) VirtualSearch(ctx context.Context, v *virtual.Service, reg *virtual.Registry, doer *user_model.User, q string, perPage, page int) ([]SearchHit, int64, error) {
	perPage = min(max(perPage, 1), 100)
	page = min(max(page, 1), 10000) // a bound keeps page*perPage an int
	as, ms, err := v.Readable(ctx, reg, doer)
	if err != nil {
		return nil, 0, err
	}
	hidden := hiddenBefore(reg, ms)
	seen := map[string]bool{}
	merged := []SearchHit{}
	// Each member is read up to maxMemberPages pages, so that the total
	// counts what the merge shows; what a member has beyond is counted
	// by its own total.
	const maxMemberPages = 10
	var beyond int64
	for i, a := range as {
		for p := 1; ; p++ {
			hits, memberTotal, err := s.Search(ctx, a, q, 100, p)
			if err != nil {
				return nil, 0, err
			}
			if p == maxMemberPages {
				beyond += max(memberTotal-int64(p*100), 0)
			}
			for _, h := range hits {
				key := cargo_module.CanonicalName(h.Name) // '-' and '_' are one name
				shadowed := false
				if !seen[key] && len(hidden[i]) > 0 {
					if shadowed, err = s.heldByOneOf(ctx, hidden[i], h.Name); err != nil {
						return nil, 0, err
					}
				}
				if ms[i].Matches(h.Name) && !seen[key] && !shadowed {
					seen[key] = true
					merged = append(merged, h)
				}
			}
			if len(hits) < 100 || p == maxMemberPages {
				break
			}
		}
	}
	start := min((page-1)*perPage, len(merged))
	end := min(start+perPage, len(merged))
	return merged[start:end], int64(len(merged)) + beyond, nil
}

// hiddenBefore lists, for each readable member (ms, in order), the local
// members before it that the caller may not read.
func hiddenBefore(reg *virtual.Registry, ms []*virtual.Member) [][]*virtual.Member {
	out := make([][]*virtual.Member, len(ms))
	var hidden []*virtual.Member
	j := 0
	for _, m := range reg.Members {
		if m.Owner == nil {
			continue
		}
		if j < len(ms) && ms[j] == m {
			out[j] = hidden
			j++
			continue
		}
		hidden = append(hidden[:len(hidden):len(hidden)], m)
	}
	return out
}

// heldByOneOf says whether one of the members holds a crate of the name
// that its patterns let through (where Resolve stops).
func (s *Service) heldByOneOf(ctx context.Context, members []*virtual.Member, name string) (bool, error) {
	ids := make([]int64, len(members))
	for i, m := range members {
		ids[i] = m.Owner.ID
	}
	held, err := packages_model.PackagesNamed(ctx, s.d.DB.Engine(), packages_model.TypeCargo, name, ids)
	if err != nil {
		return false, err
	}
	for _, m := range members {
		if _, ok := held[m.Owner.ID]; ok && m.Matches(name) {
			return true, nil
		}
	}
	return false, nil
}

// PublishVirtual publishes through the virtual registry to its
// publishing member (a, from virtual.PublishAccess), refusing a crate
// that could not be read back through the registry: a name another local
// member holds, in any spelling cargo takes for the same crate, or one
// the publishing member's patterns keep out.
func (s *Service) PublishVirtual(ctx context.Context, v *virtual.Service, reg *virtual.Registry, a *packages_service.Access, body io.Reader) (*Published, error) {
	return s.publish(ctx, a, body, func(name string) error {
		if err := v.CheckPublishName(ctx, reg, name); err != nil {
			return err
		}
		canonical := cargo_module.CanonicalName(name)
		for _, m := range reg.Members {
			if m.Owner == nil || m.Owner.ID == a.Owner.ID {
				continue
			}
			p, err := cargo_model.GetPackageByCanonicalName(ctx, s.d.DB.Engine(), m.Owner.ID, canonical, 0)
			if err == nil {
				return apperr.New(apperr.Conflict, "crate `%s` is already served by another member of %q as `%s` ('-' and '_' are the same in crate names, and case does not count): publish it at its owner's registry", name, reg.Owner.Name, p.Name)
			}
			if !errors.Is(err, packages_model.ErrPackageNotExist) {
				return err
			}
		}
		return nil
	})
}
