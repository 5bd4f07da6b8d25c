package v1

import (
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/git"
	"wharf/modules/linguist"
	"wharf/modules/structs"
	"wharf/routers/common"
	repo_service "wharf/services/repository"
)

func (h *Handler) repoRoutes(r chi.Router) {
	r.Get("/user/repos", h.handle(h.listMyRepos))
	r.Post("/user/repos", h.handle(h.createMyRepo))
	r.Post("/orgs/{org}/repos", h.handle(h.createOrgRepo))
	r.Get("/orgs/{org}/repos", h.handle(h.listOwnerRepos("org")))
	r.Get("/users/{username}/repos", h.handle(h.listOwnerRepos("username")))
	r.Route("/repos/{owner}/{repo}", func(r chi.Router) {
		r.Get("/", h.handle(h.getRepo))
		r.Delete("/", h.handle(h.deleteRepo))
		r.Get("/branches", h.handle(h.listBranches))
		r.Get("/branches/*", h.handle(h.getBranch))
		r.Get("/tags", h.handle(h.listTags))
		r.Post("/tags", h.handle(h.createTag))
		r.Get("/tags/*", h.handle(h.getTag))
		r.Delete("/tags/*", h.handle(h.deleteTag))
		r.Get("/archive/*", h.handle(h.getArchive))
		r.Get("/raw/*", h.handle(h.getRawFile))
		r.Get("/git/commits/{sha}", h.handle(h.getCommit))
		r.Get("/languages", h.handle(h.getLanguages))
	})
}

// repoWebURL is the repository's page, which its archive links hang off.
func (h *Handler) repoWebURL(rc *repo_service.Context) string {
	return h.RootURL + url.PathEscape(rc.Repo.OwnerName) + "/" + url.PathEscape(rc.Repo.Name)
}

// pathEscapeSegments escapes each segment of a slash-separated name (a ref
// such as release/1.0) and keeps the slashes.
func pathEscapeSegments(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func (h *Handler) toRepo(rc *repo_service.Context, viewer *user_model.User) *structs.Repository {
	r := rc.Repo
	base := h.RootURL + url.PathEscape(r.OwnerName) + "/" + url.PathEscape(r.Name)
	return &structs.Repository{
		ID: r.ID, Owner: h.toUser(rc.Owner, viewer), Name: r.Name, FullName: r.FullName(),
		Description: r.Description, Empty: r.IsEmpty, Private: r.IsPrivate,
		HTMLURL: base, URL: h.RootURL + "api/v1/repos/" + r.FullName(), CloneURL: base + ".git",
		LanguagesURL:  h.apiRepoURL(rc) + "/languages",
		DefaultBranch: r.DefaultBranch,
		Created:       time.Unix(r.CreatedUnix, 0).UTC(), Updated: time.Unix(r.UpdatedUnix, 0).UTC(),
		Permissions: &structs.Permission{
			Admin: rc.Mode >= repo_service.ModeAdmin, Push: rc.Mode >= repo_service.ModeWrite, Pull: rc.Mode >= repo_service.ModeRead,
		},
		HasCode: true, HasPackages: true, ObjectFormatName: "sha1", Topics: []string{}, Licenses: []string{},
	}
}

// repoContext loads the repository in the URL as the caller sees it.
func (h *Handler) repoContext(r *http.Request) (*repo_service.Context, error) {
	return h.Repos.Get(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"), common.Param(r, "repo"))
}

func (h *Handler) createMyRepo(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	return h.createRepoFor(w, r, doer, doer.Name)
}

func (h *Handler) createOrgRepo(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	return h.createRepoFor(w, r, doer, common.Param(r, "org"))
}

func (h *Handler) createRepoFor(w http.ResponseWriter, r *http.Request, doer *user_model.User, owner string) error {
	var opt structs.CreateRepoOption
	if err := common.DecodeJSON(w, r, &opt); err != nil {
		return err
	}
	for field, v := range map[string]string{"issue_labels": opt.IssueLabels, "gitignores": opt.Gitignores, "license": opt.License} {
		if v != "" {
			return apperr.New(apperr.Unprocessable, "%s is not supported by Wharf", field)
		}
	}
	if opt.Template {
		return apperr.New(apperr.Unprocessable, "template repositories are not supported by Wharf")
	}
	if f := opt.ObjectFormatName; f != "" && f != "sha1" {
		return apperr.New(apperr.Unprocessable, "object format %q is not supported: only sha1", f)
	}
	rc, err := h.Repos.Create(r.Context(), doer, owner, repo_service.CreateOptions{
		Name: opt.Name, Description: opt.Description, Private: opt.Private,
		DefaultBranch: opt.DefaultBranch, AutoInit: opt.AutoInit,
	})
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusCreated, h.toRepo(rc, doer))
}

func (h *Handler) getRepo(w http.ResponseWriter, r *http.Request) error {
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, h.toRepo(rc, common.Doer(r.Context())))
}

func (h *Handler) deleteRepo(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	if err := h.Repos.Delete(r.Context(), doer, common.Param(r, "owner"), common.Param(r, "repo")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listMyRepos(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	return h.listRepos(w, r, doer.Name)
}

func (h *Handler) listOwnerRepos(param string) common.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return h.listRepos(w, r, common.Param(r, param))
	}
}

func (h *Handler) listRepos(w http.ResponseWriter, r *http.Request, owner string) error {
	page, err := common.Paging(r)
	if err != nil {
		return err
	}
	viewer := common.Doer(r.Context())
	rcs, total, err := h.Repos.ListForOwner(r.Context(), viewer, owner, page)
	if err != nil {
		return err
	}
	out := make([]*structs.Repository, len(rcs))
	for i, rc := range rcs {
		out[i] = h.toRepo(rc, viewer)
	}
	common.SetPagingHeaders(w, r, h.RootURL, total, page)
	return common.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) toBranch(rc *repo_service.Context, b repo_service.Branch) *structs.Branch {
	sig := func(s git.Signature) *structs.PayloadUser { return &structs.PayloadUser{Name: s.Name, Email: s.Email} }
	return &structs.Branch{
		Name: b.Name,
		Commit: &structs.PayloadCommit{
			ID: b.CommitID, Message: b.Commit.Message(), URL: h.commitURL(rc, b.CommitID),
			Author: sig(b.Commit.Author()), Committer: sig(b.Commit.Committer()),
			Timestamp: b.Commit.Committer().When.UTC(),
		},
		StatusCheckContexts: []string{},
		UserCanPush:         rc.Mode >= repo_service.ModeWrite,
		UserCanMerge:        rc.Mode >= repo_service.ModeWrite,
	}
}

func (h *Handler) commitURL(rc *repo_service.Context, id string) string {
	return h.apiRepoURL(rc) + "/git/commits/" + id
}

// apiRepoURL is the repository's API URL, escaped.
func (h *Handler) apiRepoURL(rc *repo_service.Context) string {
	return h.RootURL + "api/v1/repos/" + url.PathEscape(rc.Repo.OwnerName) + "/" + url.PathEscape(rc.Repo.Name)
}

// getCommit answers one commit, named by its full id (or, as in Gitea, by a
// branch or tag name).
func (h *Handler) getCommit(w http.ResponseWriter, r *http.Request) error {
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	c, err := h.Repos.Commit(r.Context(), rc, common.Param(r, "sha"))
	if err != nil {
		return err
	}
	cuser := func(s git.Signature) *structs.CommitUser {
		return &structs.CommitUser{Name: s.Name, Email: s.Email, Date: s.When.Format(time.RFC3339)}
	}
	self := h.commitURL(rc, c.ID())
	out := &structs.Commit{
		CommitMeta: structs.CommitMeta{URL: self, SHA: c.ID(), Created: c.Committer().When.UTC()},
		RepoCommit: &structs.RepoCommit{
			URL: self, Author: cuser(c.Author()), Committer: cuser(c.Committer()), Message: c.Message(),
			Tree: &structs.CommitMeta{SHA: c.TreeID()},
		},
		Parents: []*structs.CommitMeta{},
	}
	for _, id := range c.ParentIDs() {
		out.Parents = append(out.Parents, &structs.CommitMeta{URL: h.commitURL(rc, id), SHA: id})
	}
	// A commit never changes: its id is a strong validator.
	etag := `"` + c.ID() + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return common.WriteJSON(w, http.StatusOK, out)
}

// getLanguages answers how many bytes of each language the default branch
// holds, as Gitea's {"Go": 12345}. The language of a file comes from its
// extension (modules/linguist); vendored, generated and hidden files count
// for none. An empty repository has no language.
func (h *Handler) getLanguages(w http.ResponseWriter, r *http.Request) error {
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	out := map[string]int64{}
	if rc.Repo.IsEmpty {
		return common.WriteJSON(w, http.StatusOK, out)
	}
	c, err := h.Repos.Commit(r.Context(), rc, "")
	if apperr.KindOf(err) == apperr.NotFound {
		return common.WriteJSON(w, http.StatusOK, out) // no default branch yet
	}
	if err != nil {
		return err
	}
	// The answer depends only on the commit (and this table's version).
	etag := `"` + c.ID() + `-languages-1"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	err = c.WalkTree(r.Context(), func(name string, isDir bool, size func() (int64, error)) error {
		if isDir {
			if linguist.SkipDir(path.Base(name)) {
				return fs.SkipDir
			}
			return nil
		}
		lang := linguist.Language(name)
		if lang == "" {
			return nil
		}
		n, err := size()
		if err != nil {
			return err
		}
		out[lang] += n
		return nil
	})
	if err != nil {
		if r.Context().Err() != nil {
			return nil // the client went away: nothing to answer, nothing to log
		}
		return fmt.Errorf("language statistics of %s: %w", rc.Repo.FullName(), err)
	}
	return common.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) listBranches(w http.ResponseWriter, r *http.Request) error {
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	branches, err := h.Repos.Branches(r.Context(), rc)
	if err != nil {
		return err
	}
	return writeMemoryPage(w, r, h.RootURL, branches, func(b repo_service.Branch) *structs.Branch { return h.toBranch(rc, b) })
}

func (h *Handler) getBranch(w http.ResponseWriter, r *http.Request) error {
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	b, err := h.Repos.Branch(r.Context(), rc, common.Param(r, "*"))
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, h.toBranch(rc, b))
}

// pageOf returns one page of items held in memory (git refs).
func pageOf[T any](items []T, offset, size int) []T {
	if offset >= len(items) {
		return []T{}
	}
	end := min(offset+size, len(items))
	return items[offset:end]
}

// writeMemoryPage answers one page of items held in memory, converted for
// the API, with Gitea's paging headers.
func writeMemoryPage[T, U any](w http.ResponseWriter, r *http.Request, rootURL string, items []T, convert func(T) U) error {
	page, err := common.Paging(r)
	if err != nil {
		return err
	}
	part := pageOf(items, page.Offset(), page.PageSize)
	out := make([]U, len(part))
	for i, item := range part {
		out[i] = convert(item)
	}
	common.SetPagingHeaders(w, r, rootURL, int64(len(items)), page)
	return common.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) toTag(rc *repo_service.Context, t git.TagInfo) *structs.Tag {
	// Gitea's form, served by the root route /{owner}/{repo}/archive/*.
	base := h.repoWebURL(rc) + "/archive/" + pathEscapeSegments(t.Name)
	return &structs.Tag{
		Name: t.Name, Message: t.Message, ID: t.ObjectID,
		Commit:     &structs.CommitMeta{URL: h.commitURL(rc, t.CommitID), SHA: t.CommitID, Created: t.CommitTime},
		ZipballURL: base + ".zip", TarballURL: base + ".tar.gz",
	}
}

func (h *Handler) listTags(w http.ResponseWriter, r *http.Request) error {
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	tags, err := h.Repos.Tags(r.Context(), rc)
	if err != nil {
		return err
	}
	return writeMemoryPage(w, r, h.RootURL, tags, func(t git.TagInfo) *structs.Tag { return h.toTag(rc, t) })
}

func (h *Handler) getTag(w http.ResponseWriter, r *http.Request) error {
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	t, err := h.Repos.Tag(r.Context(), rc, common.Param(r, "*"))
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, h.toTag(rc, t))
}

func (h *Handler) createTag(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	var opt structs.CreateTagOption
	if err := common.DecodeJSON(w, r, &opt); err != nil {
		return err
	}
	t, err := h.Repos.CreateTag(r.Context(), doer, rc, opt.TagName, opt.Target, opt.Message)
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusCreated, h.toTag(rc, t))
}

func (h *Handler) deleteTag(w http.ResponseWriter, r *http.Request) error {
	doer, err := common.RequireUser(r.Context())
	if err != nil {
		return err
	}
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	if err := h.Repos.DeleteTag(r.Context(), doer, rc, common.Param(r, "*")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) getArchive(w http.ResponseWriter, r *http.Request) error {
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	ref, format, err := git.ParseArchiveName(common.Param(r, "*"))
	if err != nil {
		return err
	}
	c, err := h.Repos.Commit(r.Context(), rc, ref)
	if err != nil {
		return err
	}
	ctype := "application/zip"
	if format == git.ArchiveTarGz {
		ctype = "application/gzip"
	}
	filename := rc.Repo.Name + "-" + path.Base(ref) + "." + string(format)
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	// The bytes depend only on the commit, so its id is a strong ETag.
	etag := `"` + c.ID() + "-" + string(format) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if err := h.Repos.WriteArchive(r.Context(), c, rc, format, w); err != nil {
		// Headers are gone; all that is left is to cut the stream short so
		// the client sees a broken archive rather than a truncated valid one.
		h.Log.ErrorContext(r.Context(), "archive failed mid-stream", "repo", rc.Repo.FullName(), "ref", ref, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (h *Handler) getRawFile(w http.ResponseWriter, r *http.Request) error {
	rc, err := h.repoContext(r)
	if err != nil {
		return err
	}
	f, size, c, err := h.Repos.OpenFile(r.Context(), rc, r.URL.Query().Get("ref"), common.Param(r, "*"))
	if err != nil {
		return err
	}
	defer f.Close()
	// Sniff the type from the first bytes, but never serve something a
	// browser would run: HTML, SVG and the like go out as plain text.
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return err
	}
	head = head[:n]
	ctype := http.DetectContentType(head)
	switch {
	case strings.HasPrefix(ctype, "text/"):
		ctype = "text/plain; charset=utf-8"
	case strings.HasPrefix(ctype, "image/") && ctype != "image/svg+xml":
	default:
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("ETag", fmt.Sprintf(`"%s"`, c.ID()))
	if _, err := w.Write(head); err != nil {
		return nil // the client went away
	}
	if err := common.CopyBody(w, f); err != nil {
		// Headers are gone: log once and abort the connection, so the
		// client sees a broken response rather than a short valid one.
		h.Log.ErrorContext(r.Context(), "raw file failed mid-stream", "repo", rc.Repo.FullName(), "path", common.Param(r, "*"), "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}
