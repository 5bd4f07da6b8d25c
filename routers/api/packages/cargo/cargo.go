// Package cargo serves the Cargo alternative registry protocol at
// /api/packages/{owner}/cargo/: the sparse index (config.json and one file
// per crate), and the web API cargo publish, yank, owner and search call.
package cargo

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"wharf/modules/apperr"
	cargo_module "wharf/modules/packages/cargo"
	"wharf/routers/api/packages"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
	cargo_service "wharf/services/packages/cargo"
	"wharf/services/packages/virtual"
)

// Handler serves one owner's Cargo registry.
type Handler struct {
	Cargo *cargo_service.Service
	// Packages and Virtual serve the owners that are virtual Cargo
	// registries.
	Packages *packages_service.Service
	Virtual  *virtual.Service
	Log      *slog.Logger
	RootURL  string
	Now      func() time.Time
}

// Routes mounts the protocol. Index files sit at the registry's root
// beside config.json and the API: no index path ("1/a", "ab/cd/abcd…")
// can be "config.json", "me" or "api/…", since a crate's path starts with
// a digit or the first two letters of its name.
func (h *Handler) Routes(r chi.Router) {
	r.NotFound(h.handle(func(http.ResponseWriter, *http.Request) error { return errNotFound }))
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, http.StatusMethodNotAllowed, "method not allowed")
	})
	r.Get("/config.json", h.handle(h.config))
	r.Head("/config.json", h.handle(h.config))
	r.Get("/me", h.handle(h.me))
	r.Route("/api/v1/crates", func(r chi.Router) {
		r.Get("/", h.handle(h.search))
		r.Put("/new", h.handle(h.publish))
		r.Delete("/{name}/{version}/yank", h.handle(h.yank(true)))
		r.Put("/{name}/{version}/unyank", h.handle(h.yank(false)))
		r.Get("/{name}/owners", h.handle(h.listOwners))
		r.Put("/{name}/owners", h.handle(h.changeOwners(true)))
		r.Delete("/{name}/owners", h.handle(h.changeOwners(false)))
		r.Get("/{name}/{version}/download", h.handle(h.download))
		r.Head("/{name}/{version}/download", h.handle(h.download))
	})
	r.Get("/*", h.handle(h.indexFile))
	r.Head("/*", h.handle(h.indexFile))
}

var errNotFound = apperr.New(apperr.NotFound, "not found")

// errorBody is the error shape cargo reads (crates-io's ApiErrorList),
// with Gitea's "ok": false beside it; cargo prints every detail.
type errorBody struct {
	OK     bool          `json:"ok"`
	Errors []errorDetail `json:"errors"`
}

type errorDetail struct {
	Detail string `json:"detail"`
}

// writeError answers in cargo's error shape. A 401 carries the Cargo
// challenge with the login URL, which cargo shows to the user (it ignores
// other schemes, so the Basic challenge goes).
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if status == http.StatusUnauthorized {
		owner := common.Param(r, "owner")
		w.Header().Set("WWW-Authenticate", `Cargo login_url="`+h.base(owner)+`me"`)
		if strings.HasSuffix(r.URL.Path, "/cargo/me") {
			// The login URL itself, opened in a browser by someone who has
			// no token yet: the page that says how to get one (it tells
			// nothing about the owner, only the instance's URLs).
			h.writeMe(w, status, owner, "")
			return
		}
	}
	_ = common.WriteJSON(w, status, errorBody{Errors: []errorDetail{{Detail: msg}}})
}

// WriteError answers the registry's failures before this format's
// handlers run (credentials, scope, owner) in cargo's shape.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.writeError(w, r, status, msg)
}

// ChallengesAnonymous: cargo sends its token only after a 401 on
// config.json, so an owner an anonymous caller may not see must be a 401
// here, not a 404.
func (h *Handler) ChallengesAnonymous() bool { return true }

func (h *Handler) handle(f common.HandlerFunc) http.HandlerFunc {
	return common.Handle(h.Log, h.writeError, f)
}

// base is the owner's registry URL, ending in "/".
func (h *Handler) base(owner string) string {
	return h.RootURL + "api/packages/" + url.PathEscape(owner) + "/cargo/"
}

func (h *Handler) config(w http.ResponseWriter, r *http.Request) error {
	a := packages.AccessFrom(r.Context())
	w.Header().Set("Cache-Control", "no-cache")
	return common.WriteJSON(w, http.StatusOK, h.Cargo.ConfigFor(a.Owner))
}

// indexFile serves a crate's sparse index file, with an ETag (which cargo
// sends back as If-None-Match) and Last-Modified; 304 when the client's
// copy is current.
func (h *Handler) indexFile(w http.ResponseWriter, r *http.Request) error {
	name, err := cargo_module.NameFromIndexPath(strings.Split(chi.URLParam(r, "*"), "/")...)
	if err != nil {
		return err
	}
	f, err := h.Cargo.Index(r.Context(), packages.AccessFrom(r.Context()), name, func(etag string, modified time.Time) bool {
		return notModified(r, etag, modified, h.Now())
	})
	if err != nil {
		return err
	}
	return h.writeIndexFile(w, r, f)
}

// writeIndexFile answers with an index file: 304 when the client's copy
// is current, the gzip copy when cargo accepts it.
func (h *Handler) writeIndexFile(w http.ResponseWriter, r *http.Request, f *cargo_service.IndexFile) error {
	hdr := w.Header()
	// Revalidate every time: a publish polls the file until its version
	// shows, and a yank must be seen at once.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", f.ETag)
	if !f.Modified.IsZero() && fresh(f.Modified, h.Now()) {
		hdr.Set("Last-Modified", f.Modified.Format(http.TimeFormat))
	}
	if f.NotModified {
		packages.WriteNotModified(w, r, f.ETag)
		return nil
	}
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	if f.Doc != nil {
		// The gzip copy when cargo accepts it (it does: a large crate's
		// file shrinks about tenfold), with its own ETag.
		return packages.ServeDocument(w, r, f.Doc)
	}
	hdr.Set("Content-Length", strconv.Itoa(len(f.Body)))
	if r.Method == http.MethodHead {
		return nil
	}
	_, _ = w.Write(f.Body) // a failed write is the client gone
	return nil
}

// fresh says whether a file's change time may be shown and judged by:
// Last-Modified has one-second resolution, so a file changed within the
// last two seconds carries none and is never judged by If-Modified-Since.
// A second change within the same second gets the same time; a client that
// had kept the first one's Last-Modified would be told its stale copy is
// current. (The ETag, which cargo prefers, changes with every change.)
func fresh(modified, now time.Time) bool { return now.Sub(modified) >= 2*time.Second }

// notModified decides a conditional request: If-None-Match when present
// (RFC 9110 13.2.2: it wins over If-Modified-Since), otherwise
// If-Modified-Since, when the file's time may be judged by (fresh).
func notModified(r *http.Request, etag string, modified, now time.Time) bool {
	if r.Header.Get("If-None-Match") != "" {
		// Either copy's validator (identity or gzip), weak or not, or *.
		return packages.MatchesETag(r, etag)
	}
	since, err := http.ParseTime(r.Header.Get("If-Modified-Since"))
	if err != nil || !fresh(modified, now) {
		return false
	}
	return !modified.After(since)
}

// publish handles PUT /api/v1/crates/new. The body is streamed to the
// service, which reads the metadata, then the .crate through the upload
// buffer that enforces LIMIT_SIZE_CARGO on the bytes read.
func (h *Handler) publish(w http.ResponseWriter, r *http.Request) error {
	res, err := h.Cargo.Publish(r.Context(), packages.AccessFrom(r.Context()), r.Body)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, res)
}

type okBody struct {
	OK  bool   `json:"ok"`
	Msg string `json:"msg,omitempty"`
}

// yank handles cargo yank (DELETE …/yank) and cargo yank --undo (PUT
// …/unyank); cargo requires {"ok": true}.
func (h *Handler) yank(yanked bool) common.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := h.Cargo.SetYanked(r.Context(), packages.AccessFrom(r.Context()), common.Param(r, "name"), common.Param(r, "version"), yanked)
		if err != nil {
			return err
		}
		return common.WriteJSON(w, http.StatusOK, okBody{OK: true})
	}
}

type searchBody struct {
	Crates []cargo_service.SearchHit `json:"crates"`
	Meta   struct {
		Total int64 `json:"total"`
	} `json:"meta"`
}

// search handles cargo search: GET /api/v1/crates?q=…&per_page=… (and
// page, as crates.io takes it).
func (h *Handler) search(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	perPage, err := intParam(q, "per_page", 10)
	if err != nil {
		return err
	}
	page, err := intParam(q, "page", 1)
	if err != nil {
		return err
	}
	hits, total, err := h.Cargo.Search(r.Context(), packages.AccessFrom(r.Context()), q.Get("q"), perPage, page)
	if err != nil {
		return err
	}
	out := searchBody{Crates: hits}
	out.Meta.Total = total
	return common.WriteJSON(w, http.StatusOK, out)
}

func intParam(q url.Values, name string, def int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, apperr.New(apperr.Invalid, "%s must be a positive number, not %q", name, s)
	}
	return n, nil
}

type ownersBody struct {
	Users []cargo_service.Owner `json:"users"`
}

func (h *Handler) listOwners(w http.ResponseWriter, r *http.Request) error {
	owners, err := h.Cargo.Owners(r.Context(), packages.AccessFrom(r.Context()), common.Param(r, "name"))
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, ownersBody{Users: owners})
}

// changeOwners handles cargo owner --add (PUT) and --remove (DELETE), whose
// body is {"users": ["login", …]}; cargo requires "ok" and "msg".
func (h *Handler) changeOwners(add bool) common.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body struct {
			Users []string `json:"users"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, common.MaxJSONBody))
		if err := dec.Decode(&body); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return apperr.New(apperr.TooLarge, "the body is larger than %d bytes", common.MaxJSONBody)
			}
			return apperr.New(apperr.Invalid, `the body must be {"users": ["login", …]}`)
		}
		msg, err := h.Cargo.ChangeOwners(r.Context(), packages.AccessFrom(r.Context()), common.Param(r, "name"), body.Users, add)
		if err != nil {
			return err
		}
		return common.WriteJSON(w, http.StatusOK, okBody{OK: true, Msg: msg})
	}
}

// download serves a .crate (config.json's dl leaves the path to cargo's
// default: {dl}/{crate}/{version}/download). A GET counts as a download.
func (h *Handler) download(w http.ResponseWriter, r *http.Request) error {
	d, err := h.Cargo.OpenCrate(r.Context(), packages.AccessFrom(r.Context()), common.Param(r, "name"), common.Param(r, "version"), r.Method == http.MethodGet)
	if err != nil {
		return err
	}
	packages.ServeDownload(w, r, d)
	return nil
}

// me answers the URL cargo login shows as the place to get a token
// ({api}/me): where to make a token (the web UI's applications page, the
// API or the admin command) and how to give it to cargo.
func (h *Handler) me(w http.ResponseWriter, r *http.Request) error {
	user := ""
	if d := common.Doer(r.Context()); d != nil {
		user = d.Name
	}
	h.writeMe(w, http.StatusOK, packages.AccessFrom(r.Context()).Owner.Name, user)
	return nil
}

func (h *Handler) writeMe(w http.ResponseWriter, status int, owner, user string) {
	if user == "" {
		user = "YOUR_NAME"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Cargo registry of %s at %s\n\n", owner, h.RootURL)
	b.WriteString("cargo needs a personal access token of your account: write:package to publish, yank\n")
	b.WriteString("and change owners; read:package is enough to build from a registry that needs sign-in.\n\n")
	fmt.Fprintf(&b, "Create one on %suser/settings/applications (signed in, with the scope read:package or\n", h.RootURL)
	b.WriteString("write:package), or with your password (the answer's \"sha1\" is the token, shown once):\n\n")
	fmt.Fprintf(&b, "    curl -u %s -X POST -H 'Content-Type: application/json' \\\n", user)
	b.WriteString("         -d '{\"name\":\"cargo\",\"scopes\":[\"write:package\"]}' \\\n")
	fmt.Fprintf(&b, "         %sapi/v1/users/%s/tokens\n\n", h.RootURL, user)
	b.WriteString("or, as the server's administrator:\n\n")
	fmt.Fprintf(&b, "    wharf admin user generate-access-token --username %s --scopes write:package --raw\n\n", user)
	b.WriteString("Then give it to cargo:\n\n")
	b.WriteString("    cargo login --registry REGISTRY_NAME\n\n")
	b.WriteString("or set CARGO_REGISTRIES_REGISTRY_NAME_TOKEN. The registry, in .cargo/config.toml:\n\n")
	fmt.Fprintf(&b, "    [registries.REGISTRY_NAME]\n    index = \"sparse+%s\"\n    credential-provider = [\"cargo:token\"]\n\n", h.base(owner))
	b.WriteString("(cargo sends no token to a registry that needs sign-in unless a credential provider is\n")
	b.WriteString("configured: credential-provider in the registry's table, or for every registry\n")
	b.WriteString("[registry] global-credential-providers = [\"cargo:token\"].)\n")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}
