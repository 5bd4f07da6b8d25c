package v1

import (
	"net/http"
	"strings"

	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/structs"
	"wharf/routers/common"
)

// tokenOwner is the user whose tokens the request manages. As in Gitea,
// these routes need Basic authentication with the password: a token must
// not be able to mint or revoke tokens. Users manage their own tokens;
// admins anyone's.
func (h *Handler) tokenOwner(r *http.Request) (*user_model.User, error) {
	a := common.AuthFrom(r.Context())
	if a.User == nil {
		return nil, apperr.New(apperr.Unauthorized, "Basic authentication with your password is required")
	}
	if a.Method != common.MethodPassword {
		return nil, apperr.New(apperr.Forbidden, "access tokens can only be managed with Basic authentication using your password, not with a token")
	}
	name := common.Param(r, "username")
	if a.User.LowerName == strings.ToLower(name) {
		return a.User, nil
	}
	if !a.User.IsAdmin {
		return nil, apperr.New(apperr.Forbidden, "you can only manage your own access tokens")
	}
	u, err := h.Users.GetByName(r.Context(), name)
	if err != nil {
		return nil, err
	}
	return u, nil
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request) error {
	u, err := h.tokenOwner(r)
	if err != nil {
		return err
	}
	page, err := common.Paging(r)
	if err != nil {
		return err
	}
	ts, total, err := h.Users.ListTokens(r.Context(), u, page)
	if err != nil {
		return err
	}
	out := make([]*structs.AccessToken, len(ts))
	for i, t := range ts {
		out[i] = toToken(t, "")
	}
	common.SetPagingHeaders(w, r, h.RootURL, total, page)
	return common.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) error {
	u, err := h.tokenOwner(r)
	if err != nil {
		return err
	}
	var opt structs.CreateAccessTokenOption
	if err := common.DecodeJSON(w, r, &opt); err != nil {
		return err
	}
	t, plain, err := h.Users.CreateToken(r.Context(), u, opt.Name, opt.Scopes)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusCreated, toToken(t, plain))
}

func (h *Handler) deleteToken(w http.ResponseWriter, r *http.Request) error {
	u, err := h.tokenOwner(r)
	if err != nil {
		return err
	}
	if err := h.Users.DeleteToken(r.Context(), u, common.Param(r, "token")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
