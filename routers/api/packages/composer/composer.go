// Package composer serves the Composer v2 repository protocol at
// /api/packages/{owner}/composer, and Gitea's upload.
package composer

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"wharf/modules/apperr"
	composer_module "wharf/modules/packages/composer"
	"wharf/modules/scope"
	"wharf/routers/api/packages"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
	composer_service "wharf/services/packages/composer"
	"wharf/services/packages/virtual"
)

// Handler serves one owner's Composer repository.
type Handler struct {
	Composer *composer_service.Service
	Packages *packages_service.Service
	// Virtual serves the owners that are virtual Composer registries.
	Virtual *virtual.Service
	Log     *slog.Logger
	RootURL string
	Now     func() time.Time
}

// Routes mounts the protocol.
func (h *Handler) Routes(r chi.Router) {
	r.Get("/packages.json", h.handle(h.serviceIndex))
	r.Head("/packages.json", h.handle(h.serviceIndex))
	r.Get("/p2/{vendor}/{file}", h.handle(h.packageMetadata))
	r.Head("/p2/{vendor}/{file}", h.handle(h.packageMetadata))
	r.Get("/search.json", h.handle(h.search))
	r.Get("/list.json", h.handle(h.list))
	r.Post("/downloads", h.handle(h.notifyBatch))
	r.Get("/files/{vendor}/{name}/{version}/{filename}", h.handle(h.downloadPackageFile))
	r.Head("/files/{vendor}/{name}/{version}/{filename}", h.handle(h.downloadPackageFile))
	r.Put("/", h.handle(h.uploadPackage))
	r.Post("/", h.handle(h.registerFromGit))
	r.Get("/-/sources", h.handle(h.listSources))
	r.Put("/-/sources/{repoOwner}/{repo}", h.handle(h.sourceChange(true)))
	r.Delete("/-/sources/{repoOwner}/{repo}", h.handle(h.sourceChange(false)))
}

// writeError answers in the shape Gitea's Composer registry uses.
func writeError(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	_ = common.WriteJSON(w, status, map[string]any{"errors": []map[string]any{{"status": status, "message": msg}}})
}

func (h *Handler) handle(f common.HandlerFunc) http.HandlerFunc {
	return common.Handle(h.Log, writeError, f)
}

// WriteError answers the registry's failures before this format's handlers
// run (credentials, scope, owner) in the client's error shape.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	writeError(w, r, status, msg)
}

func (h *Handler) base(a *packages_service.Access) string {
	return h.RootURL + "api/packages/" + url.PathEscape(a.Owner.Name) + "/composer/"
}

// notModified answers 304 when the client's copy is current, and sets
// Last-Modified otherwise. HTTP dates have one-second resolution: while
// the second of the last change may not be over (two seconds, for clocks
// of several processes), another change could still get the same
// Last-Modified, and a client holding this copy would then be told 304
// for a stale one. So a document changed that recently carries no
// Last-Modified at all (the client asks in full next time) and is never
// answered 304.
//
// A 304 by If-None-Match needs no such care: the ETag names the
// package's change stamp, which every change moves. A 304 carries the
// ETag and Vary a 200 would (RFC 9110 15.4.5): etag is the document's.
func notModified(w http.ResponseWriter, r *http.Request, modified time.Time, now time.Time, etag string) bool {
	if !notModifiedHeader(w, modified, now) {
		return false
	}
	if r.Header.Get("If-None-Match") != "" {
		return false // it decides alone (RFC 9110 13.2.2), and did not match
	}
	if since, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !modified.Truncate(time.Second).After(since) {
		packages.WriteNotModified(w, r, etag)
		return true
	}
	return false
}

// notModifiedHeader sets Last-Modified under notModified's rule and
// reports whether it did.
func notModifiedHeader(w http.ResponseWriter, modified time.Time, now time.Time) bool {
	if modified.IsZero() || now.Sub(modified) < 2*time.Second {
		return false
	}
	w.Header().Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
	return true
}

func (h *Handler) serviceIndex(w http.ResponseWriter, r *http.Request) error {
	a := packages.AccessFrom(r.Context())
	ref, err := h.Composer.IndexRef(r.Context(), a, h.base(a))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	if packages.MatchesETag(r, ref.ETag) {
		packages.WriteNotModified(w, r, ref.ETag)
		return nil
	}
	d, err := h.Composer.Index(r.Context(), a, ref)
	if err != nil {
		return err
	}
	if notModified(w, r, d.Modified, h.Now(), ref.ETag) {
		return nil
	}
	return packages.ServeDocument(w, r, d)
}

func (h *Handler) packageMetadata(w http.ResponseWriter, r *http.Request) error {
	a := packages.AccessFrom(r.Context())
	file := common.Param(r, "file")
	base, ok := strings.CutSuffix(file, ".json")
	if !ok {
		return apperr.New(apperr.NotFound, "not found")
	}
	bare, dev := strings.CutSuffix(base, "~dev")
	name := strings.ToLower(common.Param(r, "vendor") + "/" + bare)
	ref, err := h.Composer.P2Ref(r.Context(), a, composer_service.VersionsOptions{
		Name: name, Dev: dev, FilesBase: h.base(a) + "files/",
		// A version's source names its repository: repository data, which
		// a token reaches only with read:repository (as the API's
		// repository routes require).
		Sources: common.Allows(r.Context(), scope.Repository, scope.Read),
	})
	if err != nil {
		return err
	}
	// The body depends on the caller (a source shows only to who may read
	// its repository): no shared cache may give one caller's copy to
	// another, whatever the Last-Modified says.
	w.Header().Set("Cache-Control", "private")
	w.Header().Add("Vary", "Authorization")
	w.Header().Set("Content-Type", "application/json")
	// The ETag names the package's change stamp and the caller's copy;
	// Last-Modified keeps its rule (notModified).
	if packages.MatchesETag(r, ref.ETag) {
		packages.WriteNotModified(w, r, ref.ETag)
		return nil
	}
	if notModified(w, r, ref.Modified, h.Now(), ref.ETag) {
		return nil
	}
	d, err := h.Composer.P2(r.Context(), a, ref)
	if err != nil {
		return err
	}
	if !d.Modified.Equal(ref.Modified) {
		// Built from a later state than the one ref was read at: its own
		// time, under the same rule.
		w.Header().Del("Last-Modified")
		notModifiedHeader(w, d.Modified, h.Now())
	}
	return packages.ServeDocument(w, r, d)
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request) error {
	a := packages.AccessFrom(r.Context())
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = min(max(page, 1), 10000) // a bound keeps the offset an int
	const perPage = 20
	results, total, err := h.Composer.Search(r.Context(), a, r.URL.Query().Get("q"), perPage, (page-1)*perPage)
	if err != nil {
		return err
	}
	body := composer_module.SearchResult{Results: make([]composer_module.SearchHit, len(results)), Total: total}
	for i, res := range results {
		hit := composer_module.SearchHit{Name: res.Name, Description: res.Description, Downloads: res.Downloads}
		if res.Version != "" {
			hit.URL = h.RootURL + url.PathEscape(a.Owner.Name) + "/-/packages/composer/" + url.PathEscape(res.Name) + "/" + url.PathEscape(res.Version)
		}
		body.Results[i] = hit
	}
	if int64(page*perPage) < total {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page+1))
		body.Next = h.base(a) + "search.json?" + q.Encode()
	}
	return common.WriteJSON(w, http.StatusOK, body)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	names, _, err := h.Composer.Names(r.Context(), packages.AccessFrom(r.Context()), r.URL.Query().Get("filter"))
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, composer_module.List{PackageNames: names})
}

// notifyBatch takes composer's install statistics; downloads are already
// counted when the dist files are fetched.
func (h *Handler) notifyBatch(w http.ResponseWriter, _ *http.Request) error {
	return common.WriteJSON(w, http.StatusOK, map[string]any{})
}

func (h *Handler) downloadPackageFile(w http.ResponseWriter, r *http.Request) error {
	a := packages.AccessFrom(r.Context())
	name := strings.ToLower(common.Param(r, "vendor") + "/" + common.Param(r, "name"))
	d, err := h.Composer.OpenDist(r.Context(), a, name, common.Param(r, "version"), common.Param(r, "filename"), r.Method == http.MethodGet)
	if err != nil {
		return err
	}
	packages.ServeDownload(w, r, d)
	return nil
}

func (h *Handler) uploadPackage(w http.ResponseWriter, r *http.Request) error {
	a := packages.AccessFrom(r.Context())
	if err := a.RequireWrite(); err != nil {
		return err
	}
	if _, err := h.Composer.Upload(r.Context(), a, r.URL.Query().Get("version"), r.Body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// registerFromGit registers a version from a tag or branch: fields
// repository, tag, branch as JSON, form or query.
func (h *Handler) registerFromGit(w http.ResponseWriter, r *http.Request) error {
	a := packages.AccessFrom(r.Context())
	if err := a.RequireWrite(); err != nil {
		return err
	}
	return h.register(w, r, a)
}

// register registers a version from git at a (write access checked).
func (h *Handler) register(w http.ResponseWriter, r *http.Request, a *packages_service.Access) error {
	var opts composer_service.RegisterOptions
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
			Branch     string `json:"branch"`
		}
		if err := common.DecodeJSON(w, r, &body); err != nil {
			return err
		}
		opts = composer_service.RegisterOptions{Repository: body.Repository, Tag: body.Tag, Branch: body.Branch}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			return apperr.New(apperr.Invalid, "malformed form")
		}
		opts = composer_service.RegisterOptions{Repository: r.Form.Get("repository"), Tag: r.Form.Get("tag"), Branch: r.Form.Get("branch")}
	}
	reg, err := h.Composer.Register(r.Context(), a, opts)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if reg.Created {
		status = http.StatusCreated
	}
	return common.WriteJSON(w, status, map[string]any{"name": reg.Name, "version": reg.Version})
}

// listSources lists the repositories whose new tags register themselves.
// Sources are repositories: a token needs read:repository to list them,
// and only those the caller may read are listed.
func (h *Handler) listSources(w http.ResponseWriter, r *http.Request) error {
	if err := common.CheckScope(r.Context(), scope.Repository, scope.Read); err != nil {
		return err
	}
	sources, err := h.Composer.Sources(r.Context(), packages.AccessFrom(r.Context()))
	if err != nil {
		return err
	}
	out := make([]map[string]string, len(sources))
	for i, s := range sources {
		out[i] = map[string]string{"repository": s.Repository}
	}
	return common.WriteJSON(w, http.StatusOK, out)
}

// sourceChange turns auto-registration of a repository's tags on or off.
func (h *Handler) sourceChange(on bool) common.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		a := packages.AccessFrom(r.Context())
		repo := common.Param(r, "repoOwner") + "/" + common.Param(r, "repo")
		var err error
		if on {
			err = h.Composer.AddSource(r.Context(), a, repo)
		} else {
			err = h.Composer.RemoveSource(r.Context(), a, repo)
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
