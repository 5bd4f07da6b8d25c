// Package packages mounts every registry format under
// /api/packages/{owner}/{type}, with the owner and the caller's access
// resolved once for all of them.
package packages

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/modules/storage"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
	"wharf/services/packages/virtual"
)

// Format is a registry format's router.
type Format interface {
	Routes(r chi.Router)
}

// Handlers are the formats, mounted explicitly.
type Handlers struct {
	Generic  Format
	Composer Format
	Npm      Format
	Cargo    Format
	RubyGems Format
	Go       Format
	// NpmInstance is the instance-level npm endpoint, /-/npm.
	NpmInstance Format
}

type accessKey struct{}

type registryKey struct{}

// VirtualFormat is a format that serves virtual registries: an owner
// virtual for its type is served by the routes VirtualRoutes mounts
// instead of Routes, with the registry in the context (RegistryFrom).
type VirtualFormat interface {
	Format
	Type() packages_model.Type
	VirtualRoutes(r chi.Router)
}

// RegistryFrom returns the virtual registry a request is for, set by
// Routes' middleware for an owner virtual for the format's type.
func RegistryFrom(ctx context.Context) *virtual.Registry {
	reg, _ := ctx.Value(registryKey{}).(*virtual.Registry)
	return reg
}

// AccessFrom returns the owner and the caller's access, set by Routes'
// middleware.
func AccessFrom(ctx context.Context) *packages_service.Access {
	a, _ := ctx.Value(accessKey{}).(*packages_service.Access)
	return a
}

// errorShaper is a format that answers in its client's own error shape
// (npm's {"error"}, Composer's {"errors"}); formats without it answer in
// plain text.
type errorShaper interface {
	WriteError(w http.ResponseWriter, r *http.Request, status int, msg string)
}

// anonymousChallenger is a format whose client must be asked to sign in
// where others are told "not found": cargo sends its token only after a
// 401 (and shows the login URL of that answer), so an owner an anonymous
// caller may not see is 401 for it — for every owner the caller cannot
// see, existing or not, so the answer reveals nothing.
type anonymousChallenger interface {
	ChallengesAnonymous() bool
}

func errorWriterOf(f Format) common.ErrorWriter {
	if s, ok := f.(errorShaper); ok {
		return s.WriteError
	}
	return common.WritePlain
}

// Routes mounts the formats under /{owner}. Failures before a format's
// handler runs (bad credentials, too many password failures, a token
// without the package scope, an owner the caller may not see) are answered
// in that format's error shape, so the client shows the message; every
// format takes over its own errors after that.
func Routes(r chi.Router, svc *packages_service.Service, virtuals *virtual.Service, authn *common.Authenticator, log *slog.Logger, h Handlers) {
	scoped := func(writeErr common.ErrorWriter) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := common.CheckScope(r.Context(), scope.Package, common.LevelFor(r)); err != nil {
					common.WriteError(log, writeErr, w, r, err)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	owned := func(f Format, writeErr common.ErrorWriter) func(http.Handler) http.Handler {
		c, challenge := f.(anonymousChallenger)
		challenge = challenge && c.ChallengesAnonymous()
		vf, hasVirtual := f.(VirtualFormat)
		var virtualRoutes chi.Router
		if hasVirtual {
			virtualRoutes = chi.NewRouter()
			vf.VirtualRoutes(virtualRoutes)
		}
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				doer := common.Doer(r.Context())
				a, err := svc.Access(r.Context(), doer, common.Param(r, "owner"))
				if challenge && doer == nil && apperr.KindOf(err) == apperr.NotFound {
					err = apperr.New(apperr.Unauthorized, "sign in to use the packages of %q", common.Param(r, "owner"))
				}
				if err != nil {
					common.WriteError(log, writeErr, w, r, err)
					return
				}
				ctx := context.WithValue(r.Context(), accessKey{}, a)
				if hasVirtual {
					reg, err := virtuals.Lookup(r.Context(), a.Owner, vf.Type())
					if err != nil {
						common.WriteError(log, writeErr, w, r, err)
						return
					}
					if reg != nil {
						if virtuals.LoopDetected(r.Header) {
							// This process's own upstream fetch came back
							// here: answer at once rather than wait on it.
							common.WriteError(log, writeErr, w, r, apperr.New(apperr.Unprocessable, "virtual registry loop: %q is its own upstream", a.Owner.Name))
							return
						}
						virtualRoutes.ServeHTTP(w, r.WithContext(context.WithValue(ctx, registryKey{}, reg)))
						return
					}
				}
				next.ServeHTTP(w, r.WithContext(ctx))
			})
		}
	}
	mount := func(r chi.Router, pattern string, f Format, withOwner bool) {
		writeErr := errorWriterOf(f)
		r.Route(pattern, func(r chi.Router) {
			// A NUL in the path or query is refused first, in the format's
			// own error shape like every failure before its handlers.
			r.Use(common.RefuseNUL(log, writeErr), authn.Middleware(writeErr), scoped(writeErr))
			if withOwner {
				r.Use(owned(f, writeErr))
			}
			f.Routes(r)
		})
	}
	// "-" is a reserved owner name, so this never hides an owner.
	mount(r, "/-/npm", h.NpmInstance, false)
	r.Route("/{owner}", func(r chi.Router) {
		mount(r, "/generic", h.Generic, true)
		mount(r, "/composer", h.Composer, true)
		mount(r, "/npm", h.Npm, true)
		mount(r, "/cargo", h.Cargo, true)
		mount(r, "/rubygems", h.RubyGems, true)
		mount(r, "/go", h.Go, true)
	})
}

// ServeDownload answers a download: a redirect when the storage serves
// directly, otherwise the bytes with http.ServeContent semantics (Range,
// If-None-Match on the SHA-256 ETag, If-Modified-Since, HEAD).
func ServeDownload(w http.ResponseWriter, r *http.Request, d *packages_service.Download) {
	if d.RedirectURL != nil {
		http.Redirect(w, r, d.RedirectURL.String(), http.StatusTemporaryRedirect)
		return
	}
	defer d.Content.Close()
	w.Header().Set("ETag", `"`+d.Blob.HashSHA256+`"`)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.File.Name}))
	http.ServeContent(largeCopyWriter{w, d.Blob.Size}, r, d.File.Name, time.Unix(d.File.CreatedUnix, 0), d.Content)
}

// largeCopyWriter makes ServeContent copy the bytes through a buffer of
// up to storage.CopyUnit: a stored object (S3) is then read in large
// pieces, and on a local file fewer, larger writes beat sendfile on fast
// links (BenchmarkDownload measures both beside http.ServeFile).
type largeCopyWriter struct {
	http.ResponseWriter
	size int64 // the blob's
}

func (w largeCopyWriter) ReadFrom(r io.Reader) (int64, error) {
	// The anonymous structs hide ReadFrom and WriteTo, so that the copy
	// goes through the buffer.
	return io.CopyBuffer(struct{ io.Writer }{w.ResponseWriter}, struct{ io.Reader }{r}, storage.NewCopyBuffer(w.size))
}

// Unwrap lets http.ResponseController reach the connection.
func (w largeCopyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
