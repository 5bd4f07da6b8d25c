package v1

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/routers/common"
	"wharf/services/packages/virtual"
)

// VirtualMember is one member of a virtual registry: an owner of this
// instance, or an upstream registry's url with optional credentials (a
// token, sent as a bearer token, or with username as HTTP Basic), each
// with optional name patterns (include: only these names; exclude: never
// these). The token is never shown: has_token says there is one. A
// member the caller may not see is shown as {"hidden": true}.
type VirtualMember struct {
	Owner    string   `json:"owner,omitempty"`
	URL      string   `json:"url,omitempty"`
	Username string   `json:"username,omitempty"`
	Token    string   `json:"token,omitempty"`
	HasToken bool     `json:"has_token,omitempty"`
	Include  []string `json:"include,omitempty"`
	Exclude  []string `json:"exclude,omitempty"`
	Hidden   bool     `json:"hidden,omitempty"`
}

// VirtualRegistry is an owner's virtual registry of one type: the members
// in order, and the member publishes go to ("" refuses them). PUT with no
// members makes the owner an ordinary registry of the type again.
type VirtualRegistry struct {
	Virtual   bool            `json:"virtual"`
	Members   []VirtualMember `json:"members"`
	PublishTo string          `json:"publish_to,omitempty"`
}

// VirtualRoutes mounts /packages/{owner}/-/virtual/{type} (package scope):
// GET shows it to anyone who may read the owner's packages, PUT sets it
// (owners of the organisation and administrators).
func (h *Handler) VirtualRoutes(r chi.Router, svc *virtual.Service) {
	v := &virtualHandler{h: h, svc: svc}
	r.Group(func(r chi.Router) {
		r.Use(h.scoped(scope.Package))
		r.Get("/packages/{owner}/-/virtual/{type}", h.handle(v.get))
		r.Put("/packages/{owner}/-/virtual/{type}", h.handle(v.put))
	})
}

type virtualHandler struct {
	h   *Handler
	svc *virtual.Service
}

func (v *virtualHandler) get(w http.ResponseWriter, r *http.Request) error {
	a, err := v.h.packageAccess(r)
	if err != nil {
		return err
	}
	t, err := packages_model.ParseType(common.Param(r, "type"))
	if err != nil {
		return apperr.Wrap(apperr.NotFound, err, "no such package type")
	}
	view, err := v.svc.Get(r.Context(), a, t)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, toVirtualRegistry(view))
}

func (v *virtualHandler) put(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireUser(r.Context()); err != nil {
		return err
	}
	a, err := v.h.packageAccess(r)
	if err != nil {
		return err
	}
	t, err := packages_model.ParseType(common.Param(r, "type"))
	if err != nil {
		return apperr.Wrap(apperr.NotFound, err, "no such package type")
	}
	var in struct {
		Members   *[]VirtualMember `json:"members"`
		PublishTo string           `json:"publish_to"`
		Virtual   *bool            `json:"virtual"`
	}
	if err := common.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Members == nil {
		return apperr.New(apperr.Unprocessable, `members is required: the members in order, or [] to make %q an ordinary registry again`, a.Owner.Name)
	}
	spec := virtual.Spec{PublishTo: in.PublishTo}
	for _, m := range *in.Members {
		if m.HasToken || m.Hidden {
			return apperr.New(apperr.Unprocessable, "has_token and hidden are shown, not set: give each member in full")
		}
		spec.Members = append(spec.Members, virtual.MemberSpec{Owner: m.Owner, URL: m.URL, Username: m.Username, Token: m.Token,
			Include: m.Include, Exclude: m.Exclude})
	}
	view, err := v.svc.Set(r.Context(), a, t, spec)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, toVirtualRegistry(view))
}

func toVirtualRegistry(v *virtual.View) *VirtualRegistry {
	out := &VirtualRegistry{Virtual: v.Virtual, PublishTo: v.PublishTo, Members: []VirtualMember{}}
	for _, m := range v.Members {
		out.Members = append(out.Members, VirtualMember{Owner: m.Owner, URL: m.URL, Username: m.Username, HasToken: m.HasToken,
			Include: m.Include, Exclude: m.Exclude, Hidden: m.Hidden})
	}
	return out
}
