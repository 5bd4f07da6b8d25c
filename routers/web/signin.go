package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/routers/common"
	user_service "wharf/services/user"
)

// Session keys.
const (
	sessionUID      = "uid"
	sessionPassword = "pw" // passwordStamp of the password signed in with
	sessionFlash    = "flash"
	// sessionSignedIn is when the password was last given (unix
	// seconds): a forced password change right after it does not ask
	// for it again.
	sessionSignedIn = "signed_in"
)

// freshSignIn is how long after giving the password a forced change may
// skip the current password. Later (an admin set the flag on a session
// that was already open, or a cookie was taken), it is asked again.
const freshSignIn = 10 * time.Minute

func (h *Handler) signInRoutes(r chi.Router) {
	r.Get("/user/login", h.handle(h.signInForm))
	r.Post("/user/login", h.handle(h.signIn))
	r.Post("/user/logout", h.handle(h.signOut))
	r.Get("/user/settings/change_password", h.handle(h.changePasswordForm))
	r.Post("/user/settings/change_password", h.handle(h.changePassword))
}

// authenticate decides who is calling: an Authorization header is checked
// as the API checks it (a wrong one fails at once); otherwise the session
// cookie names the user. A session whose user was deleted, disabled or
// barred, or whose password changed since it signed in, is ended.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	byHeader := h.d.Auth.Middleware(h.writeError)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			byHeader.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		uid := h.sessions.GetInt64(ctx, sessionUID)
		if uid == 0 {
			next.ServeHTTP(w, r)
			return
		}
		u, err := h.d.Users.GetByID(ctx, uid)
		switch {
		case apperr.KindOf(err) == apperr.NotFound:
		case err != nil:
			common.WriteError(h.d.Log, h.writeError, w, r, err)
			return
		case user_service.CheckCanSignIn(u) == nil && u.Passwd != "" &&
			h.sessions.GetString(ctx, sessionPassword) == passwordStamp(u):
			next.ServeHTTP(w, r.WithContext(common.WithAuth(ctx, common.Auth{User: u, Scopes: scope.Everything(), Method: common.MethodSession})))
			return
		}
		if err := h.sessions.Destroy(ctx); err != nil {
			common.WriteError(h.d.Log, h.writeError, w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// passwordStamp identifies the password a session signed in with, without
// keeping the hash in the session: a new password ends other sessions.
func passwordStamp(u *user_model.User) string {
	sum := sha256.Sum256([]byte("wharf session\x00" + u.Passwd))
	return hex.EncodeToString(sum[:8])
}

// requirePasswordChange sends a signed-in user who must change their
// password to the page that does it, from every page but that one and
// signing out.
func (h *Handler) requirePasswordChange(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := common.AuthFrom(r.Context())
		if a.Method != common.MethodSession || !a.User.MustChangePassword ||
			r.URL.Path == "/user/settings/change_password" || r.URL.Path == "/user/logout" {
			next.ServeHTTP(w, r)
			return
		}
		h.redirect(w, r, "/user/settings/change_password?redirect_to="+url.QueryEscape(r.URL.RequestURI()))
	})
}

type signInPage struct {
	page
	UserName, RedirectTo, Error string
}

func (h *Handler) signInForm(w http.ResponseWriter, r *http.Request) error {
	to := safeRedirect(r.URL.Query().Get("redirect_to"))
	if common.Doer(r.Context()) != nil {
		h.redirect(w, r, to)
		return nil
	}
	return h.render(w, http.StatusOK, "user/login", signInPage{page: h.page(r, "Sign in"), RedirectTo: to})
}

// signIn checks the form's name (or email) and password through the same
// service as HTTP Basic, with the same failure limits, and starts a new
// session (a new token: a session id planted before sign-in is useless).
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	name, to := r.PostForm.Get("user_name"), safeRedirect(r.PostForm.Get("redirect_to"))
	u, err := h.d.Users.Authenticate(ctx, name, r.PostForm.Get("password"))
	if err != nil {
		status := common.Status(err)
		if status >= http.StatusInternalServerError {
			return err
		}
		msg := "Wrong user name or password."
		switch {
		case status == http.StatusTooManyRequests:
			msg = "Too many failed sign-ins. Wait a while and try again."
			common.WriteRetryAfter(w, err)
		case errors.Is(err, user_service.ErrBadCredentials):
		default:
			msg = apperr.PublicMessage(err)
		}
		return h.render(w, status, "user/login", signInPage{page: h.page(r, "Sign in"), UserName: name, RedirectTo: to, Error: msg})
	}
	if err := h.startSession(r, u); err != nil {
		return err
	}
	if u.MustChangePassword {
		h.redirect(w, r, "/user/settings/change_password?redirect_to="+url.QueryEscape(to))
		return nil
	}
	h.redirect(w, r, to)
	return nil
}

func (h *Handler) startSession(r *http.Request, u *user_model.User) error {
	ctx := r.Context()
	if err := h.sessions.RenewToken(ctx); err != nil {
		return err
	}
	h.sessions.Put(ctx, sessionUID, u.ID)
	h.sessions.Put(ctx, sessionPassword, passwordStamp(u))
	h.sessions.Put(ctx, sessionSignedIn, h.d.Now().Unix())
	return nil
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) error {
	if err := h.sessions.Destroy(r.Context()); err != nil {
		return err
	}
	h.redirect(w, r, "/")
	return nil
}

type changePasswordPage struct {
	page
	// Forced: the account must change its password before anything else.
	Forced bool
	// AskCurrent: the form asks for the current password; not when a
	// forced change follows the sign-in that just gave it.
	AskCurrent        bool
	RedirectTo, Error string
}

// askCurrentPassword: a change needs the current password, unless the
// account must change it and gave it at sign-in moments ago.
func (h *Handler) askCurrentPassword(r *http.Request, u *user_model.User) bool {
	if !u.MustChangePassword {
		return true
	}
	at := time.Unix(h.sessions.GetInt64(r.Context(), sessionSignedIn), 0)
	return h.d.Now().Sub(at) > freshSignIn
}

// sessionUser returns the user signed in with the form; the password pages
// need the browser's session, not a token.
func sessionUser(r *http.Request) (*user_model.User, error) {
	a := common.AuthFrom(r.Context())
	if a.User == nil {
		return nil, apperr.New(apperr.Unauthorized, "sign in required")
	}
	if a.Method != common.MethodSession {
		return nil, apperr.New(apperr.Forbidden, "this page needs a browser session: sign in with the form")
	}
	return a.User, nil
}

func (h *Handler) changePasswordForm(w http.ResponseWriter, r *http.Request) error {
	u, err := sessionUser(r)
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "user/change_password", changePasswordPage{page: h.page(r, "Change password"),
		Forced: u.MustChangePassword, AskCurrent: h.askCurrentPassword(r, u), RedirectTo: safeRedirect(r.URL.Query().Get("redirect_to"))})
}

// changePassword sets a new password. Other sessions of the account end
// (their password stamp no longer matches); this one continues.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) error {
	u, err := sessionUser(r)
	if err != nil {
		return err
	}
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	p := changePasswordPage{page: h.page(r, "Change password"), Forced: u.MustChangePassword, AskCurrent: h.askCurrentPassword(r, u),
		RedirectTo: safeRedirect(r.PostForm.Get("redirect_to"))}
	fail := func(status int, msg string) error {
		p.Error = msg
		return h.render(w, status, "user/change_password", p)
	}
	if p.AskCurrent {
		if _, err := h.d.Users.Authenticate(ctx, u.Name, r.PostForm.Get("old_password")); err != nil {
			if status := common.Status(err); status < http.StatusInternalServerError {
				return fail(status, "The current password is wrong.")
			}
			return err
		}
	}
	pw := r.PostForm.Get("password")
	if pw != r.PostForm.Get("retype") {
		return fail(http.StatusUnprocessableEntity, "The two new passwords differ.")
	}
	if err := h.d.Users.ChangePassword(ctx, u.Name, pw, false); err != nil {
		if status := common.Status(err); status < http.StatusInternalServerError {
			return fail(status, apperr.PublicMessage(err))
		}
		return err
	}
	u, err = h.d.Users.GetByID(ctx, u.ID)
	if err != nil {
		return err
	}
	if err := h.startSession(r, u); err != nil {
		return err
	}
	h.flash(r, "Your password has been changed.")
	h.redirect(w, r, p.RedirectTo)
	return nil
}
