package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	packages_model "wharf/models/packages"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
	cargo_service "wharf/services/packages/cargo"
	composer_service "wharf/services/packages/composer"
)

// ownerSettingsOf is whose package settings a request manages: the
// signed-in user's (/user/settings/packages) or an organisation's
// (/org/{org}/settings/packages), as a writer of its packages; what each
// section allows beyond that (owners for the cargo index and cleanup
// rules) the services decide.
type ownerSettingsOf struct {
	a *packages_service.Access
	// base is the local path of the settings page, without a trailing
	// slash.
	base string
}

// baseURL is the settings page's URL, ending in "/": its forms' actions
// and links are below it.
func (o *ownerSettingsOf) baseURL(rootURL string) string { return rootURL + o.base[1:] + "/" }

func (h *Handler) ownerSettingsOwner(r *http.Request) (*ownerSettingsOf, error) {
	ctx := r.Context()
	doer, err := common.RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	name, base := doer.Name, "/user/settings/packages"
	if org := common.Param(r, "org"); org != "" {
		name, base = org, "/org/"+url.PathEscape(org)+"/settings/packages"
	}
	a, err := h.d.Packages.Access(ctx, doer, name)
	if err != nil {
		return nil, err
	}
	if base != "/user/settings/packages" && !a.Owner.IsOrganization() {
		return nil, apperr.New(apperr.NotFound, "organisation %q does not exist", name)
	}
	if err := a.RequireWrite(); err != nil {
		return nil, err
	}
	return &ownerSettingsOf{a: a, base: base}, nil
}

type ownerSettingsPage struct {
	page
	Owner string
	IsOrg bool
	// BaseURL is this page's URL, ending in "/".
	BaseURL string
	// Usage is the owner's stored bytes; shown when UsageKnown (owners).
	Usage      int64
	UsageKnown bool
	Cargo      *cargo_service.GitIndex
	Sources    []sourceItem
	// SourcesHidden: the caller's token may not read repositories, so the
	// sources (repositories) are not listed.
	SourcesHidden bool
	Rules         []ruleItem
	// RulesNote says why the rules are not listed (not an owner).
	RulesNote string
	// Error is a refused action's message, Section the section it
	// belongs to; ComposerRepo the repository as posted.
	Error, Section, ComposerRepo string
}

type sourceItem struct{ Repository, RemoveURL string }

type ruleItem struct {
	ID                               int64
	Type, KeepPattern, RemovePattern string
	Enabled, MatchFullName           bool
	KeepCount, RemoveDays            int
	EditURL, PreviewURL, DeleteURL   string
}

func (h *Handler) ownerSettingsData(r *http.Request, o *ownerSettingsOf) (ownerSettingsPage, error) {
	ctx := r.Context()
	a := o.a
	d := ownerSettingsPage{page: h.page(r, "Package settings · "+a.Owner.Name), Owner: a.Owner.Name, IsOrg: a.Owner.IsOrganization(),
		BaseURL: o.baseURL(h.d.RootURL)}
	usage, err := h.d.Cleanup.OwnerUsage(ctx, a.Doer, a.Owner.Name)
	switch {
	case err == nil:
		d.Usage, d.UsageKnown = usage, true
	case apperr.KindOf(err) != apperr.Forbidden:
		return d, err
	}
	if d.Cargo, err = h.d.Cargo.IndexStatus(ctx, a); err != nil {
		return d, err
	}
	// Sources are repositories: a token limited to packages is shown none.
	var sources []composer_service.Source
	if common.Allows(ctx, scope.Repository, scope.Read) {
		if sources, err = h.d.Composer.Sources(ctx, a); err != nil {
			return d, err
		}
	} else {
		d.SourcesHidden = true
	}
	for _, s := range sources {
		d.Sources = append(d.Sources, sourceItem{Repository: s.Repository, RemoveURL: d.BaseURL + "composer/remove?repository=" + url.QueryEscape(s.Repository)})
	}
	rules, err := h.d.Cleanup.Rules(ctx, a.Doer, a.Owner.Name)
	switch {
	case err == nil:
		for _, rl := range rules {
			d.Rules = append(d.Rules, h.ruleItemOf(d.BaseURL, rl))
		}
	case apperr.KindOf(err) == apperr.Forbidden:
		d.RulesNote = apperr.PublicMessage(err)
	default:
		return d, err
	}
	return d, nil
}

func (h *Handler) ruleItemOf(baseURL string, rl *packages_model.CleanupRule) ruleItem {
	u := baseURL + "rules/" + strconv.FormatInt(rl.ID, 10)
	return ruleItem{ID: rl.ID, Type: string(rl.Type), Enabled: rl.Enabled, KeepCount: rl.KeepCount, KeepPattern: rl.KeepPattern,
		RemoveDays: rl.RemoveDays, RemovePattern: rl.RemovePattern, MatchFullName: rl.MatchFullName,
		EditURL: u, PreviewURL: u + "/preview", DeleteURL: u + "/delete"}
}

func (h *Handler) ownerSettings(w http.ResponseWriter, r *http.Request) error {
	o, err := h.ownerSettingsOwner(r)
	if err != nil {
		return err
	}
	d, err := h.ownerSettingsData(r, o)
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "settings/packages", d)
}

// ownerSettingsFail shows the owner's settings again with a refused
// action's message (a 4xx), or fails the page (anything else).
func (h *Handler) ownerSettingsFail(w http.ResponseWriter, r *http.Request, o *ownerSettingsOf, err error, section string, fill func(*ownerSettingsPage)) error {
	status, msg, ok := formError(err)
	if !ok {
		return err
	}
	d, derr := h.ownerSettingsData(r, o)
	if derr != nil {
		return derr
	}
	d.Error, d.Section = msg, section
	if fill != nil {
		fill(&d)
	}
	return h.render(w, status, "settings/packages", d)
}

func (h *Handler) cargoInit(w http.ResponseWriter, r *http.Request) error {
	o, err := h.ownerSettingsOwner(r)
	if err != nil {
		return err
	}
	gi, created, err := h.d.Cargo.InitIndex(r.Context(), o.a)
	if err != nil {
		return h.ownerSettingsFail(w, r, o, err, "cargo", nil)
	}
	if created {
		h.flash(r, "The cargo git index "+gi.Repository+" has been created.")
	} else {
		h.flash(r, "The cargo git index "+gi.Repository+" existed already; it is up to date.")
	}
	h.redirect(w, r, o.base)
	return nil
}

func (h *Handler) cargoRebuild(w http.ResponseWriter, r *http.Request) error {
	o, err := h.ownerSettingsOwner(r)
	if err != nil {
		return err
	}
	gi, err := h.d.Cargo.RebuildIndex(r.Context(), o.a)
	if err != nil {
		return h.ownerSettingsFail(w, r, o, err, "cargo", nil)
	}
	h.flash(r, "The cargo git index "+gi.Repository+" has been rebuilt from the registry.")
	h.redirect(w, r, o.base)
	return nil
}

func (h *Handler) composerAdd(w http.ResponseWriter, r *http.Request) error {
	o, err := h.ownerSettingsOwner(r)
	if err != nil {
		return err
	}
	if err := readForm(r); err != nil {
		return err
	}
	repo := strings.TrimSpace(r.PostForm.Get("repository"))
	if err := h.d.Composer.AddSource(r.Context(), o.a, repo); err != nil {
		return h.ownerSettingsFail(w, r, o, err, "composer", func(d *ownerSettingsPage) { d.ComposerRepo = repo })
	}
	h.flash(r, "Tags pushed to "+repo+" from now on register as Composer versions of "+o.a.Owner.Name+".")
	h.redirect(w, r, o.base)
	return nil
}

type confirmPage struct {
	page
	// Heading, Question and Detail say what the button does; Action is
	// where the form posts, Fields its hidden fields, Button its label.
	Heading, Question, Detail string
	Action, Button, CancelURL string
	Fields                    map[string]string
}

func (h *Handler) composerRemoveConfirm(w http.ResponseWriter, r *http.Request) error {
	o, err := h.ownerSettingsOwner(r)
	if err != nil {
		return err
	}
	repo := r.URL.Query().Get("repository")
	base := o.baseURL(h.d.RootURL)
	return h.render(w, http.StatusOK, "settings/confirm", confirmPage{page: h.page(r, "Remove Composer source"),
		Heading:  "Remove Composer source",
		Question: fmt.Sprintf("Stop registering tags of %s as Composer versions of %s?", repo, o.a.Owner.Name),
		Detail:   "Versions registered so far stay.",
		Action:   base + "composer/remove", Button: "Remove source", CancelURL: base,
		Fields: map[string]string{"repository": repo}})
}

func (h *Handler) composerRemove(w http.ResponseWriter, r *http.Request) error {
	o, err := h.ownerSettingsOwner(r)
	if err != nil {
		return err
	}
	if err := readConfirmedForm(r, "removing a source"); err != nil {
		return err
	}
	repo := r.PostForm.Get("repository")
	if err := h.d.Composer.RemoveSource(r.Context(), o.a, repo); err != nil {
		return h.ownerSettingsFail(w, r, o, err, "composer", nil)
	}
	h.flash(r, repo+" no longer registers Composer versions of "+o.a.Owner.Name+"; the versions registered so far stay.")
	h.redirect(w, r, o.base)
	return nil
}
