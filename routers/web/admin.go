package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/dustin/go-humanize"
	"github.com/go-chi/chi/v5"

	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/scope"
	"wharf/routers/common"
	packages_service "wharf/services/packages"
	cleanup_service "wharf/services/packages/cleanup"
)

// adminPageSize is how many rows an admin list shows per page.
const adminPageSize = 50

// adminRunsShown is how many of each cleanup task's last runs are shown.
const adminRunsShown = 5

// adminRoutes mounts the site administration pages under /-/admin (Gitea's
// URLs). They are for site administrators only, and a token reaches them
// only with the admin scope, as the API's /admin routes ask: the scope is
// checked first (403 without it), then the administrator (an anonymous
// visitor is sent to sign in, a signed-in non-administrator gets 403).
func (h *Handler) adminRoutes(r chi.Router) {
	r.Route("/-/admin", func(r chi.Router) {
		r.Use(common.RequireScope(h.d.Log, h.writeError, scope.Admin))
		r.Use(h.requireAdmin)
		r.Get("/", h.handle(h.adminDashboard))
		r.Get("/users", h.handle(h.adminUsers))
		r.Get("/orgs", h.handle(h.adminOrgs))
		r.Get("/packages", h.handle(h.adminPackages))
		r.Get("/cleanup", h.handle(h.adminCleanup))
		r.Post("/cleanup", h.handle(h.adminRunCleanup))
	})
}

// requireAdmin lets only site administrators through.
func (h *Handler) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := common.RequireAdmin(r.Context()); err != nil {
			common.WriteError(h.d.Log, h.writeError, w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminPage is the frame of an admin page: the site's, and which of the
// admin sections it is (for the section tabs).
type adminPage struct {
	page
	Section string
}

func (h *Handler) adminPage(r *http.Request, title, section string) adminPage {
	return adminPage{page: h.page(r, title), Section: section}
}

type adminDashboardPage struct {
	adminPage
	Counts  *packages_model.SiteCounts
	Storage *packages_model.StorageUsage
}

func (h *Handler) adminDashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	counts, err := h.d.Packages.SiteCounts(ctx, common.Doer(ctx))
	if err != nil {
		return err
	}
	usage, err := h.d.Cleanup.Usage(ctx)
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "admin/dashboard", adminDashboardPage{adminPage: h.adminPage(r, "Site administration", "dashboard"), Counts: counts, Storage: usage})
}

type adminOwnersPage struct {
	adminPage
	Query string
	Items []adminOwnerItem
	Pager pager
}

type adminOwnerItem struct {
	Name, Path, FullName, Email, Visibility  string
	Admin, Active, MustChange, ProhibitLogin bool
	Created                                  int64
}

var visibilityNames = map[user_model.Visibility]string{
	user_model.VisibilityPublic: "public", user_model.VisibilityLimited: "limited", user_model.VisibilityPrivate: "private",
}

func (h *Handler) adminOwners(w http.ResponseWriter, r *http.Request, t user_model.Type, title, section string) error {
	ctx := r.Context()
	q := r.URL.Query().Get("q")
	opts := listOptions(r, adminPageSize)
	us, total, err := h.d.Packages.AdminSearchOwners(ctx, common.Doer(ctx), t, q, opts)
	if err != nil {
		return err
	}
	p := adminOwnersPage{adminPage: h.adminPage(r, title, section), Query: q, Items: make([]adminOwnerItem, len(us)), Pager: h.pagerHere(r, opts, total)}
	for i, u := range us {
		p.Items[i] = adminOwnerItem{Name: u.Name, Path: url.PathEscape(u.Name), FullName: u.FullName, Email: u.Email,
			Visibility: visibilityNames[u.Visibility], Admin: u.IsAdmin, Active: u.IsActive, MustChange: u.MustChangePassword,
			ProhibitLogin: u.ProhibitLogin, Created: u.CreatedUnix}
	}
	return h.render(w, http.StatusOK, "admin/"+section, p)
}

func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request) error {
	return h.adminOwners(w, r, user_model.TypeIndividual, "Users · Site administration", "users")
}

func (h *Handler) adminOrgs(w http.ResponseWriter, r *http.Request) error {
	return h.adminOwners(w, r, user_model.TypeOrganization, "Organisations · Site administration", "orgs")
}

type adminPackagesPage struct {
	adminPage
	Owner, Type, Query string
	Types              []string
	Items              []adminPackageItem
	Total              int64
	Pager              pager
	Owners             []adminOwnerTotal
}

type adminPackageItem struct {
	Owner, OwnerPath, Type, Name, Path string
	Versions, Size, Created            int64
}

type adminOwnerTotal struct {
	Owner, FilterURL string
	Packages, Size   int64
}

func (h *Handler) adminPackages(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	query := r.URL.Query()
	p := adminPackagesPage{adminPage: h.adminPage(r, "Packages · Site administration", "packages"), Owner: query.Get("owner"), Type: query.Get("type"), Query: query.Get("q")}
	for _, t := range packages_model.Types {
		p.Types = append(p.Types, string(t))
	}
	if p.Type != "" {
		if _, err := packages_model.ParseType(p.Type); err != nil {
			return err
		}
	}
	opts := listOptions(r, adminPageSize)
	res, err := h.d.Packages.AdminSearchPackages(ctx, common.Doer(ctx), packages_service.AdminSearch{ListOptions: opts,
		Owner: p.Owner, Type: packages_model.Type(p.Type), Query: p.Query})
	if err != nil {
		return err
	}
	p.Total, p.Pager = res.Total, h.pagerHere(r, opts, res.Total)
	for _, x := range res.Packages {
		ownerPath := url.PathEscape(x.OwnerName)
		p.Items = append(p.Items, adminPackageItem{Owner: x.OwnerName, OwnerPath: ownerPath, Type: string(x.Type), Name: x.Name,
			Path:     ownerPath + "/-/packages/" + url.PathEscape(string(x.Type)) + "/" + url.PathEscape(x.Name),
			Versions: x.VersionCount, Size: x.Size, Created: x.CreatedUnix})
	}
	for _, o := range res.Owners {
		f := url.Values{"owner": {o.OwnerName}}
		if p.Type != "" {
			f.Set("type", p.Type)
		}
		if p.Query != "" {
			f.Set("q", p.Query)
		}
		p.Owners = append(p.Owners, adminOwnerTotal{Owner: o.OwnerName, FilterURL: h.d.RootURL + "-/admin/packages?" + f.Encode(), Packages: o.Packages, Size: o.Size})
	}
	return h.render(w, http.StatusOK, "admin/packages", p)
}

type adminCleanupPage struct {
	adminPage
	Tasks []adminCleanupTask
	// Error says why the last post ran nothing.
	Error string
}

type adminCleanupTask struct {
	Name, Description string
	Runs              []adminCleanupRun
}

type adminCleanupRun struct {
	Started, Finished                       int64
	Versions, Files, Blobs, Bytes, Packages int64
	Error                                   string
}

// cleanupTaskDescriptions say what each of the cleanup service's tasks
// does.
var cleanupTaskDescriptions = map[string]string{
	cleanup_service.TaskRules:   "Apply every enabled cleanup rule of every owner.",
	cleanup_service.TaskEmpty:   "Remove packages left without versions.",
	cleanup_service.TaskBlobs:   "Remove stored blobs that no package file references, past the grace period.",
	cleanup_service.TaskUploads: "Remove upload temporary files that crashed processes left.",
}

func (h *Handler) adminCleanup(w http.ResponseWriter, r *http.Request) error {
	p, err := h.cleanupPage(r)
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "admin/cleanup", p)
}

func (h *Handler) cleanupPage(r *http.Request) (adminCleanupPage, error) {
	ctx := r.Context()
	p := adminCleanupPage{adminPage: h.adminPage(r, "Cleanup tasks · Site administration", "cleanup")}
	runs, err := h.d.Packages.AdminCleanupRuns(ctx, common.Doer(ctx), cleanup_service.Tasks, adminRunsShown)
	if err != nil {
		return p, err
	}
	for _, t := range cleanup_service.Tasks {
		task := adminCleanupTask{Name: t, Description: cleanupTaskDescriptions[t]}
		for _, x := range runs[t] {
			task.Runs = append(task.Runs, adminCleanupRun{Started: x.StartedUnix, Finished: x.FinishedUnix, Versions: x.Versions,
				Files: x.Files, Blobs: x.Blobs, Bytes: x.Bytes, Packages: x.Packages, Error: x.Error})
		}
		p.Tasks = append(p.Tasks, task)
	}
	return p, nil
}

// adminRunCleanup runs a cleanup task now (as the API's POST
// /admin/cleanup/{task} does) and goes back to the task list with its
// outcome. A task removes data, so the form's confirmation box must be
// ticked; without it the list comes back with 422 and says so.
func (h *Handler) adminRunCleanup(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	task := r.PostForm.Get("task")
	if _, ok := cleanupTaskDescriptions[task]; !ok {
		return apperr.New(apperr.NotFound, "unknown cleanup task %q", task)
	}
	if r.PostForm.Get("confirm") != "yes" {
		p, err := h.cleanupPage(r)
		if err != nil {
			return err
		}
		p.Error = fmt.Sprintf("Task %q did not run: tick the box that confirms it may remove what it finds.", task)
		return h.render(w, http.StatusUnprocessableEntity, "admin/cleanup", p)
	}
	run, err := h.d.Cleanup.RunTaskNow(r.Context(), task)
	switch {
	case err == nil && run.Error != "":
		h.flash(r, fmt.Sprintf("Task %q failed: %s", task, run.Error))
	case err == nil:
		h.flash(r, fmt.Sprintf("Task %q finished: removed %d version(s), %d file(s), %d blob(s) and %d package(s), %s in all.",
			task, run.Versions, run.Files, run.Blobs, run.Packages, humanize.IBytes(uint64(max(run.Bytes, 0)))))
	case apperr.KindOf(err) == apperr.Conflict:
		h.flash(r, fmt.Sprintf("Task %q is already running; its run shows below when it ends.", task))
	default:
		return err
	}
	h.redirect(w, r, "/-/admin/cleanup")
	return nil
}
