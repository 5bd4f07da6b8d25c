// Package git serves repositories over git's smart HTTP protocol at
// /{owner}/{repo}.git (and without .git): info/refs, git-upload-pack and
// git-receive-pack, protocol v0, v1 and v2.
package git

import (
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"wharf/modules/apperr"
	"wharf/modules/git"
	"wharf/modules/scope"
	"wharf/routers/common"
	repo_service "wharf/services/repository"
)

// Handler serves the smart HTTP protocol.
type Handler struct {
	Repos *repo_service.Service
	Auth  *common.Authenticator
	Log   *slog.Logger
}

// Routes mounts the protocol. Paths are matched on the repository name
// with or without ".git".
func (h *Handler) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(common.RefuseNUL(h.Log, common.WritePlain))
		r.Use(h.Auth.Middleware(common.WritePlain))
		r.Get("/{owner}/{repo}/info/refs", h.handle(h.infoRefs))
		r.Post("/{owner}/{repo}/git-upload-pack", h.handle(h.rpc(git.UploadPack)))
		r.Post("/{owner}/{repo}/git-receive-pack", h.handle(h.rpc(git.ReceivePack)))
	})
}

func (h *Handler) handle(f common.HandlerFunc) http.HandlerFunc {
	return common.Handle(h.Log, common.WritePlain, f)
}

// context loads the repository and checks the caller's token scope and
// right for the service.
func (h *Handler) context(r *http.Request, svc git.Service) (*git.RPC, *repo_service.Context, error) {
	ctx := r.Context()
	lvl := scope.Read
	if svc == git.ReceivePack {
		lvl = scope.Write
	}
	if err := common.CheckScope(ctx, scope.Repository, lvl); err != nil {
		return nil, nil, err
	}
	name := strings.TrimSuffix(common.Param(r, "repo"), ".git")
	doer := common.Doer(ctx)
	rc, err := h.Repos.Get(ctx, doer, common.Param(r, "owner"), name)
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound && doer == nil {
			// Git sends credentials only when challenged: a private
			// repository must look like one that needs signing in.
			return nil, nil, apperr.New(apperr.Unauthorized, "repository not found, or sign in required")
		}
		return nil, nil, err
	}
	rpc, err := h.Repos.RPC(doer, rc, svc, r.Header.Get("Git-Protocol"))
	if err != nil {
		return nil, nil, err
	}
	return rpc, rc, nil
}

func (h *Handler) infoRefs(w http.ResponseWriter, r *http.Request) error {
	svc, err := git.ParseService(r.URL.Query().Get("service"))
	if err != nil {
		return apperr.New(apperr.Forbidden, "only the smart HTTP protocol is supported: use a git client that sends ?service=")
	}
	rpc, _, err := h.context(r, svc)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-git-"+string(svc)+"-advertisement")
	w.Header().Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	return rpc.AdvertiseRefs(r.Context(), w)
}

func (h *Handler) rpc(svc git.Service) common.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-git-"+string(svc)+"-request" {
			return apperr.New(apperr.Invalid, "unexpected content type %q", ct)
		}
		rpc, rc, err := h.context(r, svc)
		if err != nil {
			return err
		}
		body := io.Reader(r.Body)
		if r.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				return apperr.Wrap(apperr.Invalid, err, "gzip request body")
			}
			defer gz.Close()
			body = gz
		}
		w.Header().Set("Content-Type", "application/x-git-"+string(svc)+"-result")
		w.Header().Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
		w.WriteHeader(http.StatusOK)
		updates, err := rpc.Run(r.Context(), body, w)
		if err != nil {
			// git has written its own report (or the client left); the
			// status line is gone, so log.
			h.Log.WarnContext(r.Context(), "git "+string(svc)+" failed", "repo", rc.Repo.FullName(), "err", err)
		}
		if svc == git.ReceivePack {
			// Also after a failure: git may have moved some refs first.
			h.Repos.AfterPush(r.Context(), common.Doer(r.Context()), rc, updates)
		}
		return nil
	}
}
