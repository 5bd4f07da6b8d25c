package goproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/module"

	packages_model "wharf/models/packages"
	repo_model "wharf/models/repo"
	"wharf/modules/apperr"
	"wharf/modules/doccache"
	"wharf/modules/git"
	goproxy_module "wharf/modules/packages/go"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
)

// Module is a module of an owner's registry as a caller may read it.
type Module struct {
	Package *packages_model.Package
	// Path is the module path asked for.
	Path string
	// Repo is the repository the module path names, when it is one of
	// this instance's (nil for an uploaded module of another path).
	Repo *repo_service.Context
}

// GetModule finds the module at path mod in a's registry. A module whose
// path names one of this instance's repositories is shown only to callers
// who may read that repository, whatever the registry's visibility: its
// versions are the repository's code. Every miss is NotFound with a plain
// reason, as the go command shows it.
func (s *Service) GetModule(ctx context.Context, a *packages_service.Access, mod string) (*Module, error) {
	m := &Module{Path: mod}
	rc, err := s.pathRepo(ctx, a, mod)
	if err != nil {
		return nil, err
	}
	m.Repo = rc
	p, err := packages_model.GetPackageByName(ctx, s.d.DB.Engine(), a.Owner.ID, packages_model.TypeGo, mod)
	if apperr.KindOf(err) == apperr.NotFound || err == nil && p.Name != mod {
		if rc != nil {
			// A repository without published versions yet may still
			// answer a commit or branch query (Query).
			return m, nil
		}
		return nil, apperr.New(apperr.NotFound, "module %s not found", mod)
	} else if err != nil {
		return nil, err
	}
	m.Package = p
	return m, nil
}

// pathRepo is the repository a module path of this instance names, as a
// sees it; nil for a path of another host or owner, or no such
// repository (an uploaded module may use the path). A repository a may
// not read is NotFound, as if the module did not exist: its versions are
// its code.
func (s *Service) pathRepo(ctx context.Context, a *packages_service.Access, mod string) (*repo_service.Context, error) {
	owner, repo, _, _, ok := s.modulePathParts(mod)
	if !ok || !strings.EqualFold(owner, a.Owner.Name) {
		return nil, nil
	}
	r, err := repo_model.GetRepositoryByName(ctx, s.d.DB.Engine(), a.Owner.ID, repo)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	mode, err := s.d.Repos.Permission(ctx, a.Doer, a.Owner, r)
	if err != nil {
		return nil, err
	}
	if mode < repo_service.ModeRead {
		return nil, apperr.New(apperr.NotFound, "module %s not found", mod)
	}
	return &repo_service.Context{Repo: r, Owner: a.Owner, Mode: mode}, nil
}

// List is the module's @v/list: its tagged versions, lowest first, one
// per line (pseudo-versions are not listed: the go command ignores them
// there). It is kept in memory under the package's change stamp, which
// every version added or removed moves, so several processes on one
// database answer alike.
func (s *Service) List(ctx context.Context, m *Module) ([]byte, error) {
	if m.Package == nil {
		// A repository's module without tags yet has no versions, but its
		// @latest is the default branch's pseudo-version: the go command
		// asks @latest only after a 200 list.
		if ok, err := s.holdsModule(ctx, m); err != nil {
			return nil, err
		} else if ok {
			return []byte{}, nil
		}
		return nil, apperr.New(apperr.NotFound, "module %s has no versions", m.Path)
	}
	key := "go:list:" + strconv.FormatInt(m.Package.ID, 10) + ":" + strconv.FormatInt(m.Package.Stamp, 10)
	if d, ok := s.d.Documents.Get(key); ok {
		return d.Body, nil
	}
	vs, err := packages_model.ListVersions(ctx, s.d.DB.Engine(), m.Package.ID)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(vs))
	for _, v := range vs {
		if !goproxy_module.IsPseudo(v.Version) {
			names = append(names, v.Version)
		}
	}
	slices.SortFunc(names, goproxy_module.Compare)
	var b bytes.Buffer
	for _, v := range names {
		b.WriteString(v)
		b.WriteByte('\n')
	}
	s.d.Documents.Put(key, doccache.New(b.Bytes(), doccache.ETag(key), time.Time{}))
	return b.Bytes(), nil
}

// holdsModule reports whether the module is one of a repository without
// version tags for it yet: the repository's versions may be published
// (publishable), it has no tag of the module, and its default branch
// holds the module (its go.mod declares it, or it is the repository's root
// without go.mod). A module whose tags' versions were removed is not.
func (s *Service) holdsModule(ctx context.Context, m *Module) (bool, error) {
	if m.Repo == nil || publishable(m.Repo) != nil {
		return false, nil
	}
	_, dir, suffix := s.splitModule(m)
	tags, err := s.d.Repos.Tags(ctx, m.Repo)
	if err != nil {
		return false, err
	}
	for _, t := range tags {
		if d, v, ok, _ := goproxy_module.TagVersion(t.Name); ok && d == dir && goproxy_module.MajorSuffix(v) == suffix {
			return false, nil
		}
	}
	c, err := s.commitOf(ctx, m.Repo, m.Repo.Repo.DefaultBranch)
	if apperr.KindOf(err) == apperr.NotFound {
		return false, nil // an empty repository
	} else if err != nil {
		return false, err
	}
	f, err := s.locate(ctx, m.Repo, c, dir, suffix, "v0.0.0")
	if errors.Is(err, errNotModule) || apperr.KindOf(err) == apperr.Invalid {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if f.synthesized {
		_, rest, _ := strings.Cut(m.Path, "/")
		return suffix == "" && f.module == s.hosts[0]+"/"+rest, nil
	}
	return f.module == m.Path, nil
}

// Version is one published version of a module.
type Version struct {
	Version *packages_model.PackageVersion
	Info    goproxy_module.Info
	GoMod   string
}

func toVersion(pv *packages_model.PackageVersion) (*Version, error) {
	var md metadata
	if err := json.Unmarshal([]byte(pv.MetadataJSON), &md); err != nil {
		return nil, err
	}
	return &Version{Version: pv, Info: goproxy_module.Info{Version: pv.Version, Time: md.Time}, GoMod: md.GoMod}, nil
}

// Version finds a canonical version of the module: a published one, or a
// pseudo-version of a commit of its repository, published by this first
// request (its zip is built now).
func (s *Service) Version(ctx context.Context, m *Module, version string) (*Version, error) {
	if m.Package != nil {
		pv, err := packages_model.GetVersion(ctx, s.d.DB.Engine(), m.Package.ID, version)
		if err == nil && pv.Version == version {
			return toVersion(pv)
		} else if err != nil && apperr.KindOf(err) != apperr.NotFound {
			return nil, err
		}
	}
	if m.Repo == nil || !goproxy_module.IsPseudo(version) {
		return nil, apperr.New(apperr.NotFound, "%s@%s: unknown revision %s", m.Path, version, version)
	}
	return s.pseudo(ctx, m, version)
}

// Latest is the version the go command takes for @latest: the highest
// release, else the highest pre-release; a module without either has the
// pseudo-version of its repository's default branch (as the go command
// finds in direct mode), else its newest pseudo-version.
func (s *Service) Latest(ctx context.Context, m *Module) (*Version, error) {
	var vs []*packages_model.PackageVersion
	if m.Package != nil {
		var err error
		if vs, err = packages_model.ListVersions(ctx, s.d.DB.Engine(), m.Package.ID); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(vs, func(a, b *packages_model.PackageVersion) int { return goproxy_module.Compare(b.Version, a.Version) })
	var best *packages_model.PackageVersion
	if len(vs) > 0 {
		best = Format{}.PickLatest(vs)
	}
	if (best == nil || latestRank(best.Version) == 0) && m.Repo != nil {
		return s.Query(ctx, m, m.Repo.Repo.DefaultBranch)
	}
	if best == nil {
		return nil, apperr.New(apperr.NotFound, "module %s has no versions", m.Path)
	}
	return toVersion(best)
}

// Query resolves what the go command asks for by a name that is not a
// canonical version (a branch, a tag, a commit hash) to the version of
// that commit: its tagged version of the module, or its pseudo-version.
func (s *Service) Query(ctx context.Context, m *Module, query string) (*Version, error) {
	if goproxy_module.IsCanonical(query) {
		return s.Version(ctx, m, query)
	}
	if m.Repo == nil {
		return nil, apperr.New(apperr.NotFound, "unknown revision %s", query)
	}
	c, err := s.commitOf(ctx, m.Repo, query)
	if err != nil {
		return nil, err
	}
	_, dir, suffix := s.splitModule(m)
	tagged, older, err := s.tagsFor(ctx, m.Repo, c, dir, suffix)
	if err != nil {
		return nil, err
	}
	if tagged != "" {
		return s.Version(ctx, m, tagged)
	}
	v := module.PseudoVersion(majorOfSuffix(suffix), older, c.Committer().When, c.ID()[:12])
	return s.publishPseudo(ctx, m, c, v)
}

func majorOfSuffix(suffix string) string {
	if suffix == "" {
		return ""
	}
	return suffix[1:]
}

// splitModule is the module's path, and its directory and major suffix in
// its repository.
func (s *Service) splitModule(m *Module) (mod, dir, suffix string) {
	mod = m.Path
	_, _, dir, suffix, _ = s.modulePathParts(mod)
	return mod, dir, suffix
}

// commitOf resolves a query to a commit: a commit hash (7 to 40 hex
// digits), a branch or a tag.
func (s *Service) commitOf(ctx context.Context, rc *repo_service.Context, query string) (*git.Commit, error) {
	if query == "HEAD" {
		// The go command's name for the default branch (go get m@HEAD).
		query = rc.Repo.DefaultBranch
	}
	if len(query) >= 7 && len(query) <= 40 && strings.Trim(query, "0123456789abcdef") == "" {
		if c, err := s.d.Repos.CommitByPrefix(ctx, rc, query); err == nil {
			return c, nil
		}
	}
	if err := git.ValidRefName(query); err != nil {
		return nil, apperr.New(apperr.NotFound, "unknown revision %s", query)
	}
	c, err := s.d.Repos.Commit(ctx, rc, query)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, apperr.New(apperr.NotFound, "unknown revision %s", query)
	}
	return c, err
}

// tagsFor looks at the repository's version tags of the module at dir
// with the major suffix: the one on commit c (tagged), and the highest
// one that is an ancestor of c, the base of its pseudo-version (older).
func (s *Service) tagsFor(ctx context.Context, rc *repo_service.Context, c *git.Commit, dir, suffix string) (tagged, older string, err error) {
	tags, err := s.d.Repos.Tags(ctx, rc)
	if err != nil {
		return "", "", err
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	// At a commit without go.mod, the repository root's module without a
	// major suffix also has the v2+ tags, as +incompatible versions (the
	// go command's rule: they are its tagged versions and the bases of its
	// pseudo-versions).
	incompatible := false
	if dir == "" && suffix == "" {
		gm, err := readGoMod(c, "go.mod")
		if err != nil {
			return "", "", err
		}
		incompatible = gm == nil
	}
	for _, t := range tags {
		rest, ok := strings.CutPrefix(t.Name, prefix)
		if !ok || strings.Contains(rest, "/") {
			continue
		}
		d, v, ok, _ := goproxy_module.TagVersion(t.Name)
		if !ok || d != dir {
			continue
		}
		if sfx := goproxy_module.MajorSuffix(v); sfx != suffix {
			if !incompatible || sfx == "" {
				continue
			}
			v += "+incompatible"
		}
		if t.CommitID == c.ID() && (tagged == "" || goproxy_module.Compare(v, tagged) > 0) {
			tagged = v
		}
		tc, err := s.d.Repos.Commit(ctx, rc, t.CommitID)
		if err != nil {
			continue
		}
		if anc, err := tc.IsAncestorOf(c); err == nil && anc && (older == "" || goproxy_module.Compare(v, older) > 0) {
			older = v
		}
	}
	return tagged, older, nil
}

// pseudo publishes a canonical pseudo-version asked for by name, when the
// go command would take it for its commit (cmd/go's
// validatePseudoVersion): the commit's time, and as base no tag (v0.0.0-…,
// or vN.0.0-… for a /vN module) or a tag on an ancestor of the commit, not
// necessarily the highest: a pseudo-version made before later tags stays
// valid.
func (s *Service) pseudo(ctx context.Context, m *Module, version string) (*Version, error) {
	mod, dir, suffix := s.splitModule(m)
	rev, err := module.PseudoVersionRev(version)
	if err != nil {
		return nil, apperr.New(apperr.NotFound, "invalid pseudo-version %s", version)
	}
	c, err := s.d.Repos.CommitByPrefix(ctx, m.Repo, rev)
	if err != nil {
		return nil, apperr.New(apperr.NotFound, "%s@%s: unknown revision %s", mod, version, rev)
	}
	invalid := func(why string, args ...any) error {
		return apperr.New(apperr.NotFound, "%s@%s: invalid pseudo-version: %s", mod, version, fmt.Sprintf(why, args...))
	}
	if rev != c.ID()[:12] {
		return nil, invalid("the revision must be the commit's first 12 hex digits, %s", c.ID()[:12])
	}
	if strings.HasSuffix(version, "+incompatible") {
		gm, err := readGoMod(c, path.Join(dir, "go.mod"))
		if err != nil {
			return nil, err
		}
		if gm != nil {
			return nil, invalid("+incompatible, but the commit has a go.mod")
		}
	}
	if t, err := module.PseudoVersionTime(version); err != nil || t.Unix() != c.Committer().When.Unix() {
		return nil, invalid("does not match the commit's time (%s)", c.Committer().When.UTC().Format("20060102150405"))
	}
	base, err := module.PseudoVersionBase(strings.TrimSuffix(version, "+incompatible"))
	if err != nil {
		return nil, invalid("%v", err)
	}
	if base == "" {
		if suffix == "" && strings.HasPrefix(version, "v1.") {
			return nil, invalid("major version without preceding tag must be v0, not v1")
		}
		return s.publishPseudo(ctx, m, c, version)
	}
	tags, err := s.d.Repos.Tags(ctx, m.Repo)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	found := false
	for _, t := range tags {
		v, ok := strings.CutPrefix(t.Name, prefix)
		if !ok || strings.Contains(v, "/") || !goproxy_module.IsCanonical(v) || goproxy_module.Compare(v, base) != 0 {
			continue
		}
		if t.CommitID == c.ID() {
			return nil, invalid("tag %s is on the commit itself", t.Name)
		}
		tc, err := s.d.Repos.Commit(ctx, m.Repo, t.CommitID)
		if err != nil {
			continue
		}
		if anc, err := tc.IsAncestorOf(c); err == nil && anc {
			found = true
			break
		}
	}
	if !found {
		return nil, invalid("no tag %s%s before the commit", prefix, base)
	}
	return s.publishPseudo(ctx, m, c, version)
}

// publishPseudo publishes version, a pseudo-version of commit c.
func (s *Service) publishPseudo(ctx context.Context, m *Module, c *git.Commit, version string) (*Version, error) {
	mod, dir, suffix := s.splitModule(m)
	base := strings.TrimSuffix(version, "+incompatible")
	f, err := s.locate(ctx, m.Repo, c, dir, suffix, base)
	if err != nil {
		if apperr.KindOf(err) == apperr.Invalid {
			return nil, apperr.New(apperr.NotFound, "%s@%s: %s", mod, version, apperr.PublicMessage(err))
		}
		if errors.Is(err, errNotModule) {
			return nil, apperr.New(apperr.NotFound, "%s@%s: no go.mod and no Go files at that commit", mod, version)
		}
		return nil, err
	}
	f.version = version
	if host, rest, _ := strings.Cut(mod, "/"); f.synthesized && s.isHost(host) && f.module == s.hosts[0]+"/"+rest {
		// No go.mod: the module is the repository's path on the host
		// asked for (registerTag publishes its tags on every host).
		f.module, f.goMod = mod, []byte("module "+mod+"\n")
	}
	if f.module != mod {
		return nil, apperr.New(apperr.NotFound, "%s@%s: the commit's module is %s", mod, version, f.module)
	}
	pv, err := s.publish(ctx, m.Repo, c, f, "")
	if err != nil {
		if k := apperr.KindOf(err); k == apperr.Invalid || k == apperr.TooLarge {
			return nil, apperr.New(apperr.NotFound, "%s@%s: %s", mod, version, apperr.PublicMessage(err))
		}
		return nil, err
	}
	return toVersion(pv)
}

// OpenZip opens a version's module zip.
func (s *Service) OpenZip(ctx context.Context, v *Version) (*packages_service.Download, error) {
	return s.d.Packages.OpenVersionFile(ctx, v.Version, v.Version.Version+".zip", "", true)
}
