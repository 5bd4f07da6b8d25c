package v1

import (
	"net/http"
	"strconv"

	"wharf/modules/apperr"
	"wharf/modules/structs"
	"wharf/routers/common"
	user_service "wharf/services/user"
)

func (h *Handler) getAuthenticatedUser(w http.ResponseWriter, r *http.Request) error {
	u, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, h.toUser(u, u))
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	doer := common.Doer(r.Context())
	u, err := h.Users.GetVisible(r.Context(), doer, common.Param(r, "username"))
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, h.toUser(u, doer))
}

func (h *Handler) searchUsers(w http.ResponseWriter, r *http.Request) error {
	page, err := common.Paging(r)
	if err != nil {
		return err
	}
	opts := user_service.SearchOptions{ListOptions: page, Keyword: r.URL.Query().Get("q")}
	if v := r.URL.Query().Get("uid"); v != "" {
		if opts.UID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return apperr.New(apperr.Invalid, "query parameter \"uid\" must be an integer")
		}
	}
	doer := common.Doer(r.Context())
	users, total, err := h.Users.Search(r.Context(), doer, opts)
	if err != nil {
		return err
	}
	common.SetPagingHeaders(w, r, h.RootURL, total, page)
	return common.WriteJSON(w, http.StatusOK, structs.UserSearchResult{OK: true, Data: h.toUsers(users, doer)})
}
