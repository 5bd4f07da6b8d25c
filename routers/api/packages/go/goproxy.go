// Package goproxy serves the Go module proxy protocol (GOPROXY) at
// /api/packages/{owner}/go, with Gitea's upload endpoint.
package goproxy

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"wharf/modules/apperr"
	goproxy_module "wharf/modules/packages/go"
	"wharf/routers/api/packages"
	"wharf/routers/common"
	goproxy_service "wharf/services/packages/go"
)

// Handler serves one owner's module proxy.
type Handler struct {
	Go  *goproxy_service.Service
	Log *slog.Logger
}

// Routes mounts the protocol. Every path the go command may probe that is
// not a module of the registry answers 404 with a plain-text reason (the
// go command shows it, and goes on to the next proxy on 404 or 410).
func (h *Handler) Routes(r chi.Router) {
	r.Put("/upload", h.handle(h.upload))
	r.Get("/-/notes", h.handle(h.notes))
	r.Get("/*", h.handle(h.proxy))
	r.Head("/*", h.handle(h.proxy))
}

func (h *Handler) handle(f common.HandlerFunc) http.HandlerFunc {
	return common.Handle(h.Log, common.WritePlain, f)
}

// modulePart is the request's path after the proxy's base, decoded (the
// go command sends "!" as %21).
func modulePart(r *http.Request) (string, bool) {
	base := "/api/packages/" + common.Param(r, "owner") + "/go/"
	return strings.CutPrefix(r.URL.Path, base)
}

// proxy answers a proxy request. A version that cannot be (a go.mod over
// the limits, a file the zip rules refuse) is Invalid to the service, but
// not found to the go command: any other 4xx is a hard error to it, where
// 404 lets it try the next proxy.
func (h *Handler) proxy(w http.ResponseWriter, r *http.Request) error {
	err := h.answer(w, r)
	if apperr.KindOf(err) == apperr.Invalid {
		return apperr.New(apperr.NotFound, "%s", apperr.PublicMessage(err))
	}
	return err
}

func (h *Handler) answer(w http.ResponseWriter, r *http.Request) error {
	a := packages.AccessFrom(r.Context())
	rest, ok := modulePart(r)
	if !ok {
		return apperr.New(apperr.NotFound, "not found")
	}
	if strings.HasPrefix(rest, "sumdb/") {
		// The checksum database is not proxied: the go command asks
		// sum.golang.org itself (private modules need GONOSUMDB or
		// GOPRIVATE).
		return apperr.New(apperr.NotFound, "this proxy does not serve a checksum database")
	}
	req, err := goproxy_module.ParseRequest(rest)
	if err != nil {
		return err
	}
	m, err := h.Go.GetModule(r.Context(), a, req.Module)
	if err != nil {
		return err
	}
	switch req.Kind {
	case goproxy_module.KindList:
		body, err := h.Go.List(r.Context(), m)
		if err != nil {
			return err
		}
		return writeText(w, r, string(body))
	case goproxy_module.KindLatest:
		v, err := h.Go.Latest(r.Context(), m)
		if err != nil {
			return err
		}
		return writeInfo(w, r, v.Info)
	case goproxy_module.KindInfo:
		v, err := h.Go.Query(r.Context(), m, req.Query)
		if err != nil {
			return err
		}
		return writeInfo(w, r, v.Info)
	case goproxy_module.KindMod:
		v, err := h.Go.Version(r.Context(), m, req.Query)
		if err != nil {
			return err
		}
		return writeText(w, r, v.GoMod)
	default:
		v, err := h.Go.Version(r.Context(), m, req.Query)
		if err != nil {
			return err
		}
		d, err := h.Go.OpenZip(r.Context(), v)
		if err != nil {
			return err
		}
		packages.ServeDownload(w, r, d)
		return nil
	}
}

func writeText(w http.ResponseWriter, r *http.Request, body string) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write([]byte(body))
	return err
}

func writeInfo(w http.ResponseWriter, r *http.Request, info goproxy_module.Info) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(b)
	return err
}

// upload is Gitea's PUT /upload of a module zip.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) error {
	pv, err := h.Go.Upload(r.Context(), packages.AccessFrom(r.Context()), r.Body)
	if err != nil {
		return err
	}
	h.Log.InfoContext(r.Context(), "go: module zip uploaded", "version", pv.Version)
	w.WriteHeader(http.StatusCreated)
	return nil
}

// notes lists why tags of the owner's repositories are not module
// versions (or differ from them), for the repositories the caller reads.
func (h *Handler) notes(w http.ResponseWriter, r *http.Request) error {
	notes, err := h.Go.Notes(r.Context(), packages.AccessFrom(r.Context()))
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, notes)
}
