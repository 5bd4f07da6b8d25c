package v1

import (
	"strings"
	"time"

	"wharf/models/auth"
	user_model "wharf/models/user"
	"wharf/modules/structs"
)

// toUser shows u to viewer as Gitea does: the e-mail address only to
// signed-in users who may see u, account details only to the user itself
// and admins. A private user embedded in another document (a package's
// creator) keeps its address from those who get 404 for the user.
func (h *Handler) toUser(u, viewer *user_model.User) *structs.User {
	out := &structs.User{
		ID:          u.ID,
		UserName:    u.Name,
		FullName:    u.FullName,
		HTMLURL:     h.RootURL + u.Name,
		Location:    u.Location,
		Website:     u.Website,
		Description: u.Description,
		Visibility:  u.Visibility.String(),
		Created:     time.Unix(u.CreatedUnix, 0).UTC(),
		IsActive:    u.IsActive,
	}
	if viewer != nil {
		if emailVisible(u, viewer) {
			out.Email = u.Email
		}
		if viewer.ID == u.ID || viewer.IsAdmin {
			out.IsAdmin = u.IsAdmin
			out.ProhibitLogin = u.ProhibitLogin
			out.LastLogin = time.Unix(u.LastLoginUnix, 0).UTC()
			out.LoginName = u.Name
		}
	}
	return out
}

// emailVisible reports whether a signed-in viewer may see u's address: as
// user_service.CanSee decides for an individual (an organisation is only
// ever embedded where the viewer may see it).
func emailVisible(u, viewer *user_model.User) bool {
	return u.IsOrganization() || u.Visibility != user_model.VisibilityPrivate || viewer.ID == u.ID || viewer.IsAdmin
}

func (h *Handler) toUsers(us []*user_model.User, viewer *user_model.User) []*structs.User {
	out := make([]*structs.User, len(us))
	for i, u := range us {
		out[i] = h.toUser(u, viewer)
	}
	return out
}

func toOrg(o *user_model.User) *structs.Organization {
	return &structs.Organization{
		ID: o.ID, Name: o.Name, UserName: o.Name, FullName: o.FullName, Email: o.Email,
		Description: o.Description, Website: o.Website, Location: o.Location,
		Visibility: o.Visibility.String(),
	}
}

func toOrgs(os []*user_model.User) []*structs.Organization {
	out := make([]*structs.Organization, len(os))
	for i, o := range os {
		out[i] = toOrg(o)
	}
	return out
}

func toToken(t *auth.AccessToken, plain string) *structs.AccessToken {
	scopes := []string{}
	if t.Scope != "" {
		scopes = strings.Split(t.Scope, ",")
	}
	return &structs.AccessToken{
		ID: t.ID, Name: t.Name, Token: plain, TokenLastEight: t.TokenLastEight, Scopes: scopes,
		Created: time.Unix(t.CreatedUnix, 0).UTC(), Updated: time.Unix(t.UpdatedUnix, 0).UTC(),
	}
}
