package npm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	npm_module "wharf/modules/packages/npm"
	"wharf/routers/api/packages"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
	npm_service "wharf/services/packages/npm"
	"wharf/services/packages/virtual"
)

// Type is the format's.
func (h *Handler) Type() packages_model.Type { return packages_model.TypeNpm }

// VirtualRoutes mounts a virtual npm registry: the same URLs as an
// owner's, a package resolving to the first member that has it (a local
// owner's package as the caller may see it, or an upstream's document,
// cached), with every tarball URL under the virtual registry's own URL
// (npm sends its token only to the registry it was configured with).
func (h *Handler) VirtualRoutes(r chi.Router) {
	r.HandleFunc("/*", h.handle(h.dispatchVirtual))
}

func (h *Handler) dispatchVirtual(w http.ResponseWriter, r *http.Request) error {
	segs, err := pathSegments(r)
	if err != nil {
		return err
	}
	reg := packages.RegistryFrom(r.Context())
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	if len(segs) > 0 && segs[0] == "-" {
		switch rest := segs[1:]; {
		case strings.Join(rest, "/") == "v1/search" && r.Method == http.MethodGet:
			return h.virtualSearch(w, r, reg)
		case len(rest) >= 3 && rest[0] == "package":
			name, tail := splitName(rest[1:])
			if name == "" || len(tail) == 0 || tail[0] != "dist-tags" {
				return errNotFound
			}
			if len(tail) == 1 && r.Method == http.MethodGet {
				return h.virtualDistTags(w, r, reg, name)
			}
			return h.refuseChange(r, reg, name, "change dist-tags of")
		}
		// ping, whoami, login, logout, audit: as at any owner's registry.
		return h.special(w, r, segs[1:])
	}
	name, rest := splitName(segs)
	if name == "" {
		return errNotFound
	}
	if err := validVirtualName(name); err != nil {
		return err
	}
	switch {
	case len(rest) == 0 && get:
		return h.virtualPackument(w, r, reg, name)
	case len(rest) == 1 && get:
		return h.virtualVersion(w, r, reg, name, rest[0])
	case len(rest) == 0 && r.Method == http.MethodPut:
		return h.virtualPublish(w, r, reg, name)
	case len(rest) == 2 && rest[0] == "-" && get:
		return h.virtualTarball(w, r, reg, name, rest[1])
	case len(rest) == 3 && rest[0] == "-" && get:
		if rest[2] != npm_module.TarballName(name, rest[1]) {
			return errNotFound
		}
		return h.virtualTarball(w, r, reg, name, rest[2])
	case len(rest) >= 2 && (rest[0] == "-rev" || rest[0] == "-") && (r.Method == http.MethodPut || r.Method == http.MethodDelete):
		return h.refuseChange(r, reg, name, "unpublish")
	}
	return errNotFound
}

// validVirtualName refuses what cannot be a package name in any
// registry, before it reaches an upstream's URL. It is looser than a
// publish's rules: upstreams serve legacy names (upper case) that
// installs depend on.
func validVirtualName(name string) error {
	scope, bare := npm_module.SplitName(name)
	bad := len(name) > npm_module.MaxNameLength || strings.HasPrefix(name, "@") && scope == "" || strings.Contains(bare, "/")
	for _, part := range []string{scope, bare} {
		if part == "." || part == ".." || strings.HasPrefix(part, ".") || strings.IndexFunc(part, func(c rune) bool {
			return c == '%' || c == '\\' || unicode.IsSpace(c) || unicode.IsControl(c)
		}) >= 0 {
			bad = true
		}
	}
	if bad {
		return apperr.New(apperr.Invalid, "invalid package name %q", name)
	}
	return nil
}

// scopeOwner is the owner a name claims by its @scope: such a name never
// comes from an upstream when the scope is an owner of this instance.
func scopeOwner(name string) string {
	scope, _ := npm_module.SplitName(name)
	return scope
}

// virtualBase is the URL the virtual registry's tarballs are served under.
func (h *Handler) virtualBase(reg *virtual.Registry) string {
	return h.RootURL + "api/packages/" + url.PathEscape(reg.Owner.Name) + "/npm/"
}

func (h *Handler) resolve(r *http.Request, reg *virtual.Registry, name string) (*virtual.Resolution, error) {
	return h.Virtual.Resolve(r.Context(), reg, common.Doer(r.Context()), name, scopeOwner)
}

func (h *Handler) virtualPackument(w http.ResponseWriter, r *http.Request, reg *virtual.Registry, name string) error {
	res, err := h.resolve(r, reg, name)
	if err != nil {
		return err
	}
	if res.Local != nil {
		return h.servePackument(w, r, res.Local, res.Package, name, h.virtualBase(reg))
	}
	p, _, err := h.upstreamPackument(r.Context(), w, reg, res, name)
	if err != nil {
		return err
	}
	// The full document answers both Accept forms (pacote reads either).
	return writeDocument(w, r, "application/json", &npm_service.Packument{Body: p.Body, ETag: p.ETag})
}

func (h *Handler) virtualVersion(w http.ResponseWriter, r *http.Request, reg *virtual.Registry, name, ref string) error {
	res, err := h.resolve(r, reg, name)
	if err != nil {
		return err
	}
	if res.Local != nil {
		return h.serveVersion(w, r, res.Local, name, ref, h.virtualBase(reg))
	}
	// An upstream's version is answered from its package document, whose
	// tarball URLs are already this registry's.
	p, _, err := h.upstreamPackument(r.Context(), w, reg, res, name)
	if err != nil {
		return err
	}
	return h.serveUpstreamVersion(w, r, p, name, ref)
}

func (h *Handler) virtualDistTags(w http.ResponseWriter, r *http.Request, reg *virtual.Registry, name string) error {
	res, err := h.resolve(r, reg, name)
	if err != nil {
		return err
	}
	if res.Local != nil {
		tags, err := h.Npm.DistTags(r.Context(), res.Local, name)
		if err != nil {
			return err
		}
		return common.WriteJSON(w, http.StatusOK, tags)
	}
	p, _, err := h.upstreamPackument(r.Context(), w, reg, res, name)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, p.DistTags)
}

// refuseChange answers a change of an existing package (dist-tags,
// unpublish, deprecate) made through the virtual URL: it is made at the
// owner's own registry, so that nobody changes a member's package through
// a URL that names another owner. The message names that registry when
// the caller may see it.
func (h *Handler) refuseChange(r *http.Request, reg *virtual.Registry, name, what string) error {
	res, err := h.resolve(r, reg, name)
	if err != nil {
		return err
	}
	if res.Local == nil {
		return apperr.New(apperr.Unprocessable, "%q is a virtual npm registry and %s comes from an upstream registry: it cannot be changed here", reg.Owner.Name, name)
	}
	return apperr.New(apperr.Unprocessable, "%q is a virtual npm registry: %s %s at its owner's registry, %s", reg.Owner.Name, what, name,
		h.RootURL+"api/packages/"+url.PathEscape(res.Local.Owner.Name)+"/npm/")
}

// virtualPublish publishes a new version to the registry's publishing
// member. A name an earlier member already holds is refused: the version
// would be hidden behind that member's package. A document without a
// tarball (npm deprecate) is refused as every change of an existing
// package is.
func (h *Handler) virtualPublish(w http.ResponseWriter, r *http.Request, reg *virtual.Registry, name string) error {
	a, err := h.Virtual.PublishAccess(r.Context(), reg, common.Doer(r.Context()))
	if err != nil {
		return err
	}
	res, err := h.resolve(r, reg, name)
	switch {
	case err == nil && res.Local != nil && res.Local.Owner.ID != a.Owner.ID:
		return apperr.New(apperr.Unprocessable, "%s is published by %q, which comes before %q in the virtual registry %q: publish it at %s",
			name, res.Local.Owner.Name, a.Owner.Name, reg.Owner.Name, h.RootURL+"api/packages/"+url.PathEscape(res.Local.Owner.Name)+"/npm/")
	case err != nil && apperr.KindOf(err) != apperr.NotFound:
		return err
	}
	// Also a name a member the publisher may not read holds, or one the
	// publishing member's patterns keep out: it could not be read back.
	if err := h.Virtual.CheckPublishName(r.Context(), reg, name); err != nil {
		return err
	}
	refuse := func() error { return h.refuseChange(r, reg, name, "deprecate") }
	if err := h.Npm.PublishToMember(r.Context(), a, name, r.Body, refuse); err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusCreated, map[string]any{"ok": true, "id": name})
}

// maxVirtualSearch is how many hits of each member a merged search reads
// at least.
const maxVirtualSearch = 1000

// virtualSearch merges the searches of the local members the caller may
// read, in order; a name appears once, from the first member that has it.
func (h *Handler) virtualSearch(w http.ResponseWriter, r *http.Request, reg *virtual.Registry) error {
	text, size, from := searchPage(r)
	as, ms, err := h.Virtual.Readable(r.Context(), reg, common.Doer(r.Context()))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var found []npm_service.SearchResult
	var names []string
	var owners []int64
	for i, a := range as {
		// Enough of each member for the page, and at least
		// maxVirtualSearch, so that the total counts what the merge shows.
		results, _, err := h.Npm.Search(r.Context(), a, text, max(from+size, maxVirtualSearch), 0)
		if err != nil {
			return err
		}
		for _, res := range results {
			if seen[res.Name] || !ms[i].Matches(res.Name) {
				continue
			}
			seen[res.Name] = true
			found = append(found, res)
			names, owners = append(names, res.Name), append(owners, a.Owner.ID)
		}
	}
	// A name a member before it holds (one the caller may not read, too)
	// resolves there, not here: it is not shown.
	keep, err := h.Virtual.Shown(r.Context(), reg, names, owners)
	if err != nil {
		return err
	}
	var merged []npm_service.SearchResult
	for i, res := range found {
		if keep[i] {
			merged = append(merged, res)
		}
	}
	total := int64(len(merged))
	merged = merged[min(from, len(merged)):min(from+size, len(merged))]
	return h.writeSearch(w, r, merged, total)
}

// upstreamURL is the upstream's URL of a package document.
func upstreamURL(up *virtual.Upstream, name string) string {
	if scope, bare := npm_module.SplitName(name); scope != "" {
		return up.URL + "@" + url.PathEscape(scope) + "%2f" + url.PathEscape(bare)
	}
	return up.URL + url.PathEscape(name)
}

// upstreamPackument is the document of the first upstream that has the
// name, rewritten to this registry's URLs. An upstream that fails or
// answers garbage is skipped with a log line and a Warning header; a
// stored copy served because its upstream failed says so too. Only when
// no upstream could answer, not even "no such package", is it
// Unavailable.
func (h *Handler) upstreamPackument(ctx context.Context, w http.ResponseWriter, reg *virtual.Registry, res *virtual.Resolution, name string) (*npm_service.UpstreamPackument, *virtual.Upstream, error) {
	var failed error
	answered := false // an upstream said it has no such package
	for _, up := range res.Upstreams {
		u := upstreamURL(up, name)
		doc, err := h.Virtual.FetchDocument(ctx, reg, up, u, "application/json")
		if apperr.KindOf(err) == apperr.NotFound {
			answered = true
			continue
		}
		if err != nil {
			if !virtual.IsUpstreamError(err) {
				return nil, nil, err
			}
			h.skipUpstream(ctx, w, err)
			failed = err
			continue
		}
		if doc.Stale {
			addWarning(w, "stale copy: "+doc.Warning)
		}
		p, err := npm_service.RewriteUpstreamPackument(name, doc.Body, h.virtualBase(reg))
		if errors.Is(err, npm_service.ErrOtherSpelling) {
			answered = true
			continue
		}
		if err != nil {
			err = &virtual.UpstreamError{URL: u, Err: err}
			h.skipUpstream(ctx, w, err)
			failed = err
			continue
		}
		return p, up, nil
	}
	if failed != nil && !answered {
		return nil, nil, virtual.Unavailable(failed)
	}
	return nil, nil, apperr.New(apperr.NotFound, "package %q does not exist", name)
}

func (h *Handler) skipUpstream(ctx context.Context, w http.ResponseWriter, err error) {
	h.Log.WarnContext(ctx, "npm upstream skipped", "err", err)
	addWarning(w, "upstream skipped: "+err.Error())
}

// warningSink keeps the Warning headers of a fetch shared by several
// requests, for each to send.
type warningSink struct{ h http.Header }

func (w warningSink) Header() http.Header       { return w.h }
func (warningSink) Write(b []byte) (int, error) { return len(b), nil }
func (warningSink) WriteHeader(int)             {}

// addWarning adds an HTTP Warning (code 199, miscellaneous) with the text
// made safe for a quoted header value.
func addWarning(w http.ResponseWriter, text string) {
	text = strings.Map(func(c rune) rune {
		if c == '"' || c == '\\' || c < 0x20 || c > 0x7e {
			return '\''
		}
		return c
	}, text)
	w.Header().Add("Warning", `199 - "`+text+`"`)
}

// serveUpstreamVersion answers GET /{name}/{version or tag} for an
// upstream's package from its (rewritten) document.
func (h *Handler) serveUpstreamVersion(w http.ResponseWriter, r *http.Request, p *npm_service.UpstreamPackument, name, ref string) error {
	version := ref
	if v, ok := p.DistTags[ref]; ok {
		version = v
	}
	body, ok := p.RewrittenVersion(version)
	if !ok {
		return apperr.New(apperr.NotFound, "version or dist-tag %q of %s does not exist", ref, name)
	}
	return writeDocument(w, r, "application/json", body)
}

// virtualTarball serves a tarball: a local member's from that member; an
// upstream's from the cache owner's copy, fetched from the upstream and
// stored there on the first download.
func (h *Handler) virtualTarball(w http.ResponseWriter, r *http.Request, reg *virtual.Registry, name, file string) error {
	res, err := h.resolve(r, reg, name)
	if err != nil {
		return err
	}
	if res.Local != nil {
		return h.serveTarball(w, r, res.Local, name, file)
	}
	version, ok := versionFromTarball(name, file)
	if !ok {
		return errNotFound
	}
	count := r.Method == http.MethodGet
	d, err := h.openCached(r.Context(), reg, res, name, version, file, count)
	if err == nil {
		packages.ServeDownload(w, r, d)
		return nil
	}
	if apperr.KindOf(err) != apperr.NotFound {
		return err
	}
	// Concurrent first downloads of one tarball are one fetch; each
	// caller gets the warnings it met.
	key := fmt.Sprintf("npm %d %s@%s %s", reg.V.ID, name, version, virtual.UpstreamsKey(res.Upstreams))
	v, err := h.Virtual.Once(r.Context(), key, func(ctx context.Context) (any, error) {
		ws := warningSink{http.Header{}}
		return ws, h.fetchUpstreamTarball(ctx, ws, reg, res, name, version)
	})
	if ws, ok := v.(warningSink); ok {
		for _, warning := range ws.h.Values("Warning") {
			w.Header().Add("Warning", warning)
		}
	}
	if err != nil {
		return err
	}
	d, err = h.openCached(r.Context(), reg, res, name, version, file, count)
	if err != nil {
		return err
	}
	packages.ServeDownload(w, r, d)
	return nil
}

// openCached opens the cached tarball of name@version if it came from an
// upstream this caller may use (res.Upstreams): a copy fetched through a
// nested registry the caller may not see is not found for it.
func (h *Handler) openCached(ctx context.Context, reg *virtual.Registry, res *virtual.Resolution, name, version, file string, count bool) (*packages_service.Download, error) {
	_, pv, err := h.Virtual.CachedVersion(ctx, reg, packages_model.TypeNpm, name, version, res.Upstreams)
	if err != nil {
		return nil, err
	}
	return h.Packages.OpenVersionFile(ctx, pv, file, "", count)
}

// fetchUpstreamTarball downloads a version's tarball from the upstream
// whose document lists it and stores it for the cache owner, checked
// against the document's integrity.
func (h *Handler) fetchUpstreamTarball(ctx context.Context, w http.ResponseWriter, reg *virtual.Registry, res *virtual.Resolution, name, version string) error {
	p, up, err := h.upstreamPackument(ctx, w, reg, res, name)
	if err != nil {
		return err
	}
	uv, ok := p.Version(version)
	if !ok {
		return apperr.New(apperr.NotFound, "version %s of %s does not exist", version, name)
	}
	if u, err := url.Parse(uv.Tarball); err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return virtual.Unavailable(&virtual.UpstreamError{URL: uv.Tarball, Err: fmt.Errorf("the document's tarball URL is not http(s)")})
	}
	// Open sends the upstream's credentials only to its own origin.
	resp, err := h.Virtual.Open(ctx, up, uv.Tarball)
	if apperr.KindOf(err) == apperr.NotFound {
		err = &virtual.UpstreamError{URL: uv.Tarball, Err: fmt.Errorf("no tarball where its document says")}
	}
	if err != nil {
		h.skipUpstream(ctx, w, err)
		return virtual.Unavailable(err)
	}
	defer resp.Body.Close()
	buf, err := h.Packages.NewUploadBuffer(resp.Body, packages_model.TypeNpm)
	if err != nil {
		err = &virtual.UpstreamError{URL: uv.Tarball, Err: err}
		h.skipUpstream(ctx, w, err)
		return virtual.Unavailable(err)
	}
	defer buf.Close()
	err = h.Npm.CacheUpstreamTarball(ctx, h.Virtual.CacheAccess(reg, up), name, version, uv, buf, virtual.SourceProperties(up))
	if errors.Is(err, npm_service.ErrUpstreamTarball) {
		err = &virtual.UpstreamError{URL: uv.Tarball, Err: err}
		h.skipUpstream(ctx, w, err)
		return virtual.Unavailable(err)
	}
	return err
}
