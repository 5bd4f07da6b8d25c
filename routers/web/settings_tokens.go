package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"wharf/models/auth"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/routers/common"
)

// tokenScopes are the check boxes of the token form, in the order shown:
// read and write per category a token is used for, then admin and all.
var tokenScopes = []scopeChoice{
	{"read:package", "Read packages"}, {"write:package", "Publish and delete packages"},
	{"read:repository", "Read repositories"}, {"write:repository", "Push to and change repositories"},
	{"read:user", "Read user profiles"}, {"write:user", "Change your account"},
	{"read:organization", "Read organisations"}, {"write:organization", "Change organisations"},
	{"read:admin", "Read site administration"}, {"write:admin", "Site administration"},
	{scope.All, "Everything (all scopes)"},
}

type scopeChoice struct{ Name, Label string }

// tokenPageSize is how many tokens one page lists.
const tokenPageSize = 50

type applicationsPage struct {
	page
	Tokens []tokenItem
	Pager  pager
	Scopes []scopeBox
	// Name and the checked scopes are the form as posted, when it is
	// shown again with Error.
	Name, Error string
	// Created is the token just made, shown on this response only.
	Created *createdToken
}

type tokenItem struct {
	Name, Scopes, LastEight string
	Created, LastUsed       int64
	// RevokeURL leads to the confirmation page.
	RevokeURL string
}

type scopeBox struct {
	scopeChoice
	Checked bool
}

type createdToken struct{ Name, Token, Scopes string }

// tokenUser is the user whose tokens the page manages: signed in with the
// form or with a password, never with a token (a token must not mint or
// revoke tokens, as the API's token routes say).
func tokenUser(r *http.Request) (*user_model.User, error) {
	a := common.AuthFrom(r.Context())
	if a.User == nil {
		return nil, apperr.New(apperr.Unauthorized, "sign in required")
	}
	if a.Method != common.MethodSession && a.Method != common.MethodPassword {
		return nil, apperr.New(apperr.Forbidden, "access tokens are managed with your password or a browser session, not with a token")
	}
	return a.User, nil
}

func (h *Handler) applicationsPage(r *http.Request, u *user_model.User, checked []string) (applicationsPage, error) {
	opts := listOptions(r, tokenPageSize)
	ts, total, err := h.d.Users.ListTokens(r.Context(), u, opts)
	if err != nil {
		return applicationsPage{}, err
	}
	p := applicationsPage{page: h.page(r, "Applications"), Pager: h.pagerHere(r, opts, total)}
	for _, t := range ts {
		p.Tokens = append(p.Tokens, tokenItem{Name: t.Name, Scopes: strings.ReplaceAll(t.Scope, ",", ", "), LastEight: t.TokenLastEight,
			Created: t.CreatedUnix, LastUsed: lastUsed(t),
			RevokeURL: h.d.RootURL + "user/settings/applications/delete?name=" + url.QueryEscape(t.Name)})
	}
	for _, c := range tokenScopes {
		p.Scopes = append(p.Scopes, scopeBox{scopeChoice: c, Checked: slices.Contains(checked, c.Name)})
	}
	return p, nil
}

// lastUsed is when the token was last used, 0 if never (the row's update
// time starts at its creation).
func lastUsed(t *auth.AccessToken) int64 {
	if t.UpdatedUnix <= t.CreatedUnix {
		return 0
	}
	return t.UpdatedUnix
}

func (h *Handler) applications(w http.ResponseWriter, r *http.Request) error {
	u, err := tokenUser(r)
	if err != nil {
		return err
	}
	p, err := h.applicationsPage(r, u, nil)
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "settings/applications", p)
}

// createToken makes a token and shows it in this response only: it is
// not put in the session (which the database keeps) and the page is not
// cached. A name or scopes the service refuses show the form again with
// its message and status.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) error {
	u, err := tokenUser(r)
	if err != nil {
		return err
	}
	if err := readForm(r); err != nil {
		return err
	}
	name, scopes := r.PostForm.Get("name"), r.PostForm["scope"]
	t, plain, err := h.d.Users.CreateToken(r.Context(), u, name, scopes)
	if err != nil {
		status, msg, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := h.applicationsPage(r, u, scopes)
		if perr != nil {
			return perr
		}
		p.Name, p.Error = name, msg
		return h.render(w, status, "settings/applications", p)
	}
	p, err := h.applicationsPage(r, u, nil)
	if err != nil {
		return err
	}
	p.Created = &createdToken{Name: t.Name, Token: plain, Scopes: strings.ReplaceAll(t.Scope, ",", ", ")}
	noStore(w)
	return h.render(w, http.StatusOK, "settings/applications", p)
}

type revokeTokenPage struct {
	page
	Token tokenItem
}

func (h *Handler) revokeTokenConfirm(w http.ResponseWriter, r *http.Request) error {
	u, err := tokenUser(r)
	if err != nil {
		return err
	}
	t, err := h.d.Users.TokenByName(r.Context(), u, r.URL.Query().Get("name"))
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "settings/token_revoke", revokeTokenPage{page: h.page(r, "Revoke access token"),
		Token: tokenItem{Name: t.Name, Scopes: strings.ReplaceAll(t.Scope, ",", ", "), LastEight: t.TokenLastEight, Created: t.CreatedUnix, LastUsed: lastUsed(t)}})
}

// revokeToken revokes the named token once the confirmation page posted
// its confirmation.
func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) error {
	u, err := tokenUser(r)
	if err != nil {
		return err
	}
	if err := readConfirmedForm(r, "revoking a token"); err != nil {
		return err
	}
	name := r.PostForm.Get("name")
	if err := h.d.Users.DeleteTokenByName(r.Context(), u, name); err != nil {
		return err
	}
	h.flash(r, "The access token "+name+" has been revoked; clients that use it are refused from now on.")
	h.redirect(w, r, "/user/settings/applications")
	return nil
}
