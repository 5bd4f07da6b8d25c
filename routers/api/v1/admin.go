package v1

import (
	"net/http"
	"strings"

	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/structs"
	"wharf/routers/common"
	user_service "wharf/services/user"
)

func (h *Handler) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireAdmin(r.Context())
	if err != nil {
		return err
	}
	page, err := common.Paging(r)
	if err != nil {
		return err
	}
	users, total, err := h.Users.ListAll(r.Context(), page)
	if err != nil {
		return err
	}
	common.SetPagingHeaders(w, r, h.RootURL, total, page)
	return common.WriteJSON(w, http.StatusOK, h.toUsers(users, doer))
}

func (h *Handler) adminCreateUser(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireAdmin(r.Context())
	if err != nil {
		return err
	}
	var opt structs.CreateUserOption
	if err := common.DecodeJSON(w, r, &opt); err != nil {
		return err
	}
	if opt.SourceID != 0 {
		return apperr.New(apperr.Unprocessable, "authentication sources are not supported: source_id must be 0")
	}
	vis, err := user_model.ParseVisibility(opt.Visibility)
	if err != nil {
		return err
	}
	mustChange := true // Gitea's default when the field is absent
	if opt.MustChangePassword != nil {
		mustChange = *opt.MustChangePassword
	}
	u, err := h.Users.Create(r.Context(), user_service.CreateOptions{
		Name: opt.Username, Email: opt.Email, Password: opt.Password, FullName: opt.FullName,
		MustChangePassword: mustChange, Visibility: vis,
	})
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusCreated, h.toUser(u, doer))
}

func (h *Handler) adminDeleteUser(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireAdmin(r.Context())
	if err != nil {
		return err
	}
	name := common.Param(r, "username")
	if doer.LowerName == strings.ToLower(name) {
		return apperr.New(apperr.Unprocessable, "you cannot delete yourself")
	}
	if err := h.Users.Delete(r.Context(), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) adminCreateOrg(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireAdmin(r.Context()); err != nil {
		return err
	}
	owner, err := h.Users.GetByName(r.Context(), common.Param(r, "username"))
	if err != nil {
		return err
	}
	if owner.IsOrganization() {
		return apperr.New(apperr.Unprocessable, "%q is an organisation, not a user", owner.Name)
	}
	return h.createOrgFor(w, r, owner)
}

func (h *Handler) adminListOrgs(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireAdmin(r.Context())
	if err != nil {
		return err
	}
	page, err := common.Paging(r)
	if err != nil {
		return err
	}
	orgs, total, err := h.Orgs.ListVisible(r.Context(), doer, page)
	if err != nil {
		return err
	}
	common.SetPagingHeaders(w, r, h.RootURL, total, page)
	return common.WriteJSON(w, http.StatusOK, toOrgs(orgs))
}
