package v1

import (
	"net/http"
	"strings"

	"wharf/models/organization"
	user_model "wharf/models/user"
	"wharf/modules/structs"
	"wharf/routers/common"
	org_service "wharf/services/org"
)

func (h *Handler) listOrgs(w http.ResponseWriter, r *http.Request) error {
	page, err := common.Paging(r)
	if err != nil {
		return err
	}
	orgs, total, err := h.Orgs.ListVisible(r.Context(), common.Doer(r.Context()), page)
	if err != nil {
		return err
	}
	common.SetPagingHeaders(w, r, h.RootURL, total, page)
	return common.WriteJSON(w, http.StatusOK, toOrgs(orgs))
}

func (h *Handler) listMyOrgs(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	return h.listOrgsOf(w, r, doer, doer.Name)
}

func (h *Handler) listUserOrgs(w http.ResponseWriter, r *http.Request) error {
	return h.listOrgsOf(w, r, common.Doer(r.Context()), common.Param(r, "username"))
}

func (h *Handler) listOrgsOf(w http.ResponseWriter, r *http.Request, viewer *user_model.User, name string) error {
	page, err := common.Paging(r)
	if err != nil {
		return err
	}
	orgs, total, err := h.Orgs.ListForUser(r.Context(), viewer, name, page)
	if err != nil {
		return err
	}
	common.SetPagingHeaders(w, r, h.RootURL, total, page)
	return common.WriteJSON(w, http.StatusOK, toOrgs(orgs))
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	return h.createOrgFor(w, r, doer)
}

// createOrgFor creates the organisation in the body with owner as its first
// owner.
func (h *Handler) createOrgFor(w http.ResponseWriter, r *http.Request, owner *user_model.User) error {
	var opt structs.CreateOrgOption
	if err := common.DecodeJSON(w, r, &opt); err != nil {
		return err
	}
	vis, err := user_model.ParseVisibility(opt.Visibility)
	if err != nil {
		return err
	}
	o, err := h.Orgs.Create(r.Context(), owner, org_service.CreateOptions{
		Name: opt.UserName, FullName: opt.FullName, Email: opt.Email, Description: opt.Description,
		Website: opt.Website, Location: opt.Location, Visibility: vis,
	})
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusCreated, toOrg(o))
}

func (h *Handler) getOrg(w http.ResponseWriter, r *http.Request) error {
	o, err := h.Orgs.Get(r.Context(), common.Doer(r.Context()), common.Param(r, "org"))
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, toOrg(o))
}

func (h *Handler) editOrg(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	var opt structs.EditOrgOption
	if err := common.DecodeJSON(w, r, &opt); err != nil {
		return err
	}
	info := org_service.Info{FullName: opt.FullName, Email: opt.Email, Description: opt.Description, Website: opt.Website, Location: opt.Location}
	if opt.Visibility != nil && *opt.Visibility != "" {
		vis, err := user_model.ParseVisibility(*opt.Visibility)
		if err != nil {
			return err
		}
		info.Visibility = &vis
	}
	o, err := h.Orgs.Edit(r.Context(), doer, common.Param(r, "org"), info)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, toOrg(o))
}

func (h *Handler) deleteOrg(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	if err := h.Orgs.Delete(r.Context(), doer, common.Param(r, "org")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listMembers(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	page, err := common.Paging(r)
	if err != nil {
		return err
	}
	members, total, err := h.Orgs.ListMembers(r.Context(), doer, common.Param(r, "org"), page)
	if err != nil {
		return err
	}
	users := make([]*user_model.User, len(members))
	for i, m := range members {
		users[i] = m.User
	}
	common.SetPagingHeaders(w, r, h.RootURL, total, page)
	return common.WriteJSON(w, http.StatusOK, h.toUsers(users, doer))
}

// checkMember answers 204 for a member and 404 otherwise, as Gitea does.
// Wharf has no public memberships, so, as Gitea does for a concealed
// member and as the member list does, only members and admins (and a user
// asking about itself) learn whether someone belongs: anyone else gets
// 404, whoever the name is.
func (h *Handler) checkMember(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	doer := common.Doer(ctx)
	org, name := common.Param(r, "org"), common.Param(r, "username")
	if _, err := h.Orgs.Get(ctx, doer, org); err != nil {
		return err
	}
	mayAsk, err := h.mayListMembers(r, org, name)
	if err != nil {
		return err
	}
	ok := false
	if mayAsk {
		if ok, err = h.Orgs.IsMember(ctx, doer, org, name); err != nil {
			return err
		}
	}
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setMember adds a member or changes its role: body {"role": "read" |
// "write" | "owner"}, read when absent. Gitea has teams for this; Wharf
// keeps one role per member.
func (h *Handler) setMember(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	var opt structs.OrgMembershipOption
	if r.ContentLength != 0 {
		if err := common.DecodeJSON(w, r, &opt); err != nil {
			return err
		}
	}
	role, err := organization.ParseRole(opt.Role)
	if err != nil {
		return err
	}
	if err := h.Orgs.SetMember(r.Context(), doer, common.Param(r, "org"), common.Param(r, "username"), role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	if err := h.Orgs.RemoveMember(r.Context(), doer, common.Param(r, "org"), common.Param(r, "username")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) getOrgPermissions(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	// For a caller outside the organisation, a user it may not see is not
	// found (403 would tell that the name exists).
	if mayAsk, err := h.mayListMembers(r, common.Param(r, "org"), common.Param(r, "username")); err != nil {
		return err
	} else if !mayAsk {
		if _, err := h.Users.GetVisible(r.Context(), doer, common.Param(r, "username")); err != nil {
			return err
		}
	}
	role, err := h.Orgs.Permissions(r.Context(), doer, common.Param(r, "org"), common.Param(r, "username"))
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, structs.OrgPermissions{
		IsOwner:             role >= organization.RoleOwner,
		IsAdmin:             role >= organization.RoleOwner,
		CanWrite:            role >= organization.RoleWrite,
		CanRead:             role >= organization.RoleRead,
		CanCreateRepository: role >= organization.RoleWrite,
	})
}

// mayListMembers reports whether the caller may learn who belongs to org
// (the organisation visible to it): its members, admins, and a user asking
// about itself (name).
func (h *Handler) mayListMembers(r *http.Request, org, name string) (bool, error) {
	doer := common.Doer(r.Context())
	switch {
	case doer == nil:
		return false, nil
	case doer.IsAdmin || doer.LowerName == strings.ToLower(name):
		return true, nil
	}
	return h.Orgs.IsMember(r.Context(), doer, org, doer.Name)
}
