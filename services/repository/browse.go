package repository

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"io/fs"
	"slices"
	"strings"
	"wharf/modules/validation"

	"wharf/models/db"
	"wharf/models/organization"
	repo_model "wharf/models/repo"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/git"
	"wharf/modules/markup"
)

// SearchOptions filters Search.
type SearchOptions struct {
	db.ListOptions
	Query string
	// Recent orders by last update, newest first (the home page).
	Recent bool
}

// Search lists, across owners, the repositories viewer may read: the
// rule of Permission as one query for the page, then the viewer's mode
// decided once per owner and privacy (modeCache), whatever the number of
// rows.
func (s *Service) Search(ctx context.Context, viewer *user_model.User, opts SearchOptions) ([]*Context, int64, error) {
	if !validation.StorableText(opts.Query) {
		return nil, 0, apperr.New(apperr.Invalid, "the search keyword must be UTF-8 text without NUL bytes")
	}
	e := s.d.DB.Engine()
	q := repo_model.VisibleOptions{ListOptions: opts.ListOptions, Query: opts.Query, Recent: opts.Recent}
	if viewer != nil {
		ids, err := organization.OrgIDsOf(ctx, e, viewer.ID)
		if err != nil {
			return nil, 0, err
		}
		q.ViewerID, q.ViewerAdmin, q.ViewerOrgIDs = viewer.ID, viewer.IsAdmin, ids
	}
	repos, total, err := repo_model.SearchVisibleRepositories(ctx, e, q)
	if err != nil {
		return nil, 0, err
	}
	ownerIDs := make([]int64, 0, len(repos))
	for _, r := range repos {
		ownerIDs = append(ownerIDs, r.OwnerID)
	}
	owners, err := user_model.GetUsersByIDs(ctx, e, ownerIDs)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*Context, 0, len(repos))
	modes := s.newModeCache(viewer)
	for _, r := range repos {
		owner := owners[r.OwnerID]
		if owner == nil {
			continue // deleted meanwhile
		}
		m, err := modes.of(ctx, owner, r)
		if err != nil {
			return nil, 0, err
		}
		if m < ModeRead {
			// The query and Permission are one rule; a row the rule
			// refuses is not shown, whatever the query said.
			continue
		}
		out = append(out, &Context{Repo: r, Owner: owner, Mode: m})
	}
	return out, total, nil
}

// modeCache decides viewer's Mode on repositories once per owner and
// privacy: Permission depends on nothing else (roles are per owner), so a
// list costs its queries per owner on the page, not per row.
type modeCache struct {
	s      *Service
	viewer *user_model.User
	modes  map[modeKey]Mode
}

type modeKey struct {
	owner   int64
	private bool
}

func (s *Service) newModeCache(viewer *user_model.User) *modeCache {
	return &modeCache{s: s, viewer: viewer, modes: map[modeKey]Mode{}}
}

// of is viewer's Mode on r, a repository of owner.
func (c *modeCache) of(ctx context.Context, owner *user_model.User, r *repo_model.Repository) (Mode, error) {
	k := modeKey{owner.ID, r.IsPrivate}
	if m, ok := c.modes[k]; ok {
		return m, nil
	}
	m, err := c.s.Permission(ctx, c.viewer, owner, &repo_model.Repository{OwnerID: owner.ID, IsPrivate: r.IsPrivate})
	if err != nil {
		return ModeNone, err
	}
	c.modes[k] = m
	return m, nil
}

// TagsNewestFirst lists the repository's tags, the newest commit first
// (then by name, highest first, for tags of one commit).
func (s *Service) TagsNewestFirst(ctx context.Context, rc *Context) ([]git.TagInfo, error) {
	tags, err := s.Tags(ctx, rc)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(tags, func(a, b git.TagInfo) int {
		if c := b.CommitTime.Compare(a.CommitTime); c != 0 {
			return c
		}
		return cmp.Compare(b.Name, a.Name)
	})
	return tags, nil
}

// readmeNames are the README files shown, best first, compared without
// case.
var readmeNames = []string{"readme.md", "readme.markdown", "readme", "readme.txt", "readme.rst"}

// readmeRenderer renders READMEs; it holds only its configuration.
var readmeRenderer = markup.New()

// Readme is a repository's README as a page shows it.
type Readme struct {
	Name string
	// HTML is the rendering: Markdown rendered and sanitised, other text
	// escaped in a <pre>.
	HTML template.HTML
	// Truncated: the file is longer than markup.MaxInput and only its
	// start is shown.
	Truncated bool
}

// Readme finds the README at the root of the default branch and renders
// it (opts places it in its page: where relative links resolve); nil when
// the repository is empty or has none.
func (s *Service) Readme(ctx context.Context, rc *Context, opts markup.Options) (*Readme, error) {
	if rc.Repo.IsEmpty {
		return nil, nil
	}
	c, err := s.resolve(rc, "")
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, nil // no default branch yet
	} else if err != nil {
		return nil, err
	}
	best, rank := "", len(readmeNames)
	err = c.WalkTree(ctx, func(name string, isDir bool, _ func() (int64, error)) error {
		if isDir {
			return fs.SkipDir
		}
		if i := slices.Index(readmeNames, strings.ToLower(name)); i >= 0 && (i < rank || (i == rank && name < best)) {
			best, rank = name, i
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", rc.Repo.FullName(), err)
	}
	if best == "" {
		return nil, nil
	}
	f, size, err := c.OpenFile(best)
	if errors.Is(err, git.ErrPathNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("open %s of %s: %w", best, rc.Repo.FullName(), err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, markup.MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", best, rc.Repo.FullName(), err)
	}
	out := &Readme{Name: best}
	lower := strings.ToLower(best)
	if strings.HasSuffix(lower, ".md") || strings.HasSuffix(lower, ".markdown") {
		res, err := readmeRenderer.Markdown(src, opts)
		if err != nil {
			return nil, fmt.Errorf("render %s of %s: %w", best, rc.Repo.FullName(), err)
		}
		out.HTML, out.Truncated = res.HTML, res.Truncated
		return out, nil
	}
	if size > markup.MaxInput {
		src, out.Truncated = src[:markup.MaxInput], true
	}
	out.HTML = template.HTML("<pre>" + html.EscapeString(strings.ToValidUTF8(string(src), "\uFFFD")) + "</pre>") // #nosec G203 -- escaped
	return out, nil
}
