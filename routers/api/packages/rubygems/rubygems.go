// Package rubygems serves a RubyGems source at
// /api/packages/{owner}/rubygems/: the compact index Bundler and RubyGems
// resolve from (names, versions, info/{name}), the Marshal indexes and
// quick gemspecs of the older protocol, the .gem files, and the API that
// gem push, gem yank and gem signin call. Errors are plain text, which gem
// prints as it is.
package rubygems

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"wharf/modules/apperr"
	"wharf/routers/api/packages"
	"wharf/routers/common"
	rubygems_service "wharf/services/packages/rubygems"
)

// Handler serves one owner's gem source.
type Handler struct {
	RubyGems *rubygems_service.Service
	Log      *slog.Logger
	RootURL  string
	Now      func() time.Time
}

// maxFormBody bounds the form bodies of yank and sign-in.
const maxFormBody = 64 << 10

// Routes mounts the source. Paths are cleaned first: `gem push --host`
// with a trailing slash asks for ".../rubygems//api/v1/gems", and gem does
// not follow redirects on push.
func (h *Handler) Routes(r chi.Router) {
	r.Use(cleanPath)
	r.NotFound(h.handle(func(http.ResponseWriter, *http.Request) error { return errNotFound }))
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		common.WritePlain(w, r, http.StatusMethodNotAllowed, "method not allowed")
	})
	get := func(pattern string, f common.HandlerFunc) {
		r.Get(pattern, h.handle(f))
		r.Head(pattern, h.handle(f))
	}
	// RubyGems 3.3 probes HEAD on the source itself, newer ones HEAD on
	// versions: anything but 200 sends them to the slow full index.
	get("/", h.root)
	get("/versions", h.versions)
	get("/names", h.names)
	get("/info/{name}", h.info)
	get("/specs.4.8.gz", h.specs(rubygems_service.SpecsAll))
	get("/latest_specs.4.8.gz", h.specs(rubygems_service.SpecsLatest))
	get("/prerelease_specs.4.8.gz", h.specs(rubygems_service.SpecsPrerelease))
	get("/quick/Marshal.4.8/{file}", h.quickGemspec)
	get("/gems/{file}", h.download)
	r.Route("/api/v1", func(r chi.Router) {
		r.Post("/gems", h.handle(h.push))
		r.Delete("/gems/yank", h.handle(h.yank))
		r.Post("/api_key", h.handle(h.apiKey))
		r.Put("/api_key", h.handle(h.updateAPIKey))
	})
}

// cleanPath cleans the path left to this router's routes.
func cleanPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rctx := chi.RouteContext(r.Context()); rctx != nil && strings.Contains(rctx.RoutePath, "//") {
			rctx.RoutePath = path.Clean(rctx.RoutePath)
		}
		next.ServeHTTP(w, r)
	})
}

var errNotFound = apperr.New(apperr.NotFound, "not found")

// writeError answers in plain text, as rubygems.org does; gem prints the
// body of a failed push, yank or sign-in. A 401 says how to get a key.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if status == http.StatusUnauthorized {
		msg += "\n" + h.signInHelp(common.Param(r, "owner"))
	}
	common.WritePlain(w, r, status, msg)
}

// WriteError answers the registry's failures before this format's
// handlers run (credentials, scope, owner) in plain text.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.writeError(w, r, status, msg)
}

// ChallengesAnonymous: an owner an anonymous caller may not see is a 401,
// whether it exists or not, so that Bundler says "Authentication is
// required for …" and how to configure credentials, instead of failing
// over to the full index and then "could not find".
func (h *Handler) ChallengesAnonymous() bool { return true }

func (h *Handler) handle(f common.HandlerFunc) http.HandlerFunc {
	return common.Handle(h.Log, h.writeError, f)
}

// base is the owner's source URL, ending in "/".
func (h *Handler) base(owner string) string {
	return h.RootURL + "api/packages/" + url.PathEscape(owner) + "/rubygems/"
}

func (h *Handler) signInHelp(owner string) string {
	host := strings.TrimSuffix(h.base(owner), "/")
	return "gem needs an access token of " + h.RootURL + " with the write:package scope (read:package to install from a source that needs sign-in).\n" +
		"Get one with `RUBYGEMS_HOST=" + host + " gem signin` (your user name, not your e-mail, and your password;\n" +
		"RubyGems 3.3's `gem signin --host` asks rubygems.org first), or let `gem push --host " + host + "` sign you in,\n" +
		"or create one (POST " + h.RootURL + "api/v1/users/YOUR_NAME/tokens) and add it to ~/.gem/credentials as\n" +
		"  " + host + ": TOKEN\n" +
		"Bundler takes it from `bundle config set --global " + h.base(owner) + " YOUR_NAME:TOKEN`\n" +
		"(the source URL as the Gemfile writes it), or from the source URL itself (http://YOUR_NAME:TOKEN@…).\n"
}

// root answers the probe on the source URL, and tells a person who opens
// it how to use the source.
func (h *Handler) root(w http.ResponseWriter, r *http.Request) error {
	owner := packages.AccessFrom(r.Context()).Owner.Name
	base := h.base(owner)
	var b strings.Builder
	fmt.Fprintf(&b, "RubyGems source of %s\n\n", owner)
	fmt.Fprintf(&b, "Gemfile:\n  source %q\n\n", base)
	fmt.Fprintf(&b, "gem:\n  gem install NAME --source %s\n  gem push NAME-VERSION.gem --host %s\n\n", base, strings.TrimSuffix(base, "/"))
	b.WriteString(h.signInHelp(owner))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	_, _ = io.WriteString(w, b.String())
	return nil
}

// ifNoneMatch is the request's If-None-Match as a Current: Bundler sends
// back the quoted ETag (having dropped any W/).
func ifNoneMatch(r *http.Request) rubygems_service.Current {
	inm := r.Header.Get("If-None-Match")
	return func(etag string) bool {
		if inm == "" {
			return false
		}
		for tag := range strings.SplitSeq(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == etag || tag == "*" {
				return true
			}
		}
		return false
	}
}

// fresh says whether a change time may be shown and judged by:
// Last-Modified has one-second resolution, so an index changed in the
// last two seconds carries none (a second change within the same second
// would otherwise earn a stale copy a 304).
func fresh(modified, now time.Time) bool { return now.Sub(modified) >= 2*time.Second }

// serveDocument sends a generated file: the ETag (the body's MD5),
// Repr-Digest (and the older Digest) with the SHA-256 of the whole body,
// byte ranges (206, or 416 past the end), 304 for a current copy, HEAD.
func (h *Handler) serveDocument(w http.ResponseWriter, r *http.Request, d *rubygems_service.Document, contentType string) {
	hdr := w.Header()
	hdr.Set("ETag", d.ETag)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Accept-Ranges", "bytes")
	hdr.Set("Repr-Digest", "sha-256=:"+d.Digest+":")
	hdr.Set("Digest", "sha-256="+d.Digest)
	var modified time.Time
	if !d.Modified.IsZero() && fresh(d.Modified, h.Now()) {
		modified = d.Modified
		hdr.Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
	}
	if d.NotModified {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", contentType)
	// ServeContent answers Range (after If-None-Match, which it checks
	// again against the ETag set above) and If-Modified-Since.
	http.ServeContent(w, r, "", modified, bytes.NewReader(d.Body))
}

const textPlain = "text/plain; charset=utf-8"

func (h *Handler) versions(w http.ResponseWriter, r *http.Request) error {
	d, err := h.RubyGems.Versions(r.Context(), packages.AccessFrom(r.Context()), ifNoneMatch(r))
	if err != nil {
		return err
	}
	h.serveDocument(w, r, d, textPlain)
	return nil
}

func (h *Handler) names(w http.ResponseWriter, r *http.Request) error {
	d, err := h.RubyGems.Names(r.Context(), packages.AccessFrom(r.Context()), ifNoneMatch(r))
	if err != nil {
		return err
	}
	h.serveDocument(w, r, d, textPlain)
	return nil
}

func (h *Handler) info(w http.ResponseWriter, r *http.Request) error {
	d, err := h.RubyGems.Info(r.Context(), packages.AccessFrom(r.Context()), common.Param(r, "name"), ifNoneMatch(r))
	if err != nil {
		return err
	}
	h.serveDocument(w, r, d, textPlain)
	return nil
}

// specs serves a Marshal index: gzip bytes as the body itself, with no
// Content-Encoding (Net::HTTP would unpack it, and RubyGems then fails to
// gunzip what it was given).
func (h *Handler) specs(kind rubygems_service.SpecsKind) common.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		d, err := h.RubyGems.Specs(r.Context(), packages.AccessFrom(r.Context()), kind, ifNoneMatch(r))
		if err != nil {
			return err
		}
		h.serveDocument(w, r, d, "application/octet-stream")
		return nil
	}
}

func (h *Handler) quickGemspec(w http.ResponseWriter, r *http.Request) error {
	file := common.Param(r, "file")
	fullName, ok := strings.CutSuffix(file, ".gemspec.rz")
	if !ok {
		return errNotFound
	}
	d, err := h.RubyGems.QuickGemspec(r.Context(), packages.AccessFrom(r.Context()), fullName)
	if err != nil {
		return err
	}
	h.serveDocument(w, r, d, "application/octet-stream")
	return nil
}

// download serves gems/{file}; a GET counts as a download.
func (h *Handler) download(w http.ResponseWriter, r *http.Request) error {
	d, err := h.RubyGems.OpenGem(r.Context(), packages.AccessFrom(r.Context()), common.Param(r, "file"), r.Method == http.MethodGet)
	if err != nil {
		return err
	}
	packages.ServeDownload(w, r, d)
	return nil
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", textPlain)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// push handles gem push: POST /api/v1/gems with the .gem as the body
// (or, from `gem push --attestation`, as the multipart part "gem").
func (h *Handler) push(w http.ResponseWriter, r *http.Request) error {
	body := io.Reader(r.Body)
	if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "multipart/form-data" {
		part, err := gemPart(multipart.NewReader(r.Body, params["boundary"]))
		if err != nil {
			return err
		}
		body = part
	}
	spec, err := h.RubyGems.Push(r.Context(), packages.AccessFrom(r.Context()), body)
	if err != nil {
		return err
	}
	// rubygems.org's answer, which gem prints.
	writeText(w, http.StatusOK, "Successfully registered gem: "+rubygems_service.Title(spec.Name, spec.Version, spec.Platform)+"\n")
	return nil
}

// gemPart finds the multipart part named "gem".
func gemPart(mr *multipart.Reader) (io.Reader, error) {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, apperr.New(apperr.Invalid, "the multipart body has no part named \"gem\"")
		}
		if err != nil {
			return nil, apperr.Wrap(apperr.Invalid, err, "the multipart body is malformed")
		}
		if p.FormName() == "gem" {
			return p, nil
		}
	}
}

// form reads a form body whatever the method (Go's ParseForm ignores the
// body of a DELETE, which is how gem yank sends its parameters), with the
// URL's query as a fallback.
func form(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBody))
	if err != nil {
		if _, ok := err.(*http.MaxBytesError); ok {
			return nil, apperr.New(apperr.TooLarge, "the form is larger than %d bytes", maxFormBody)
		}
		return nil, apperr.Wrap(apperr.Invalid, err, "read the form")
	}
	vals, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "the body is not a form (application/x-www-form-urlencoded)")
	}
	for k, v := range r.URL.Query() {
		if _, ok := vals[k]; !ok {
			vals[k] = v
		}
	}
	return vals, nil
}

// yank handles gem yank: DELETE /api/v1/gems/yank with gem_name, version
// and platform in a form body. gem prints the answer whatever its status.
func (h *Handler) yank(w http.ResponseWriter, r *http.Request) error {
	vals, err := form(w, r)
	if err != nil {
		return err
	}
	msg, err := h.RubyGems.Yank(r.Context(), packages.AccessFrom(r.Context()), vals.Get("gem_name"), vals.Get("version"), vals.Get("platform"))
	if err != nil {
		return err
	}
	writeText(w, http.StatusOK, msg+"\n")
	return nil
}

// apiKey answers gem signin (POST /api/v1/api_key with Basic user and
// password): a new access token, the body alone, which gem stores in
// ~/.gem/credentials for the host. The password is required (checked,
// and limited against guessing, by the authentication in front): a
// token must not mint tokens.
func (h *Handler) apiKey(w http.ResponseWriter, r *http.Request) error {
	auth := common.AuthFrom(r.Context())
	if auth.User == nil {
		return apperr.New(apperr.Unauthorized, "sign in with your user name and password")
	}
	if auth.Method != common.MethodPassword {
		return apperr.New(apperr.Forbidden, "gem signin takes your user name and password, not an access token; a token is already a key: add it to ~/.gem/credentials as\n  %s: TOKEN",
			strings.TrimSuffix(h.base(packages.AccessFrom(r.Context()).Owner.Name), "/"))
	}
	vals, err := form(w, r)
	if err != nil {
		return err
	}
	token, err := h.RubyGems.APIKey(r.Context(), auth.User, vals)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	// No newline: gem stores the body as the key.
	writeText(w, http.StatusOK, token)
	return nil
}

// updateAPIKey is where gem asks to widen a key's scopes; this registry's
// keys are access tokens, whose scopes do not change.
func (h *Handler) updateAPIKey(w http.ResponseWriter, r *http.Request) error {
	return apperr.New(apperr.Invalid, "the scopes of an access token cannot change: make a new key with `RUBYGEMS_HOST=%s gem signin` and remove the old one from your gem credentials",
		strings.TrimSuffix(h.base(packages.AccessFrom(r.Context()).Owner.Name), "/"))
}
