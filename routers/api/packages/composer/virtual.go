package composer

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	composer_module "wharf/modules/packages/composer"
	"wharf/modules/scope"
	"wharf/routers/api/packages"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
	composer_service "wharf/services/packages/composer"
	"wharf/services/packages/virtual"
)

// Type is the format's.
func (h *Handler) Type() packages_model.Type { return packages_model.TypeComposer }

// VirtualRoutes mounts a virtual registry's Composer URLs: a name's
// metadata comes from the first member that has it (a local owner's
// package, or an upstream's with its archives cached here), search and
// list merge the local members the caller may read, and uploads go to
// the registry's publishing member.
func (h *Handler) VirtualRoutes(r chi.Router) {
	r.Get("/packages.json", h.handle(h.virtualIndex))
	r.Head("/packages.json", h.handle(h.virtualIndex))
	r.Get("/p2/{vendor}/{file}", h.handle(h.virtualMetadata))
	r.Head("/p2/{vendor}/{file}", h.handle(h.virtualMetadata))
	r.Get("/search.json", h.handle(h.virtualSearch))
	r.Get("/list.json", h.handle(h.virtualList))
	r.Post("/downloads", h.handle(h.notifyBatch))
	r.Get("/files/{vendor}/{name}/{version}/{filename}", h.handle(h.virtualDownload))
	r.Head("/files/{vendor}/{name}/{version}/{filename}", h.handle(h.virtualDownload))
	r.Put("/", h.handle(h.virtualUpload))
	r.Post("/", h.handle(h.virtualRegister))
	r.Get("/-/sources", h.handle(h.virtualSources))
	r.Put("/-/sources/{repoOwner}/{repo}", h.handle(h.virtualSources))
	r.Delete("/-/sources/{repoOwner}/{repo}", h.handle(h.virtualSources))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { writeError(w, r, http.StatusNotFound, "not found") })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed here")
	})
}

// hasUpstream says whether the registry has an upstream member: then the
// names it may serve are not known in advance.
func hasUpstream(reg *virtual.Registry) bool {
	for _, m := range reg.Members {
		if m.Upstream != nil {
			return true
		}
	}
	return false
}

// shown keeps, of names found in members, those the registry resolves to
// those members (virtual.Service.Shown).
func (h *Handler) shown(reg *virtual.Registry) func(ctx context.Context, names []string, from []int64) ([]bool, error) {
	return func(ctx context.Context, names []string, from []int64) ([]bool, error) {
		return h.Virtual.Shown(ctx, reg, names, from)
	}
}

// warn tells the client which upstreams were skipped or served stale.
func warn(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", "199 - "+strconv.Quote(strings.ReplaceAll(msg, `"`, `'`)))
	}
}

func (h *Handler) virtualIndex(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	reg := packages.RegistryFrom(ctx)
	base := h.base(packages.AccessFrom(ctx))
	index := map[string]any{
		"packages":     []any{},
		"metadata-url": base + "p2/%package%.json",
		"search":       base + "search.json?q=%query%&type=%type%",
		"list":         base + "list.json",
		"notify-batch": base + "downloads",
	}
	if !hasUpstream(reg) {
		// Only local members: the names are all known, and composer need
		// not ask for any other.
		as, ms, err := h.Virtual.Readable(ctx, reg, common.Doer(ctx))
		if err != nil {
			return err
		}
		names, err := h.Composer.VirtualNames(ctx, as, ms, "", h.shown(reg))
		if err != nil {
			return err
		}
		index["available-packages"] = names
	}
	// The body depends on the caller (the members it may read).
	w.Header().Set("Cache-Control", "private")
	w.Header().Add("Vary", "Authorization")
	return common.WriteJSON(w, http.StatusOK, index)
}

func (h *Handler) virtualMetadata(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	reg := packages.RegistryFrom(ctx)
	base, ok := strings.CutSuffix(common.Param(r, "file"), ".json")
	if !ok {
		return apperr.New(apperr.NotFound, "not found")
	}
	bare, dev := strings.CutSuffix(base, "~dev")
	name := strings.ToLower(common.Param(r, "vendor") + "/" + bare)
	// Only a Composer name is looked up: what goes into an upstream's
	// URL, with its credentials, is never a path of the caller's making.
	if composer_module.ValidateName(name) != nil {
		return apperr.New(apperr.NotFound, "package %q does not exist", name)
	}
	res, err := h.Virtual.Resolve(ctx, reg, common.Doer(ctx), name, composer_service.VendorOf)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private")
	w.Header().Add("Vary", "Authorization")
	w.Header().Set("Content-Type", "application/json")
	if res.Local != nil {
		// The member's own document as the caller sees it there: its dist
		// URLs are the member's, on this host, where composer sends the
		// caller's credentials.
		ref, err := h.Composer.P2Ref(ctx, res.Local, composer_service.VersionsOptions{
			Name: name, Dev: dev, FilesBase: h.base(res.Local) + "files/",
			Sources: common.Allows(ctx, scope.Repository, scope.Read),
		})
		if err != nil {
			return err
		}
		d, err := h.Composer.P2(ctx, res.Local, ref)
		if err != nil {
			return err
		}
		return packages.ServeDocument(w, r, d)
	}
	doc, err := h.Composer.UpstreamP2(ctx, h.Virtual, reg, res.Upstreams, name, dev, h.base(packages.AccessFrom(ctx))+"files/")
	if doc != nil {
		warn(w, doc.Warnings)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(doc.Body)
	return err
}

func (h *Handler) virtualDownload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	reg := packages.RegistryFrom(ctx)
	name := strings.ToLower(common.Param(r, "vendor") + "/" + common.Param(r, "name"))
	version, filename := common.Param(r, "version"), common.Param(r, "filename")
	if composer_module.ValidateName(name) != nil {
		return apperr.New(apperr.NotFound, "package %q does not exist", name)
	}
	res, err := h.Virtual.Resolve(ctx, reg, common.Doer(ctx), name, composer_service.VendorOf)
	if err != nil {
		return err
	}
	var d *packages_service.Download
	if res.Local != nil {
		d, err = h.Composer.OpenDist(ctx, res.Local, name, version, filename, r.Method == http.MethodGet)
	} else {
		var warnings []string
		d, warnings, err = h.Composer.UpstreamDist(ctx, h.Virtual, reg, res.Upstreams, name, version, filename, r.Method == http.MethodGet)
		warn(w, warnings)
	}
	if err != nil {
		return err
	}
	packages.ServeDownload(w, r, d)
	return nil
}

func (h *Handler) virtualSearch(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	reg := packages.RegistryFrom(ctx)
	as, ms, err := h.Virtual.Readable(ctx, reg, common.Doer(ctx))
	if err != nil {
		return err
	}
	hits, err := h.Composer.VirtualSearch(ctx, as, ms, r.URL.Query().Get("q"), h.shown(reg))
	if err != nil {
		return err
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = min(max(page, 1), 10000) // a bound keeps (page-1)*perPage an int
	const perPage = 20
	start := min((page-1)*perPage, len(hits))
	end := min(start+perPage, len(hits))
	body := composer_module.SearchResult{Results: make([]composer_module.SearchHit, 0, end-start), Total: int64(len(hits))}
	for _, res := range hits[start:end] {
		hit := composer_module.SearchHit{Name: res.Name, Description: res.Description, Downloads: res.Downloads}
		if res.Version != "" {
			hit.URL = h.RootURL + url.PathEscape(res.Owner) + "/-/packages/composer/" + url.PathEscape(res.Name) + "/" + url.PathEscape(res.Version)
		}
		body.Results = append(body.Results, hit)
	}
	if end < len(hits) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page+1))
		body.Next = h.base(packages.AccessFrom(ctx)) + "search.json?" + q.Encode()
	}
	w.Header().Set("Cache-Control", "private")
	return common.WriteJSON(w, http.StatusOK, body)
}

func (h *Handler) virtualList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	reg := packages.RegistryFrom(ctx)
	as, ms, err := h.Virtual.Readable(ctx, reg, common.Doer(ctx))
	if err != nil {
		return err
	}
	names, err := h.Composer.VirtualNames(ctx, as, ms, r.URL.Query().Get("filter"), h.shown(reg))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private")
	return common.WriteJSON(w, http.StatusOK, composer_module.List{PackageNames: names})
}

// virtualUpload stores the archive at the registry's publishing member,
// or refuses naming the members.
func (h *Handler) virtualUpload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	reg := packages.RegistryFrom(ctx)
	a, err := h.Virtual.PublishAccess(ctx, reg, common.Doer(ctx))
	if err != nil {
		return err
	}
	name, err := h.Composer.UploadChecked(ctx, a, r.URL.Query().Get("version"), r.Body, func(name string) error {
		return h.Virtual.CheckPublishName(ctx, reg, name)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	return json.NewEncoder(w).Encode(map[string]string{"name": name, "owner": a.Owner.Name})
}

// virtualRegister registers a version from git at the registry's
// publishing member, or refuses naming the members.
func (h *Handler) virtualRegister(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a, err := h.Virtual.PublishAccess(ctx, packages.RegistryFrom(ctx), common.Doer(ctx))
	if err != nil {
		return err
	}
	return h.register(w, r, a)
}

// virtualSources refuses: repositories whose tags register themselves
// are an owner's, set where its packages live.
func (h *Handler) virtualSources(w http.ResponseWriter, r *http.Request) error {
	reg := packages.RegistryFrom(r.Context())
	return apperr.New(apperr.Unprocessable, "%q is a virtual Composer registry: manage sources at a member's registry (/api/packages/{owner}/composer/-/sources)", reg.Owner.Name)
}
