package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/routers/common"
	cleanup_service "wharf/services/packages/cleanup"
)

type ruleFormPage struct {
	page
	Owner string
	// Action is where the form posts; BaseURL the owner's settings page.
	Action, BaseURL string
	Editing         bool
	Rule            ruleForm
	Types           []string
	Error           string
	// PreviewURL and DeleteURL when editing.
	PreviewURL, DeleteURL string
}

// ruleForm is a rule's fields as the form shows them: the numbers as typed,
// so that a refused value is shown back as it was.
type ruleForm struct {
	Type, KeepCount, KeepPattern, RemoveDays, RemovePattern string
	Enabled, MatchFullName                                  bool
}

func typeNames() []string {
	out := make([]string, len(packages_model.Types))
	for i, t := range packages_model.Types {
		out[i] = string(t)
	}
	return out
}

func ruleFormOf(rl *packages_model.CleanupRule) ruleForm {
	return ruleForm{Type: string(rl.Type), Enabled: rl.Enabled, KeepCount: strconv.Itoa(rl.KeepCount), KeepPattern: rl.KeepPattern,
		RemoveDays: strconv.Itoa(rl.RemoveDays), RemovePattern: rl.RemovePattern, MatchFullName: rl.MatchFullName}
}

// readRuleForm reads the posted fields; every field is set (an unchecked
// box is false, an empty number 0), so an edit is the whole rule.
func readRuleForm(r *http.Request) (ruleForm, cleanup_service.RuleOptions, error) {
	f := ruleForm{Type: r.PostForm.Get("type"), KeepCount: strings.TrimSpace(r.PostForm.Get("keep_count")),
		KeepPattern: r.PostForm.Get("keep_pattern"), RemoveDays: strings.TrimSpace(r.PostForm.Get("remove_days")),
		RemovePattern: r.PostForm.Get("remove_pattern"), Enabled: r.PostForm.Get("enabled") == "on",
		MatchFullName: r.PostForm.Get("match_full_name") == "on"}
	number := func(field, v string) (int, error) {
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, apperr.New(apperr.Unprocessable, "%s: must be a whole number", field)
		}
		return n, nil
	}
	keep, err := number("keep_count", f.KeepCount)
	if err != nil {
		return f, cleanup_service.RuleOptions{}, err
	}
	days, err := number("remove_days", f.RemoveDays)
	if err != nil {
		return f, cleanup_service.RuleOptions{}, err
	}
	o := cleanup_service.RuleOptions{Type: &f.Type, Enabled: &f.Enabled, KeepCount: &keep, KeepPattern: &f.KeepPattern,
		RemoveDays: &days, RemovePattern: &f.RemovePattern, MatchFullName: &f.MatchFullName}
	return f, o, nil
}

func (h *Handler) ruleFormData(r *http.Request, o *ownerSettingsOf, id int64) ruleFormPage {
	base := o.baseURL(h.d.RootURL)
	d := ruleFormPage{page: h.page(r, "Add cleanup rule"), Owner: o.a.Owner.Name, Action: base + "rules/add", BaseURL: base, Types: typeNames()}
	if id != 0 {
		u := base + "rules/" + strconv.FormatInt(id, 10)
		d.Title, d.Editing, d.Action, d.PreviewURL, d.DeleteURL = "Edit cleanup rule", true, u, u+"/preview", u+"/delete"
	}
	return d
}

func (h *Handler) ruleAddForm(w http.ResponseWriter, r *http.Request) error {
	o, err := h.ownerSettingsOwner(r)
	if err != nil {
		return err
	}
	// The form is for whom may make a rule: the service's own check
	// (owners of the organisation, the user, admins), as its list asks.
	if _, err := h.d.Cleanup.Rules(r.Context(), o.a.Doer, o.a.Owner.Name); err != nil {
		return err
	}
	d := h.ruleFormData(r, o, 0)
	d.Rule = ruleForm{Type: r.URL.Query().Get("type"), KeepCount: "0", RemoveDays: "0", Enabled: true}
	return h.render(w, http.StatusOK, "settings/rule", d)
}

func (h *Handler) ruleAdd(w http.ResponseWriter, r *http.Request) error {
	o, err := h.ownerSettingsOwner(r)
	if err != nil {
		return err
	}
	if err := readForm(r); err != nil {
		return err
	}
	f, opts, err := readRuleForm(r)
	var rl *packages_model.CleanupRule
	if err == nil {
		rl, err = h.d.Cleanup.CreateRule(r.Context(), o.a.Doer, o.a.Owner.Name, opts)
	}
	if err != nil {
		return h.ruleFormFail(w, r, o, 0, f, err)
	}
	h.flash(r, fmt.Sprintf("The cleanup rule for %s packages has been added. Check its preview before it runs.", rl.Type))
	h.redirect(w, r, o.base)
	return nil
}

// ruleFormFail shows the form again with the refused input and the
// service's message, with its status; nothing was stored.
func (h *Handler) ruleFormFail(w http.ResponseWriter, r *http.Request, o *ownerSettingsOf, id int64, f ruleForm, err error) error {
	status, msg, ok := formError(err)
	if !ok {
		return err
	}
	d := h.ruleFormData(r, o, id)
	d.Rule, d.Error = f, msg
	return h.render(w, status, "settings/rule", d)
}

// ruleOfRequest loads the owner and the rule the URL names, through the
// services (which decide who manages rules).
func (h *Handler) ruleOfRequest(r *http.Request) (*ownerSettingsOf, *packages_model.CleanupRule, error) {
	o, err := h.ownerSettingsOwner(r)
	if err != nil {
		return nil, nil, err
	}
	id, err := strconv.ParseInt(common.Param(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, nil, apperr.New(apperr.NotFound, "cleanup rule %q does not exist", common.Param(r, "id"))
	}
	rl, err := h.d.Cleanup.Rule(r.Context(), o.a.Doer, o.a.Owner.Name, id)
	return o, rl, err
}

func (h *Handler) ruleEditForm(w http.ResponseWriter, r *http.Request) error {
	o, rl, err := h.ruleOfRequest(r)
	if err != nil {
		return err
	}
	d := h.ruleFormData(r, o, rl.ID)
	d.Rule = ruleFormOf(rl)
	return h.render(w, http.StatusOK, "settings/rule", d)
}

func (h *Handler) ruleEdit(w http.ResponseWriter, r *http.Request) error {
	o, rl, err := h.ruleOfRequest(r)
	if err != nil {
		return err
	}
	if err := readForm(r); err != nil {
		return err
	}
	f, opts, err := readRuleForm(r)
	if err == nil {
		_, err = h.d.Cleanup.UpdateRule(r.Context(), o.a.Doer, o.a.Owner.Name, rl.ID, opts)
	}
	if err != nil {
		return h.ruleFormFail(w, r, o, rl.ID, f, err)
	}
	h.flash(r, fmt.Sprintf("The cleanup rule for %s packages has been saved.", f.Type))
	h.redirect(w, r, o.base)
	return nil
}

func (h *Handler) ruleDeleteConfirm(w http.ResponseWriter, r *http.Request) error {
	o, rl, err := h.ruleOfRequest(r)
	if err != nil {
		return err
	}
	base := o.baseURL(h.d.RootURL)
	return h.render(w, http.StatusOK, "settings/confirm", confirmPage{page: h.page(r, "Delete cleanup rule"),
		Heading:  "Delete cleanup rule",
		Question: fmt.Sprintf("Delete the cleanup rule for %s packages of %s?", rl.Type, o.a.Owner.Name),
		Detail:   "No package is removed by deleting the rule; the scheduled cleanup stops applying it.",
		Action:   base + "rules/" + strconv.FormatInt(rl.ID, 10) + "/delete", Button: "Delete rule", CancelURL: base})
}

func (h *Handler) ruleDelete(w http.ResponseWriter, r *http.Request) error {
	o, rl, err := h.ruleOfRequest(r)
	if err != nil {
		return err
	}
	if err := readConfirmedForm(r, "deleting a rule"); err != nil {
		return err
	}
	if err := h.d.Cleanup.DeleteRule(r.Context(), o.a.Doer, o.a.Owner.Name, rl.ID); err != nil {
		return err
	}
	h.flash(r, fmt.Sprintf("The cleanup rule for %s packages has been deleted.", rl.Type))
	h.redirect(w, r, o.base)
	return nil
}

type rulePreviewPage struct {
	page
	Owner   string
	Rule    ruleItem
	BaseURL string
	// Result is what the run would remove (preview) or removed (run).
	Result *cleanup_service.Result
	// Ran: this page reports a run, not a preview.
	Ran bool
	// RunURL is where the run button posts, with Stamp (the preview's
	// selection) as the confirmation of that list.
	RunURL, Stamp string
	// Error is why a run was refused (the selection changed): the page
	// then shows the new preview.
	Error string
}

// rulePreview lists exactly what running the rule now would remove: the
// cleanup service's own selection, the one its run uses. Its run button
// posts the selection's stamp: the run removes that list or nothing.
func (h *Handler) rulePreview(w http.ResponseWriter, r *http.Request) error {
	o, rl, err := h.ruleOfRequest(r)
	if err != nil {
		return err
	}
	return h.renderRulePreview(w, r, o, rl, http.StatusOK, "")
}

// renderRulePreview shows the preview as the selection is now, with the
// given status and refusal message.
func (h *Handler) renderRulePreview(w http.ResponseWriter, r *http.Request, o *ownerSettingsOf, rl *packages_model.CleanupRule, status int, msg string) error {
	res, sel, err := h.d.Cleanup.PreviewSelection(r.Context(), o.a.Doer, o.a.Owner.Name, rl.ID)
	if err != nil {
		return err
	}
	base := o.baseURL(h.d.RootURL)
	item := h.ruleItemOf(base, rl)
	noStore(w)
	return h.render(w, status, "settings/rule_preview", rulePreviewPage{page: h.page(r, "Cleanup preview · "+string(rl.Type)),
		Owner: o.a.Owner.Name, Rule: item, BaseURL: base, Result: res, RunURL: item.EditURL + "/run", Stamp: sel.String(), Error: msg})
}

// ruleRun removes what the preview it was posted from listed (its stamp)
// and shows what it removed, on this response (not cached). When the
// selection is no longer that list, nothing is removed and the preview is
// shown again, as it is now, with 409.
func (h *Handler) ruleRun(w http.ResponseWriter, r *http.Request) error {
	o, rl, err := h.ruleOfRequest(r)
	if err != nil {
		return err
	}
	if err := readConfirmedForm(r, "running a rule"); err != nil {
		return err
	}
	sel, err := cleanup_service.ParseSelection(r.PostForm.Get("stamp"))
	if err != nil {
		return err
	}
	res, err := h.d.Cleanup.RunConfirmed(r.Context(), o.a.Doer, o.a.Owner.Name, rl.ID, sel)
	if apperr.KindOf(err) == apperr.Conflict {
		// The rule as it is now: it may have been edited since.
		if rl, err = h.d.Cleanup.Rule(r.Context(), o.a.Doer, o.a.Owner.Name, rl.ID); err != nil {
			return err
		}
		return h.renderRulePreview(w, r, o, rl, http.StatusConflict, "Nothing was removed: the selection changed since the preview. "+
			"This is the preview as it is now; check it and run again.")
	}
	if err != nil {
		return err
	}
	base := o.baseURL(h.d.RootURL)
	item := h.ruleItemOf(base, rl)
	noStore(w)
	return h.render(w, http.StatusOK, "settings/rule_preview", rulePreviewPage{page: h.page(r, "Cleanup run · "+string(rl.Type)),
		Owner: o.a.Owner.Name, Rule: item, BaseURL: base, Result: res, Ran: true, RunURL: item.EditURL + "/run"})
}
