// Package npm serves the npm registry protocol, at the owner level
// (/api/packages/{owner}/npm/, any package name) and at the instance
// level (/api/packages/-/npm/, where the @scope names the owner).
package npm

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	npm_module "wharf/modules/packages/npm"
	"wharf/routers/api/packages"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
	npm_service "wharf/services/packages/npm"
	"wharf/services/packages/virtual"
	user_service "wharf/services/user"
)

// Handler serves one of the two endpoints.
type Handler struct {
	Npm      *npm_service.Service
	Packages *packages_service.Service
	// Virtual serves the owners that are virtual npm registries (at the
	// owner level).
	Virtual *virtual.Service
	Users   *user_service.Service
	Log     *slog.Logger
	RootURL string
	// Instance makes this the instance-level endpoint: the owner comes from
	// the package's scope, compared case-sensitively.
	Instance bool
}

// Routes mounts the protocol. Package names arrive as @scope%2fname,
// @scope%2Fname or @scope/name, so paths are split by hand.
func (h *Handler) Routes(r chi.Router) {
	r.HandleFunc("/*", h.handle(h.dispatch))
}

// writeError answers as npm shows errors: {"error": "…"}; not found is
// npm's "not_found". A 401 carries no WWW-Authenticate, which npm would
// take for a second-factor or "unable to authenticate" challenge.
func writeError(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	w.Header().Del("WWW-Authenticate")
	body := map[string]string{"error": msg}
	if status == http.StatusNotFound {
		body = map[string]string{"error": "not_found", "reason": msg}
	}
	_ = common.WriteJSON(w, status, body)
}

func (h *Handler) handle(f common.HandlerFunc) http.HandlerFunc {
	return common.Handle(h.Log, writeError, f)
}

// WriteError answers the registry's failures before this format's handlers
// run (credentials, scope, owner) in the client's error shape.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	writeError(w, r, status, msg)
}

var errNotFound = apperr.New(apperr.NotFound, "not found")

// pathSegments are the request's path segments under the registry,
// unescaped one by one (so @scope%2fname stays one segment).
func pathSegments(r *http.Request) ([]string, error) {
	var segs []string
	for _, s := range strings.Split(chi.URLParam(r, "*"), "/") {
		d, err := url.PathUnescape(s)
		if err != nil {
			return nil, apperr.New(apperr.Invalid, "malformed path")
		}
		segs = append(segs, d)
	}
	return segs, nil
}

func (h *Handler) dispatch(w http.ResponseWriter, r *http.Request) error {
	segs, err := pathSegments(r)
	if err != nil {
		return err
	}
	if len(segs) > 0 && segs[0] == "-" {
		return h.special(w, r, segs[1:])
	}
	name, rest := splitName(segs)
	if name == "" {
		return errNotFound
	}
	switch {
	case len(rest) == 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return h.packument(w, r, name)
	case len(rest) == 1 && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return h.version(w, r, name, rest[0])
	case len(rest) == 0 && r.Method == http.MethodPut:
		return h.publish(w, r, name)
	case len(rest) == 2 && rest[0] == "-rev" && r.Method == http.MethodPut:
		return h.unpublishVersions(w, r, name, rest[1])
	case len(rest) == 2 && rest[0] == "-rev" && r.Method == http.MethodDelete:
		return h.unpublishPackage(w, r, name, rest[1])
	case len(rest) == 2 && rest[0] == "-" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return h.tarball(w, r, name, rest[1])
	case len(rest) == 3 && rest[0] == "-" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		if rest[2] != npm_module.TarballName(name, rest[1]) {
			return errNotFound
		}
		return h.tarball(w, r, name, rest[2])
	case len(rest) == 4 && rest[0] == "-" && rest[2] == "-rev" && r.Method == http.MethodDelete:
		return h.unpublishTarball(w, r, name, rest[1], rest[3])
	}
	return errNotFound
}

// splitName takes the package name off the front of the path: one segment
// (unscoped, or @scope/name from an escaped slash), or two for a literal
// @scope/name.
func splitName(segs []string) (string, []string) {
	if len(segs) == 0 || segs[0] == "" {
		return "", nil
	}
	if strings.HasPrefix(segs[0], "@") && !strings.Contains(segs[0], "/") {
		if len(segs) < 2 || segs[1] == "" {
			return "", nil
		}
		return segs[0] + "/" + segs[1], segs[2:]
	}
	return segs[0], segs[1:]
}

// access returns the owner's registry for a package. At the instance
// level the scope must be exactly an owner's name.
func (h *Handler) access(r *http.Request, name string, publishing bool) (*packages_service.Access, error) {
	if !h.Instance {
		return packages.AccessFrom(r.Context()), nil
	}
	scope, _ := npm_module.SplitName(name)
	if scope == "" {
		if publishing {
			return nil, apperr.New(apperr.Invalid, "the instance-level registry serves only @owner/name packages, whose scope is the owner's name: publish %q at /api/packages/{owner}/npm/ instead", name)
		}
		return nil, errNotFound
	}
	a, err := h.Packages.Access(r.Context(), common.Doer(r.Context()), scope)
	if err == nil && a.Owner.Name != scope {
		err = apperr.New(apperr.NotFound, "no owner is named %q (names are compared exactly)", scope)
	}
	if err != nil {
		if publishing && apperr.KindOf(err) == apperr.NotFound {
			return nil, apperr.New(apperr.Invalid, "the scope of %q names no owner of this instance exactly (case matters): the instance-level registry finds the owner by the scope", name)
		}
		return nil, err
	}
	// A virtual registry's packages are its members': they are served at
	// its own URL, which resolves them (its own packages here would only
	// be its upstream cache).
	if h.Virtual != nil {
		reg, err := h.Virtual.Lookup(r.Context(), a.Owner, packages_model.TypeNpm)
		if err != nil {
			return nil, err
		}
		if reg != nil {
			return nil, apperr.New(apperr.Unprocessable, "%q is a virtual npm registry: use %sapi/packages/%s/npm/ for its packages", scope, h.RootURL, url.PathEscape(a.Owner.Name))
		}
	}
	return a, nil
}

// noReplyDomain is the domain of the addresses npm documents show instead
// of a user's real one: "noreply." and the host of ROOT_URL, Gitea's
// default NO_REPLY_ADDRESS.
func (h *Handler) noReplyDomain() string {
	host := "localhost"
	if u, err := url.Parse(h.RootURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return "noreply." + host
}

// base is the registry URL tarballs are served under.
func (h *Handler) base(a *packages_service.Access) string {
	if h.Instance {
		return h.RootURL + "api/packages/-/npm/"
	}
	return h.RootURL + "api/packages/" + url.PathEscape(a.Owner.Name) + "/npm/"
}

func (h *Handler) packument(w http.ResponseWriter, r *http.Request, name string) error {
	a, err := h.access(r, name, false)
	if err != nil {
		return err
	}
	return h.servePackument(w, r, a, nil, name, h.base(a))
}

// servePackument answers with a's package document (p when the caller
// already read it, nil to read it), its tarballs under base.
func (h *Handler) servePackument(w http.ResponseWriter, r *http.Request, a *packages_service.Access, p *packages_model.Package, name, base string) error {
	abbreviated := strings.Contains(r.Header.Get("Accept"), "application/vnd.npm.install-v1+json")
	o := npm_service.PackumentOptions{TarballBase: base, NoReplyDomain: h.noReplyDomain(), Abbreviated: abbreviated}
	var ref *npm_service.DocumentRef
	var err error
	if p != nil {
		ref, err = h.Npm.PackumentRefOf(r.Context(), a, p, name, o)
	} else {
		ref, err = h.Npm.PackumentRef(r.Context(), a, name, o)
	}
	if err != nil {
		return err
	}
	ctype := "application/json"
	if abbreviated {
		ctype = "application/vnd.npm.install-v1+json"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Vary", "Accept, Authorization")
	// The ETag names the package's change stamp and the caller's copy: a
	// current client is answered without building the document.
	if packages.MatchesETag(r, ref.ETag) {
		packages.WriteNotModified(w, r, ref.ETag)
		return nil
	}
	d, err := h.Npm.Packument(r.Context(), a, ref)
	if err != nil {
		return err
	}
	return packages.ServeDocument(w, r, d)
}

// version serves GET /{name}/{version or dist-tag}: one version's object,
// as in the full packument (npm view name@version reads the packument;
// other tools ask for this).
func (h *Handler) version(w http.ResponseWriter, r *http.Request, name, ref string) error {
	a, err := h.access(r, name, false)
	if err != nil {
		return err
	}
	return h.serveVersion(w, r, a, name, ref, h.base(a))
}

func (h *Handler) serveVersion(w http.ResponseWriter, r *http.Request, a *packages_service.Access, name, ref, base string) error {
	p, err := h.Npm.GetVersion(r.Context(), a, name, ref, npm_service.PackumentOptions{TarballBase: base, NoReplyDomain: h.noReplyDomain()})
	if err != nil {
		return err
	}
	return writeDocument(w, r, "application/json", p)
}

// writeDocument sends a document with its ETag, or 304 when the client's
// copy is current. The body depends on the Accept header and on who asks
// (addresses, visibility), hence Vary.
func writeDocument(w http.ResponseWriter, r *http.Request, ctype string, p *npm_service.Packument) error {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", p.ETag)
	w.Header().Set("Vary", "Accept, Authorization")
	if match := r.Header.Get("If-None-Match"); match != "" && match == p.ETag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(p.Body)))
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(p.Body)
	return err
}

func (h *Handler) tarball(w http.ResponseWriter, r *http.Request, name, file string) error {
	a, err := h.access(r, name, false)
	if err != nil {
		return err
	}
	return h.serveTarball(w, r, a, name, file)
}

func (h *Handler) serveTarball(w http.ResponseWriter, r *http.Request, a *packages_service.Access, name, file string) error {
	version, ok := versionFromTarball(name, file)
	if !ok {
		return errNotFound
	}
	d, err := h.Packages.OpenFile(r.Context(), a, packages_model.TypeNpm, name, version, file, "", r.Method == http.MethodGet)
	if err != nil {
		return err
	}
	packages.ServeDownload(w, r, d)
	return nil
}

func versionFromTarball(name, file string) (string, bool) {
	_, bare := npm_module.SplitName(name)
	v, ok := strings.CutPrefix(file, bare+"-")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(v, ".tgz")
}

func (h *Handler) publish(w http.ResponseWriter, r *http.Request, name string) error {
	a, err := h.access(r, name, true)
	if err != nil {
		return err
	}
	if err := h.Npm.Publish(r.Context(), a, name, r.Body); err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusCreated, map[string]any{"ok": true, "id": name})
}

// unpublishVersions handles PUT /{name}/-rev/{rev}: the document npm read
// at revision rev, minus the versions to unpublish. npm owner add/rm PUTs
// here too, with maintainers and no versions; that is not an unpublish
// (it would remove every version) and this registry has no maintainer
// list to change: who may publish is who may write to the owner.
func (h *Handler) unpublishVersions(w http.ResponseWriter, r *http.Request, name, rev string) error {
	a, err := h.access(r, name, false)
	if err != nil {
		return err
	}
	var doc struct {
		Versions *map[string]json.RawMessage `json:"versions"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, npm_module.MaxMetadata)).Decode(&doc); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return apperr.New(apperr.TooLarge, "the document is larger than %d bytes", npm_module.MaxMetadata)
		}
		return apperr.Wrap(apperr.Invalid, err, "invalid JSON body")
	}
	if doc.Versions == nil {
		return apperr.New(apperr.Invalid, "the document lists no versions; maintainers cannot be changed here: whoever may write to %q's packages may publish them", a.Owner.Name)
	}
	keep := map[string]bool{}
	for v := range *doc.Versions {
		keep[v] = true
	}
	if err := h.Npm.UnpublishVersions(r.Context(), a, name, rev, keep); err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (h *Handler) unpublishPackage(w http.ResponseWriter, r *http.Request, name, rev string) error {
	a, err := h.access(r, name, false)
	if err != nil {
		return err
	}
	if err := h.Npm.UnpublishPackage(r.Context(), a, name, rev); err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (h *Handler) unpublishTarball(w http.ResponseWriter, r *http.Request, name, file, rev string) error {
	a, err := h.access(r, name, false)
	if err != nil {
		return err
	}
	if err := h.Npm.UnpublishVersion(r.Context(), a, name, file, rev); err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// special serves the /-/… endpoints.
func (h *Handler) special(w http.ResponseWriter, r *http.Request, segs []string) error {
	path := strings.Join(segs, "/")
	switch {
	case path == "ping":
		return common.WriteJSON(w, http.StatusOK, map[string]any{})
	case path == "whoami" && r.Method == http.MethodGet:
		u, err := common.RequireUser(r.Context())
		if err != nil {
			return err
		}
		return common.WriteJSON(w, http.StatusOK, map[string]string{"username": u.Name})
	case path == "v1/login":
		// No web login: npm falls back to the legacy user/password flow.
		return errNotFound
	case len(segs) == 2 && segs[0] == "user" && strings.HasPrefix(segs[1], "org.couchdb.user:"):
		return h.user(w, r, strings.TrimPrefix(segs[1], "org.couchdb.user:"))
	case len(segs) == 3 && segs[0] == "user" && segs[1] == "token" && r.Method == http.MethodDelete:
		if err := h.Users.RevokeToken(r.Context(), segs[2]); err != nil {
			return err
		}
		return common.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
	case path == "v1/search" && r.Method == http.MethodGet:
		return h.search(w, r)
	case strings.HasPrefix(path, "npm/v1/security/") && r.Method == http.MethodPost:
		// No advisory database: an empty answer keeps installs quiet.
		return common.WriteJSON(w, http.StatusOK, map[string]any{})
	case len(segs) >= 3 && segs[0] == "package":
		name, rest := splitName(segs[1:])
		if name == "" || len(rest) == 0 || rest[0] != "dist-tags" {
			return errNotFound
		}
		return h.distTags(w, r, name, rest[1:])
	}
	return errNotFound
}

func (h *Handler) distTags(w http.ResponseWriter, r *http.Request, name string, rest []string) error {
	a, err := h.access(r, name, false)
	if err != nil {
		return err
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		tags, err := h.Npm.DistTags(r.Context(), a, name)
		if err != nil {
			return err
		}
		return common.WriteJSON(w, http.StatusOK, tags)
	case len(rest) == 1 && r.Method == http.MethodPut:
		var version string
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&version); err != nil {
			return apperr.New(apperr.Invalid, "the body must be a JSON string naming a version")
		}
		if err := h.Npm.SetDistTag(r.Context(), a, name, rest[0], version); err != nil {
			return err
		}
		return common.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
	case len(rest) == 1 && r.Method == http.MethodDelete:
		if err := h.Npm.DeleteDistTag(r.Context(), a, name, rest[0]); err != nil {
			return err
		}
		return common.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
	}
	return errNotFound
}

// user serves the legacy login: PUT with the name and password returns a
// new token; GET shows a user (npm owner add).
func (h *Handler) user(w http.ResponseWriter, r *http.Request, name string) error {
	switch r.Method {
	case http.MethodGet:
		u, err := h.Users.GetVisible(r.Context(), common.Doer(r.Context()), name)
		if err != nil || u.IsOrganization() {
			return errNotFound
		}
		return common.WriteJSON(w, http.StatusOK, map[string]string{"name": u.Name, "email": npm_service.ShownEmail(u, common.Doer(r.Context()), h.noReplyDomain())})
	case http.MethodPut:
		var body struct {
			Name     string `json:"name"`
			Password string `json:"password"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
			return apperr.New(apperr.Invalid, "invalid JSON body")
		}
		if body.Name == "" {
			body.Name = name
		}
		u, err := h.Users.Authenticate(r.Context(), body.Name, body.Password)
		if err != nil {
			return err
		}
		_, token, err := h.Users.CreateToken(r.Context(), u, "npm-login-"+strconv.FormatInt(time.Now().UnixNano(), 36), []string{"write:package"})
		if err != nil {
			return err
		}
		return common.WriteJSON(w, http.StatusCreated, map[string]any{
			"ok": true, "id": "org.couchdb.user:" + u.Name, "rev": "1-" + token[:8], "token": token,
		})
	}
	return errNotFound
}

// searchPage reads a search's text, page size and offset.
// maxSearchFrom is the deepest search offset served.
const maxSearchFrom = 10000

func searchPage(r *http.Request) (text string, size, from int) {
	q := r.URL.Query()
	size, _ = strconv.Atoi(q.Get("size"))
	if size <= 0 || size > 250 {
		size = 20
	}
	from, _ = strconv.Atoi(q.Get("from"))
	// npmjs stops at 10,000 too; a bound keeps from+size an int.
	from = min(max(from, 0), maxSearchFrom)
	return q.Get("text"), size, from
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request) error {
	text, size, from := searchPage(r)
	var results []npm_service.SearchResult
	var total int64
	var err error
	if h.Instance {
		results, total, err = h.Npm.SearchInstance(r.Context(), common.Doer(r.Context()), text, size, from)
	} else {
		results, total, err = h.Npm.Search(r.Context(), packages.AccessFrom(r.Context()), text, size, from)
	}
	if err != nil {
		return err
	}
	return h.writeSearch(w, r, results, total)
}

// writeSearch answers a search in npm's shape.
func (h *Handler) writeSearch(w http.ResponseWriter, r *http.Request, results []npm_service.SearchResult, total int64) error {
	viewer, noReply := common.Doer(r.Context()), h.noReplyDomain()
	out := npm_module.SearchResult{Objects: make([]npm_module.SearchObject, len(results)), Total: total, Time: time.Now().UTC().Format(time.RFC3339)}
	for i, res := range results {
		var publisher npm_module.SearchUser
		if res.Publisher != nil {
			publisher = npm_module.SearchUser{Username: res.Publisher.Name, Email: npm_service.ShownEmail(res.Publisher, viewer, noReply)}
		}
		keywords := res.Keywords
		if keywords == nil {
			keywords = []string{}
		}
		out.Objects[i] = npm_module.SearchObject{
			Package: npm_module.SearchPackage{
				Name: res.Name, Version: res.Version, Description: res.Description, Keywords: keywords,
				Date: time.Unix(res.Date, 0).UTC().Format(time.RFC3339), Links: map[string]string{},
				Publisher: publisher, Maintainers: []npm_module.SearchUser{publisher},
			},
			Score:       npm_module.SearchScore{Final: 1, Detail: npm_module.SearchScoreDetail{Quality: 1, Popularity: 1, Maintenance: 1}},
			SearchScore: 1,
		}
	}
	return common.WriteJSON(w, http.StatusOK, out)
}
