package v1

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/routers/common"
	"wharf/services/packages/cleanup"
)

// CleanupRule is an owner's cleanup rule as the API shows it (Gitea has
// the rules in its web UI only; the fields are Gitea's).
type CleanupRule struct {
	ID            int64     `json:"id"`
	Enabled       bool      `json:"enabled"`
	Type          string    `json:"type"`
	KeepCount     int       `json:"keep_count"`
	KeepPattern   string    `json:"keep_pattern"`
	RemoveDays    int       `json:"remove_days"`
	RemovePattern string    `json:"remove_pattern"`
	MatchFullName bool      `json:"match_full_name"`
	Created       time.Time `json:"created_at"`
	Updated       time.Time `json:"updated_at"`
}

// CleanupRuleOption creates a rule (type is required) or changes the
// fields given (PATCH).
type CleanupRuleOption struct {
	Type          *string `json:"type,omitempty"`
	Enabled       *bool   `json:"enabled,omitempty"`
	KeepCount     *int    `json:"keep_count,omitempty"`
	KeepPattern   *string `json:"keep_pattern,omitempty"`
	RemoveDays    *int    `json:"remove_days,omitempty"`
	RemovePattern *string `json:"remove_pattern,omitempty"`
	MatchFullName *bool   `json:"match_full_name,omitempty"`
}

// CleanupResult is what a rule's run removed, or its preview would: the
// versions, and the ones its terms select that stay with the reason.
type CleanupResult = cleanup.Result

func toCleanupRule(r *packages_model.CleanupRule) *CleanupRule {
	return &CleanupRule{ID: r.ID, Enabled: r.Enabled, Type: string(r.Type), KeepCount: r.KeepCount, KeepPattern: r.KeepPattern,
		RemoveDays: r.RemoveDays, RemovePattern: r.RemovePattern, MatchFullName: r.MatchFullName,
		Created: time.Unix(r.CreatedUnix, 0).UTC(), Updated: time.Unix(r.UpdatedUnix, 0).UTC()}
}

func (o CleanupRuleOption) options() cleanup.RuleOptions {
	return cleanup.RuleOptions{Type: o.Type, Enabled: o.Enabled, KeepCount: o.KeepCount, KeepPattern: o.KeepPattern,
		RemoveDays: o.RemoveDays, RemovePattern: o.RemovePattern, MatchFullName: o.MatchFullName}
}

// CleanupRoutes mounts an owner's cleanup rules
// (/packages/{owner}/-/rules…, package scope; the owner, owners of the
// organisation and administrators only) and the administrators' cleanup
// tasks (/admin/cleanup…, admin scope).
func (h *Handler) CleanupRoutes(r chi.Router, svc *cleanup.Service) {
	c := &cleanupHandler{h: h, svc: svc}
	r.Group(func(r chi.Router) {
		r.Use(h.scoped(scope.Package))
		r.Get("/packages/{owner}/-/rules", h.handle(c.listRules))
		r.Post("/packages/{owner}/-/rules", h.handle(c.createRule))
		r.Get("/packages/{owner}/-/rules/{id}", h.handle(c.getRule))
		r.Patch("/packages/{owner}/-/rules/{id}", h.handle(c.editRule))
		r.Delete("/packages/{owner}/-/rules/{id}", h.handle(c.deleteRule))
		r.Get("/packages/{owner}/-/rules/{id}/preview", h.handle(c.previewRule))
		r.Post("/packages/{owner}/-/rules/{id}/run", h.handle(c.runRule))
		r.Get("/packages/{owner}/-/storage", h.handle(c.ownerStorage))
	})
	r.Group(func(r chi.Router) {
		r.Use(h.scoped(scope.Admin))
		r.Get("/admin/cleanup", h.handle(c.adminCleanupRuns))
		r.Post("/admin/cleanup/{task}", h.handle(c.adminRunCleanup))
	})
}

type cleanupHandler struct {
	h   *Handler
	svc *cleanup.Service
}

func ruleID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(common.Param(r, "id"), 10, 64)
	if err != nil {
		return 0, apperr.New(apperr.NotFound, "cleanup rule does not exist")
	}
	return id, nil
}

func (c *cleanupHandler) listRules(w http.ResponseWriter, r *http.Request) error {
	rs, err := c.svc.Rules(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"))
	if err != nil {
		return err
	}
	out := make([]*CleanupRule, len(rs))
	for i, x := range rs {
		out[i] = toCleanupRule(x)
	}
	return common.WriteJSON(w, http.StatusOK, out)
}

func (c *cleanupHandler) createRule(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireUser(r.Context()); err != nil {
		return err
	}
	var o CleanupRuleOption
	if err := common.DecodeJSON(w, r, &o); err != nil {
		return err
	}
	rule, err := c.svc.CreateRule(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"), o.options())
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusCreated, toCleanupRule(rule))
}

func (c *cleanupHandler) getRule(w http.ResponseWriter, r *http.Request) error {
	id, err := ruleID(r)
	if err != nil {
		return err
	}
	rule, err := c.svc.Rule(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"), id)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, toCleanupRule(rule))
}

func (c *cleanupHandler) editRule(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireUser(r.Context()); err != nil {
		return err
	}
	id, err := ruleID(r)
	if err != nil {
		return err
	}
	var o CleanupRuleOption
	if err := common.DecodeJSON(w, r, &o); err != nil {
		return err
	}
	rule, err := c.svc.UpdateRule(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"), id, o.options())
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, toCleanupRule(rule))
}

func (c *cleanupHandler) deleteRule(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireUser(r.Context()); err != nil {
		return err
	}
	id, err := ruleID(r)
	if err != nil {
		return err
	}
	if err := c.svc.DeleteRule(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *cleanupHandler) previewRule(w http.ResponseWriter, r *http.Request) error {
	id, err := ruleID(r)
	if err != nil {
		return err
	}
	res, sel, err := c.svc.PreviewSelection(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"), id)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, previewAnswer{Result: res, Stamp: sel.String()})
}

// previewAnswer is a preview and its stamp: a run given the stamp removes
// exactly what the preview listed, or nothing (409) if that changed.
type previewAnswer struct {
	*cleanup.Result
	Stamp string `json:"stamp"`
}

func (c *cleanupHandler) runRule(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireUser(r.Context()); err != nil {
		return err
	}
	id, err := ruleID(r)
	if err != nil {
		return err
	}
	doer, owner := common.Doer(r.Context()), common.Param(r, "owner")
	var res *cleanup.Result
	if stamp := r.URL.Query().Get("stamp"); stamp != "" {
		// Confirming a preview: exactly what it listed, or 409.
		sel, err := cleanup.ParseSelection(stamp)
		if err != nil {
			return err
		}
		res, err = c.svc.RunConfirmed(r.Context(), doer, owner, id, sel)
		if err != nil {
			return err
		}
	} else if res, err = c.svc.Run(r.Context(), doer, owner, id); err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, res)
}
